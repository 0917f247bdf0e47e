// OpenSSH's sftp against the SFTP door, in batch mode, with a password and with a key: put, get,
// reget, reput, ls, rename, rm, mkdir, chmod, df; then FTP and WebDAV read the same tree
// identically, and an sftp killed mid-upload leaves nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { curl, dav, ftpUrl, run } from '../harness/clients.ts';
import { sha256, useCluster } from '../harness/cluster.ts';
import { askpass, clientKey, sftpBatch, sshOptions, startTestSftp, type TestSftp } from './lib.ts';

/** What sftp printed, without the batch commands it echoes. */
function output(stdout: string): string {
  return stdout
    .split('\n')
    .filter((l) => !l.startsWith('sftp>'))
    .join('\n');
}

describe('OpenSSH sftp against the SFTP door', () => {
  // On MariaDB (the other SFTP suites run on SQLite).
  const c = useCluster({ db: 'mysql', ftp: true, dav: true, tmpDir: 'mogftp-sftp-' });
  let t: TestSftp;
  let dir: string;
  before(async () => {
    dir = c.tmpDir;
    t = await startTestSftp(c, join(dir, 'keys'));
  });
  after(() => t?.server.close());

  test('put, ls, get, rename, chmod, mkdir, df, rm with a password; the bytes are durable at CLOSE', async () => {
    const a = randomBytes(3 * 1024 * 1024 + 7);
    await writeFile(join(dir, 'a.bin'), a);
    const r = await sftpBatch(
      t,
      ['mkdir /docs', 'put a.bin /docs/a.bin', 'ls -l /docs', 'get /docs/a.bin back.bin', 'rename /docs/a.bin /docs/b.bin', 'chmod 600 /docs/b.bin', 'ls -l /docs', 'df -h /', ''].join('\n'),
      { cwd: dir },
    );
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(sha256(await readFile(join(dir, 'back.bin'))), sha256(a));
    assert.match(r.stdout, /-rw-r--r--\s+1 demo demo\s+3145735 .* a\.bin/);
    assert.match(r.stdout, /-rw-------\s+1 demo demo\s+3145735 .* b\.bin/);
    assert.match(r.stdout, /Size\s+Used\s+Avail/);
    const rm = await sftpBatch(t, 'rm /docs/b.bin\nrmdir /docs\nls /\n', { cwd: dir });
    assert.equal(rm.code, 0, rm.stderr);
    assert.doesNotMatch(output(rm.stdout), /docs/);
  });

  test('reput resumes an upload at the remote size; reget a download at the local size', async () => {
    const a = randomBytes(2 * 1024 * 1024 + 123);
    await writeFile(join(dir, 'r.bin'), a.subarray(0, 1024 * 1024));
    assert.equal((await sftpBatch(t, 'put r.bin /r.bin\n', { cwd: dir })).code, 0);
    await writeFile(join(dir, 'r.bin'), a);
    const up = await sftpBatch(t, 'reput r.bin /r.bin\n', { cwd: dir });
    assert.equal(up.code, 0, up.stderr);
    await writeFile(join(dir, 'r2.bin'), a);
    await truncate(join(dir, 'r2.bin'), 500_000);
    const down = await sftpBatch(t, 'reget /r.bin r2.bin\n', { cwd: dir });
    assert.equal(down.code, 0, down.stderr);
    assert.equal(sha256(await readFile(join(dir, 'r2.bin'))), sha256(a));
  });

  test('a wrong password is refused; a key logs in once registered', async () => {
    const bad = await sftpBatch(t, 'ls /\n', { password: 'nope' });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Permission denied/);
    const key = await clientKey(dir);
    const refused = await sftpBatch(t, 'ls /\n', { identity: key.file });
    assert.notEqual(refused.code, 0, 'an unregistered key must not log in');
    const added = await run('node', ['bin/mogftp.js', 'admin', '--db', c.dbUrl, 'user', 'key', 'add', 'demo', '--key-file', `${key.file}.pub`], { cwd: process.cwd() });
    assert.equal(added.code, 0, added.stderr);
    const ok = await sftpBatch(t, 'ls -l /\n', { identity: key.file });
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('curl sftp:// uploads, resumes an upload (-C -) and downloads, checking the host key', async () => {
    const a = randomBytes(1024 * 1024 + 3);
    await writeFile(join(dir, 'c.bin'), a);
    const base = `sftp://demo:demo@127.0.0.1:${t.port}`;
    const up = await curl(['--hostpubsha256', t.hostSha256, '--ftp-create-dirs', '-T', join(dir, 'c.bin'), `${base}/curl/c.bin`]);
    assert.equal(up.code, 0, up.stderr);
    const down = await curl(['--hostpubsha256', t.hostSha256, '-o', join(dir, 'c2.bin'), `${base}/curl/c.bin`]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(sha256(await readFile(join(dir, 'c2.bin'))), sha256(a));
    // curl -C - resumes an upload at the remote size (an APPEND open, WRITEs from that offset).
    await writeFile(join(dir, 'c-half.bin'), a.subarray(0, 600_000));
    assert.equal((await curl(['--hostpubsha256', t.hostSha256, '-T', join(dir, 'c-half.bin'), `${base}/curl/resumed.bin`])).code, 0);
    const resumed = await curl(['--hostpubsha256', t.hostSha256, '-C', '-', '-T', join(dir, 'c.bin'), `${base}/curl/resumed.bin`]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const back = await dav(c.dav.url, 'GET', '/curl/resumed.bin');
    assert.equal(sha256(back.body), sha256(a));
    const wrongKey = await curl(['--hostpubsha256', 'AAAA' + t.hostSha256.slice(4), '-o', '/dev/null', `${base}/curl/c.bin`]);
    assert.notEqual(wrongKey.code, 0);
  });

  test('FTP and WebDAV read what SFTP wrote, byte for byte', async () => {
    const a = randomBytes(700_001);
    await writeFile(join(dir, 'x.bin'), a);
    assert.equal((await sftpBatch(t, 'mkdir /tree\nput x.bin "/tree/x y.bin"\n', { cwd: dir })).code, 0);
    const f = await curl(['-o', join(dir, 'x-ftp.bin'), ftpUrl(c.port, '/tree/x y.bin')]);
    assert.equal(f.code, 0, f.stderr);
    assert.equal(sha256(await readFile(join(dir, 'x-ftp.bin'))), sha256(a));
    const d = await dav(c.dav.url, 'GET', '/tree/x%20y.bin');
    assert.equal(d.status, 200);
    assert.equal(sha256(d.body), sha256(a));
  });

  test('an sftp killed in the middle of a put leaves nothing', async () => {
    await writeFile(join(dir, 'big.bin'), randomBytes(64 * 1024 * 1024));
    const env = { ...process.env, SSH_ASKPASS: await askpass(dir, 'demo'), SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' };
    const child = spawn('sftp', [...sshOptions(t.port, ['-o', 'PreferredAuthentications=password', '-l', '32000']), '-b', '-', 'demo@127.0.0.1'], { env, cwd: dir, stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin!.end('put big.bin /killed.bin\n');
    // Killed mid-upload: once the reservation exists (the bytes are streaming to the nodes; at
    // 4 MB/s the 64 MiB take 16 s).
    const started = Date.now() + 20_000;
    while ((await c.store.staleReservations(Date.now() + 3_600_000, 10)).length === 0) {
      assert.ok(Date.now() < started && child.exitCode === null, 'the upload never got under way');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300)); // a few WRITEs in
    assert.equal(child.exitCode, null, 'sftp was still uploading when killed');
    child.kill('SIGKILL');
    // The door notices the connection is gone and aborts: the reservation is released, not left to the reaper.
    const deadline = Date.now() + 10_000;
    while ((await c.store.staleReservations(Date.now() + 3_600_000, 10)).length > 0) {
      assert.ok(Date.now() < deadline, 'the killed upload was not aborted');
      await new Promise((r) => setTimeout(r, 100));
    }
    const ls = await sftpBatch(t, 'ls /\n', { cwd: dir });
    assert.equal(ls.code, 0, ls.stderr);
    assert.doesNotMatch(output(ls.stdout), /killed\.bin/);
  });
});
