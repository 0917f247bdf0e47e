// End-to-end transfers with real clients (curl, lftp, ftplib) against real storage-node
// processes, on SQLite and on MariaDB. After each upload the test looks at the device
// directories: replica count, distinct hosts, and each replica's sha256.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { curl, ftpUrl, ftplib, lftp, spawnClient } from '../harness/clients.ts';
import { BACKENDS, sha256, useCluster, type Cluster } from '../harness/cluster.ts';

async function assertDurable(c: Cluster, path: string, data: Buffer): Promise<void> {
  const replicas = await c.replicasOnDisk(path);
  assert.equal(replicas.length, c.cls.mindevcount, `${path}: replicas on disk`);
  assert.equal(new Set(replicas.map((r) => r.hostId)).size, replicas.length, `${path}: replicas on distinct hosts`);
  for (const r of replicas) {
    assert.equal(r.size, data.length, `${path}: replica size on device ${r.devid}`);
    assert.equal(r.sha256, sha256(data), `${path}: replica bytes on device ${r.devid}`);
  }
  const fid = await c.fidOf(path);
  const file = await c.services.store.getFile(fid!);
  assert.equal(file?.length, data.length);
  assert.equal(file?.checksum, sha256(data));
  assert.deepEqual((await c.services.store.replicasOf(fid!)).sort(), replicas.map((r) => r.devid).sort());
}

