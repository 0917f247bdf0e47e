// lftp (over OpenSSH) mirrors 200 files up and back, rclone's sftp backend copies and checks a
// tree (with its concurrent, possibly out-of-order writes), and FTP and WebDAV then list the
// same files with the same bytes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { curl, dav, ftpUrl, run } from '../harness/clients.ts';
import { sha256, useCluster } from '../harness/cluster.ts';
import { askpass, startTestSftp, type TestSftp } from './lib.ts';

describe('lftp and rclone over SFTP', () => {
  const c = useCluster({ db: 'sqlite', ftp: true, dav: true, tmpDir: 'mogftp-sftp-mirror-' });
  let t: TestSftp;
  let dir: string;
  before(async () => {
    dir = c.tmpDir;
    t = await startTestSftp(c, join(dir, 'keys'));
  });
  after(() => t?.server.close());

  test('lftp mirrors 200 files up and back; FTP and WebDAV read them identically', async () => {
    const up = join(dir, 'up');
    const files = new Map<string, Buffer>();
    for (let d = 0; d < 4; d++) {
      await mkdir(join(up, `d${d}`), { recursive: true });
      for (let i = 0; i < 50; i++) {
        const body = randomBytes(100 + ((i * 7919) % 40_000));
        files.set(`d${d}/f${i}.bin`, body);
        await writeFile(join(up, `d${d}`, `f${i}.bin`), body);
      }
    }
    const connect = `ssh -a -x -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PreferredAuthentications=password -o PubkeyAuthentication=no`;
    const script = `set sftp:connect-program "${connect}"; set net:max-retries 1; set mirror:parallel-transfer-count 4; mirror -R ${up} /lftp; mirror /lftp ${join(dir, 'down')}; bye`;
    const env = { ...process.env, HOME: dir, SSH_ASKPASS: await askpass(dir, 'demo'), SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' };
    const r = await run('lftp', ['-u', 'demo,demo', '-p', String(t.port), '-e', script, 'sftp://127.0.0.1'], { env, timeoutMs: 180_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    let checked = 0;
    for (const [name, body] of files) {
      assert.equal(sha256(await readFile(join(dir, 'down', name))), sha256(body), name);
      checked++;
    }
    assert.equal(checked, 200);
    // The same tree through the other doors: names and sizes over FTP, bytes over WebDAV.
    const listing = await curl(['--list-only', ftpUrl(c.port, '/lftp/d3/')]);
    assert.equal(listing.code, 0, listing.stderr);
    assert.deepEqual(listing.stdout.trim().split(/\r?\n/).sort(), [...files.keys()].filter((n) => n.startsWith('d3/')).map((n) => n.slice(3)).sort());
    const one = await dav(c.dav.url, 'GET', '/lftp/d2/f17.bin');
    assert.equal(sha256(one.body), sha256(files.get('d2/f17.bin')!));
  });

  test('rclone copies a tree with its concurrent writes and checks it', async () => {
    const src = join(dir, 'rsrc');
    await mkdir(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'big.bin'), randomBytes(12 * 1024 * 1024 + 5));
    for (let i = 0; i < 20; i++) await writeFile(join(src, 'sub', `s${i}.txt`), randomBytes(i * 1000 + 1));
    const obscured = (await run('rclone', ['obscure', 'demo'])).stdout.trim();
    const remote = `:sftp,host=127.0.0.1,port=${t.port},user=demo,pass=${obscured},shell_type=none,md5sum_command=none,sha1sum_command=none:`;
    const env = { ...process.env, HOME: dir, RCLONE_CONFIG: '/dev/null' };
    const copy = await run('rclone', ['copy', src, `${remote}/rclone`], { env, timeoutMs: 180_000 });
    assert.equal(copy.code, 0, copy.stderr);
    const check = await run('rclone', ['check', '--download', src, `${remote}/rclone`], { env, timeoutMs: 180_000 });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /0 differences found/);
    assert.match(check.stderr, /21 matching files/);
    const back = await run('rclone', ['copy', `${remote}/rclone`, join(dir, 'rback')], { env, timeoutMs: 180_000 });
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual((await readdir(join(dir, 'rback', 'sub'))).length, 20);
    assert.equal(sha256(await readFile(join(dir, 'rback', 'big.bin'))), sha256(await readFile(join(src, 'big.bin'))));
  });
});
