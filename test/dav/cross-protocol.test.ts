// FTP and WebDAV are two doors onto the same files: what one writes the other reads at once,
// a rename through one does not disturb a read through the other, and a WebDAV upload cut
// off halfway leaves nothing visible through either.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { curl, ftplib, ftpUrl, spawnClient, dav } from '../harness/clients.ts';
import { BACKENDS, sha256, useCluster } from '../harness/cluster.ts';

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const backend of BACKENDS) {
  describe(`FTP and WebDAV on one volume (${backend})`, () => {
    const c = useCluster({ db: backend, ftp: true, dav: true, tmpDir: 'mogftp-xproto-' });
    let dir: string;
    before(() => (dir = c.tmpDir));

    test('written over FTP, read over WebDAV at once; written over WebDAV, read over FTP', async () => {
      const a = randomBytes(3 * 1024 * 1024 + 5);
      await writeFile(join(dir, 'a.bin'), a);
      const up = await curl(['--ftp-create-dirs', '-T', join(dir, 'a.bin'), ftpUrl(c.port, '/x/from ftp.bin')]);
      assert.equal(up.code, 0, up.stderr);
      const got = await dav(c.dav.url, 'GET', '/x/from%20ftp.bin');
      assert.equal(got.status, 200);
      assert.equal(sha256(got.body), sha256(a));
      const pf = await dav(c.dav.url, 'PROPFIND', '/x/', { headers: { Depth: '1' } });
      assert.equal(pf.status, 207);
      assert.match(pf.text, /<D:href>\/x\/from%20ftp\.bin<\/D:href>/);
      assert.match(pf.text, new RegExp(`<D:getcontentlength>${a.length}</D:getcontentlength>`));

      const b = randomBytes(2 * 1024 * 1024 + 11);
      const put = await dav(c.dav.url, 'PUT', '/x/from%20dav.bin', { body: b });
      assert.equal(put.status, 201);
      const down = await curl([ftpUrl(c.port, '/x/from dav.bin'), '-o', join(dir, 'b.out')]);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(sha256(await readFile(join(dir, 'b.out'))), sha256(b));
      // The WebDAV upload is as durable as an FTP one: every replica on disk, on distinct hosts.
      const replicas = await c.replicasOnDisk('/x/from dav.bin');
      assert.equal(replicas.length, c.cls.mindevcount);
      assert.equal(new Set(replicas.map((r) => r.hostId)).size, replicas.length);
      for (const r of replicas) assert.equal(r.sha256, sha256(b));

      // Overwritten over FTP, the next WebDAV read has the new bytes and a new ETag.
      const etag1 = (await dav(c.dav.url, 'HEAD', '/x/from%20dav.bin')).headers.etag;
      await writeFile(join(dir, 'c.bin'), 'replaced');
      assert.equal((await curl(['-T', join(dir, 'c.bin'), ftpUrl(c.port, '/x/from dav.bin')])).code, 0);
      const again = await dav(c.dav.url, 'GET', '/x/from%20dav.bin');
      assert.equal(again.text, 'replaced');
      assert.notEqual(again.headers.etag, etag1);
    });

    test('the same users and homes: a user jailed in /alice sees /alice as "/" over both', async () => {
      await c.addUser('alice', 'wonder', { homeDir: '/alice' });
      const r = await ftplib(c.port, `ftp.storbinary('STOR note.txt', io.BytesIO(b'for alice'))\nprint(ftp.pwd())`, { user: 'alice', password: 'wonder' });
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await dav(c.dav.url, 'GET', '/note.txt', { user: 'alice', password: 'wonder' })).text, 'for alice');
      assert.equal((await dav(c.dav.url, 'GET', '/alice/note.txt')).text, 'for alice', 'demo (home /) sees it under /alice');
      assert.equal((await dav(c.dav.url, 'GET', '/../note.txt', { user: 'alice', password: 'wonder' })).text, 'for alice', '.. stops at the home');
      assert.equal((await dav(c.dav.url, 'GET', '/note.txt', { user: 'alice', password: 'wrong' })).status, 401);
    });

    test('a MOVE over WebDAV while an FTP client is reading: the read completes intact', async () => {
      const data = randomBytes(8 * 1024 * 1024);
      assert.equal((await dav(c.dav.url, 'PUT', '/moving.bin', { body: data })).status, 201);
      // ftplib opens the download, takes a first block, then waits for our go-ahead.
      const py = spawnClient('python3', [
        '-c',
        `import ftplib, hashlib, sys
ftp = ftplib.FTP()
ftp.connect('127.0.0.1', ${c.port}, timeout=60)
ftp.login('demo', 'demo')
ftp.voidcmd('TYPE I')
sock = ftp.transfercmd('RETR moving.bin')
h = hashlib.sha256(); n = 0
block = sock.recv(65536); h.update(block); n += len(block)
print('STARTED', flush=True)
sys.stdin.readline()
while True:
    block = sock.recv(65536)
    if not block: break
    h.update(block); n += len(block)
sock.close()
print(ftp.voidresp().split()[0], n, h.hexdigest(), flush=True)
`,
      ]);
      let out = '';
      let err = '';
      py.stdout!.on('data', (d) => (out += d));
      py.stderr!.on('data', (d) => (err += d));
      const exited = new Promise<number | null>((resolve) => py.on('close', resolve));
      await until('the FTP download to start', async () => {
        if (py.exitCode !== null) throw new Error(`ftplib exited: ${err}`);
        return out.includes('STARTED');
      });

      const mv = await dav(c.dav.url, 'MOVE', '/moving.bin', { headers: { Destination: `${c.dav.url}moved.bin` } });
      assert.equal(mv.status, 201);
      assert.equal((await dav(c.dav.url, 'GET', '/moving.bin')).status, 404);
      py.stdin!.end('go\n');
      assert.equal(await exited, 0, err);
      const [, code, n, digest] = /STARTED\s+(\d+) (\d+) ([0-9a-f]+)/.exec(out) ?? [];
      assert.equal(code, '226');
      assert.equal(Number(n), data.length);
      assert.equal(digest, sha256(data));
      assert.equal(sha256((await dav(c.dav.url, 'GET', '/moved.bin')).body), sha256(data));
    });

    for (const framing of ['content-length', 'chunked'] as const) {
      test(`a WebDAV PUT killed halfway (${framing}) leaves nothing visible, and an old version stays`, async () => {
        const old = Buffer.from('the old version');
        assert.equal((await dav(c.dav.url, 'PUT', `/killed-${framing}-over.bin`, { body: old })).status, 201);
        for (const name of [`killed-${framing}.bin`, `killed-${framing}-over.bin`]) {
          const before = new Set((await c.services.store.staleReservations(Date.now() + 3600_000, 1000)).map((r) => r.fid));
          const sock = connect(c.dav.port, '127.0.0.1');
          await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
          sock.on('error', () => {});
          const auth = Buffer.from('demo:demo').toString('base64');
          const head =
            `PUT /${name} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${auth}\r\n` +
            (framing === 'chunked' ? 'Transfer-Encoding: chunked\r\n\r\n' : `Content-Length: ${4 * 1024 * 1024}\r\n\r\n`);
          sock.write(head);
          const half = randomBytes(1024 * 1024);
          sock.write(framing === 'chunked' ? Buffer.concat([Buffer.from(`${half.length.toString(16)}\r\n`), half, Buffer.from('\r\n')]) : half);
          // Wait until the server has reserved a fid for it (the upload is under way), then cut.
          const fid = await until('the upload to start', async () =>
            (await c.services.store.staleReservations(Date.now() + 3600_000, 1000)).map((r) => r.fid).find((f) => !before.has(f)),
          );
          sock.destroy();
          await until('the reservation to be aborted', async () => !(await c.services.store.getReservation(fid)));
          assert.equal(await c.services.store.getFile(fid), null, 'no file row for the cut upload');
          const listing = await dav(c.dav.url, 'PROPFIND', '/', { headers: { Depth: '1' } });
          if (name.endsWith('-over.bin')) {
            assert.equal((await dav(c.dav.url, 'GET', `/${name}`)).text, 'the old version');
            const size = await ftplib(c.port, `ftp.voidcmd('TYPE I')\nprint(ftp.size(${JSON.stringify(name)}))`);
            assert.equal(size.stdout.trim(), String(old.length));
          } else {
            assert.doesNotMatch(listing.text, new RegExp(name));
            assert.equal((await dav(c.dav.url, 'GET', `/${name}`)).status, 404);
            const ftpList = await ftplib(c.port, 'print(ftp.nlst())');
            assert.doesNotMatch(ftpList.stdout, new RegExp(name));
          }
        }
      });
    }
  });
}
