// FTPS out of the box: the quickstart makes a self-signed pair in its data directory and offers
// explicit FTPS (plain FTP still allowed), so `curl --ssl-reqd -k` works against it at once; and
// `mogftp ftp` takes --tls-cert/--tls-key, --ftps-port and --require-tls.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startQuickstart, type RunningQuickstart } from '../../src/cluster.ts';
import { curl, ftpUrl } from '../harness/clients.ts';
import { freePort } from '../harness/nodes.ts';

describe('FTPS in the quickstart and the CLI', () => {
  let dir: string;
  let qs: RunningQuickstart | null = null;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mogftp-qs-tls-'));
    await writeFile(join(dir, 'hello.txt'), 'hello over TLS\n');
  });
  after(async () => {
    await qs?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('the quickstart offers explicit FTPS with a self-signed pair kept in its data dir; plain FTP still works', async () => {
    const data = join(dir, 'qs');
    qs = await startQuickstart({ dataDir: data, host: '127.0.0.1', port: 0, pasvPorts: [0, 0], logLevel: 'silent' });
    assert.ok('cert' in qs.tls, JSON.stringify(qs.tls));
    assert.equal(qs.tls.cert, join(data, 'tls-cert.pem'));
    assert.equal((await stat(qs.tls.key)).mode & 0o077, 0, 'the key is private');
    const up = await curl(['--ssl-reqd', '-k', '-T', join(dir, 'hello.txt'), ftpUrl(qs.ftp.port, '/hello.txt')]);
    assert.equal(up.code, 0, up.stderr);
    const down = await curl(['--ssl-reqd', '-k', ftpUrl(qs.ftp.port, '/hello.txt')]);
    assert.equal(down.stdout, 'hello over TLS\n', down.stderr);
    const plain = await curl([ftpUrl(qs.ftp.port, '/hello.txt')]);
    assert.equal(plain.stdout, 'hello over TLS\n', plain.stderr);
    // A restart keeps the same pair.
    const first = await stat(qs.tls.cert);
    await qs.stop();
    qs = await startQuickstart({ dataDir: data, host: '127.0.0.1', port: 0, pasvPorts: [0, 0], logLevel: 'silent' });
    assert.ok('cert' in qs.tls);
    assert.equal((await stat(qs.tls.cert)).mtimeMs, first.mtimeMs);
  });

  test('mogftp ftp --tls-cert --tls-key --ftps-port --require-tls', async () => {
    assert.ok(qs && 'cert' in qs.tls, 'needs the quickstart from the previous test');
    const [port, ftpsPort] = [await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [
        'bin/mogftp.js', 'ftp', '--db', qs.dbUrl, '--listen', `127.0.0.1:${port}`, '--pasv-ports', '0',
        '--tls-cert', qs.tls.cert, '--tls-key', qs.tls.key, '--ftps-port', String(ftpsPort), '--require-tls', '--log-level', 'warn',
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      const deadline = Date.now() + 30_000;
      while (!out.includes('listening')) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `mogftp ftp did not start: ${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(out, new RegExp(`ftps://127\\.0\\.0\\.1:${ftpsPort}`));
      const implicit = await curl(['-k', `ftps://demo:demo@127.0.0.1:${ftpsPort}/hello.txt`]);
      assert.equal(implicit.stdout, 'hello over TLS\n', implicit.stderr);
      const explicit = await curl(['--ssl-reqd', '-k', ftpUrl(port, '/hello.txt')]);
      assert.equal(explicit.stdout, 'hello over TLS\n', explicit.stderr);
      const plain = await curl(['-v', ftpUrl(port, '/hello.txt')]);
      assert.notEqual(plain.code, 0);
      assert.match(plain.stderr, /< 530 This server requires TLS/);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
    assert.equal(child.exitCode, 0, out);
  });
});