for (const backend of BACKENDS) {
  describe(`FTP transfers on ${backend}`, () => {
    const c = useCluster({ db: backend, ftp: true, tmpDir: 'mogftp-e2e-' });
    let dir: string;
    before(() => (dir = c.tmpDir));

    test('curl STOR is acknowledged only when durable, and RETR returns the same bytes', async () => {
      const data = randomBytes(3 * 1024 * 1024 + 17);
      await writeFile(join(dir, 'a.bin'), data);
      const up = await curl(['-T', join(dir, 'a.bin'), ftpUrl(c.port, '/a.bin')]);
      assert.equal(up.code, 0, up.stderr);
      await assertDurable(c, '/a.bin', data);
      const down = await curl([ftpUrl(c.port, '/a.bin'), '-o', join(dir, 'a.out')]);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(sha256(await readFile(join(dir, 'a.out'))), sha256(data));
    });

    test('a 0-byte file is stored, listed and sized as 0', async () => {
      const r = await ftplib(
        c.port,
        `ftp.storbinary('STOR empty.txt', io.BytesIO(b''))
ftp.voidcmd('TYPE I')
print(json.dumps({'size': ftp.sendcmd('SIZE empty.txt'), 'names': ftp.nlst()}))`,
      );
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.size, '213 0');
      assert.ok(out.names.includes('empty.txt'));
      await assertDurable(c, '/empty.txt', Buffer.alloc(0));
    });

    test('names with spaces, quotes and UTF-8 round-trip exactly', async () => {
      const names = ['with space.txt', 'quote"d \'name\'.txt', 'ünïcødé ✓ 日本.txt', '-x'];
      const r = await ftplib(
        c.port,
        `ftp.encoding = 'utf-8'
names = ${JSON.stringify(names)}
for i, n in enumerate(names):
    ftp.storbinary('STOR ' + n, io.BytesIO(('content %d' % i).encode()))
got = {}
for n in names:
    buf = io.BytesIO()
    ftp.retrbinary('RETR ' + n, buf.write)
    got[n] = buf.getvalue().decode()
print(json.dumps({'listing': sorted(ftp.nlst()), 'got': got}))`,
      );
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      for (const [i, n] of names.entries()) {
        assert.ok(out.listing.includes(n), `listing has ${n}`);
        assert.equal(out.got[n], `content ${i}`);
        await assertDurable(c, `/${n}`, Buffer.from(`content ${i}`));
      }
    });

    test('resumed uploads (curl -C - uses APPE, lftp put -c uses REST+STOR) produce the whole file', async () => {
      const data = randomBytes(2 * 1024 * 1024 + 5);
      const half = data.subarray(0, 1024 * 1024 + 3);
      await writeFile(join(dir, 'full.bin'), data);
      await writeFile(join(dir, 'half.bin'), half);
      for (const name of ['curl-resume.bin', 'lftp-resume.bin']) {
        const up = await curl(['-T', join(dir, 'half.bin'), ftpUrl(c.port, `/${name}`)]);
        assert.equal(up.code, 0, up.stderr);
      }
      const oldFid = await c.fidOf('/curl-resume.bin');
      const viaCurl = await curl(['-C', '-', '-T', join(dir, 'full.bin'), ftpUrl(c.port, '/curl-resume.bin')]);
      assert.equal(viaCurl.code, 0, viaCurl.stderr);
      await assertDurable(c, '/curl-resume.bin', data);
      assert.notEqual(await c.fidOf('/curl-resume.bin'), oldFid, 'a resumed upload is a new version (new fid)');

      const viaLftp = await lftp(c.port, `put -c ${join(dir, 'full.bin')} -o lftp-resume.bin`);
      assert.equal(viaLftp.code, 0, viaLftp.stderr);
      await assertDurable(c, '/lftp-resume.bin', data);
    });

    test('REST beyond the end of the file is refused with 554', async () => {
      const r = await ftplib(
        c.port,
        `ftp.storbinary('STOR short.txt', io.BytesIO(b'12345'))
try:
    ftp.storbinary('STOR short.txt', io.BytesIO(b'x'), rest=99)
    print('accepted')
except ftplib.error_perm as e:
    print(str(e))`,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^554 /);
    });

    test('resumed download (curl -C -) fetches the rest with a Range read', async () => {
      const data = randomBytes(1024 * 1024 + 99);
      await writeFile(join(dir, 'dl.bin'), data);
      assert.equal((await curl(['-T', join(dir, 'dl.bin'), ftpUrl(c.port, '/dl.bin')])).code, 0);
      await writeFile(join(dir, 'dl.part'), data.subarray(0, 300_001));
      const r = await curl(['-C', '-', ftpUrl(c.port, '/dl.bin'), '-o', join(dir, 'dl.part')]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(sha256(await readFile(join(dir, 'dl.part'))), sha256(data));
    });

    test('overwriting under concurrent readers: every read is the old or the new version, whole', async () => {
      const v1 = randomBytes(2 * 1024 * 1024);
      const v2 = randomBytes(2 * 1024 * 1024);
      await writeFile(join(dir, 'v1'), v1);
      await writeFile(join(dir, 'v2'), v2);
      assert.equal((await curl(['-T', join(dir, 'v1'), ftpUrl(c.port, '/over.bin')])).code, 0);
      const oldFid = await c.fidOf('/over.bin');
      const reads = Array.from({ length: 6 }, (_, i) => curl([ftpUrl(c.port, '/over.bin'), '-o', join(dir, `read${i}`)]));
      const write = curl(['-T', join(dir, 'v2'), ftpUrl(c.port, '/over.bin')]);
      const results = await Promise.all([...reads, write]);
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      for (let i = 0; i < 6; i++) {
        const got = sha256(await readFile(join(dir, `read${i}`)));
        assert.ok(got === sha256(v1) || got === sha256(v2), `read ${i} is one whole version`);
      }
      await assertDurable(c, '/over.bin', v2);
      const queued = await c.services.store.claim('delete', 'test-observer', { limit: 100, leaseMs: 1, now: Date.now() });
      assert.ok(queued.some((q) => q.fid === oldFid), 'the old version is queued for deletion');
    });

    test('a client killed by SIGKILL mid-STOR commits nothing', async () => {
      const child = spawnClient('curl', ['-sS', '-T', '-', ftpUrl(c.port, '/killed.bin')]);
      child.stdout!.resume();
      child.stderr!.resume();
      // Feed 1 MiB, wait until it has crossed to the storage nodes, then kill curl.
      child.stdin!.write(randomBytes(1024 * 1024));
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && (await c.services.store.staleReservations(Date.now() + 1000, 10)).length === 0)
        await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('close', r));
      // Give the server time to see the end of both connections.
      const until = Date.now() + 10_000;
      while (Date.now() < until && (await c.services.store.staleReservations(Date.now() + 1000, 10)).length > 0)
        await new Promise((r) => setTimeout(r, 50));
      assert.equal(await c.fidOf('/killed.bin'), null, 'nothing is visible');
      assert.deepEqual(await c.services.store.staleReservations(Date.now() + 1000, 10), [], 'the reservation is gone');
      const list = await curl(['-l', ftpUrl(c.port, '/')]);
      assert.ok(!list.stdout.split(/\r?\n/).includes('killed.bin'));
    });

    test('STOR into a missing directory answers 550 with a clear message', async () => {
      const r = await ftplib(
        c.port,
        `try:
    ftp.storbinary('STOR nodir/x.txt', io.BytesIO(b'x'))
    print('accepted')
except ftplib.error_perm as e:
    print(str(e))`,
      );
      assert.match(r.stdout, /^550 Directory \/nodir does not exist/);
    });
  });
}
