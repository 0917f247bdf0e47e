// `mogftp sftp` as its own process: host keys from files, the files served, login metrics on
// --admin-listen, a clean exit on SIGTERM, and a clear refusal without a host key.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ensureHostKeys } from '../../src/sftp/host-keys.ts';
import { run } from '../harness/clients.ts';
import { sha256, useCluster } from '../harness/cluster.ts';
import { BIN } from '../harness/quickstart-process.ts';
import { sftpBatch } from './lib.ts';

describe('mogftp sftp as a process', () => {
  const c = useCluster({ db: 'sqlite', tmpDir: 'mogftp-sftp-daemon-' });

  test('serves the volume with its host keys; counts failed logins; stops on SIGTERM', async () => {
    const dir = c.tmpDir;
    const keyDir = join(dir, 'keys');
    await mkdir(keyDir);
    const [ed, rsa] = await ensureHostKeys(keyDir);
    const p = await c.startSftpProcess(['--host-key', ed!, '--host-key', rsa!, '--admin-listen', '127.0.0.1:0']);
    const keygen = await run('ssh-keygen', ['-lf', ed!]);
    assert.ok(p.output().includes(keygen.stdout.split(' ')[1]!), `the listening line shows the fingerprint:\n${p.output()}`);
    const t = { port: p.port, dir, hostSha256: '', server: null as never };
    const body = randomBytes(2 * 1024 * 1024 + 9);
    await writeFile(join(dir, 'p.bin'), body);
    const r = await sftpBatch(t, 'put p.bin /p.bin\nget /p.bin q.bin\n', { cwd: dir });
    assert.equal(r.code, 0, r.stderr + p.output());
    assert.equal(sha256(await readFile(join(dir, 'q.bin'))), sha256(body));
    assert.notEqual((await sftpBatch(t, 'ls\n', { password: 'wrong' })).code, 0);
    const admin = /mogftp sftp admin endpoint on (http:\/\/\S+) /.exec(p.output())?.[1];
    assert.ok(admin, p.output());
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    assert.match(metrics, /^mogftp_login_failures_total\{door="sftp"\} 1$/m);
    assert.match(metrics, /^mogftp_build_info\{.*daemon="sftp".*\} 1$/m);
    await p.kill('SIGTERM');
    assert.equal(p.proc.exitCode, 0, p.output());
  });

  test('without a host key it says what to do and exits non-zero', async () => {
    const r = await run(process.execPath, [BIN, 'sftp', '--db', c.dbUrl, '--listen', '127.0.0.1:0']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /host-key/);
  });
});
