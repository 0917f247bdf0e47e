// The WebDAV front-end's own promises, beyond litmus: authentication, a streamed PROPFIND of a
// 10 000-entry directory, Depth: infinity refused, ranges and ETags, failover reads, OS
// metadata files, read-only accounts and quotas, TLS with keep-alive, and locks and
// properties shared by two `mogftp dav` processes on one database.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { startDavServer } from '../../src/dav/server.ts';
import { StorageClient } from '../../src/storage/client.ts';
import { openStore } from '../../src/tracker/open.ts';
import { MIGRATIONS } from '../../src/tracker/store/migrations.ts';
import type { SqlStore } from '../../src/tracker/store/sql-store.ts';
import { Tracker } from '../../src/tracker/tracker.ts';
import { ROOT_ID } from '../../src/tracker/types.ts';
import { run, dav } from '../harness/clients.ts';
import { sha256, useCluster } from '../harness/cluster.ts';
import type { DaemonProcess } from '../harness/daemons.ts';
import { createSqliteTestDb } from '../harness/db.ts';

const propfindBody = (props: string) => `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>${props}</D:prop></D:propfind>`;

describe('WebDAV front-end (sqlite)', () => {
  const c = useCluster({ db: 'sqlite', dav: true });

  test('authentication: 401 with a Basic challenge for a missing or wrong password; OPTIONS is open and says DAV 1, 2', async () => {
    const none = await dav(c.dav.url, 'PROPFIND', '/', { auth: false, headers: { Depth: '0' } });
    assert.equal(none.status, 401);
    assert.match(String(none.headers['www-authenticate']), /^Basic realm="mogftp"/);
    assert.equal((await dav(c.dav.url, 'GET', '/', { password: 'nope' })).status, 401);
    assert.equal((await dav(c.dav.url, 'GET', '/', { user: 'nobody', password: 'demo' })).status, 401);
    const opt = await dav(c.dav.url, 'OPTIONS', '/', { auth: false });
    assert.equal(opt.status, 200);
    assert.equal(opt.headers.dav, '1, 2');
    assert.match(String(opt.headers.allow), /PROPFIND.*LOCK/);
    // A refused upload with Expect: 100-continue is answered before any body is sent.
    const r = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-T', '-', '-H', 'Expect: 100-continue', `${c.dav.url}nope.bin`], { input: 'x'.repeat(10_000) });
    assert.equal(r.stdout, '401');
  });

  test('PROPFIND Depth 1 of a 10 000-entry directory streams every entry, with ETags and dead properties', async () => {
    const { store } = c.services;
    const dir = await store.mkdir(c.domainId, ROOT_ID, 'big', { mtime: Date.now() });
    const N = 10_000;
    // 20 000 store transactions would take most of a minute on a busy machine; the rows go in
    // through one SQLite transaction instead (fids taken from the store's own counter).
    const db = new Database(c.dbUrl.slice('sqlite:'.length));
    try {
      db.transaction(() => {
        const first = (db.prepare(`SELECT v FROM counters WHERE name = 'fid'`).get() as { v: number }).v + 1;
        db.prepare(`UPDATE counters SET v = ? WHERE name = 'fid'`).run(first + N);
        const file = db.prepare('INSERT INTO files (fid, domain_id, class_id, length, checksum, checksum_alg, devcount, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)');
        const entry = db.prepare(`INSERT INTO entries (domain_id, parent_id, name, kind, fid, size, mtime, mode) VALUES (?, ?, ?, 'file', ?, ?, ?, 420)`);
        for (let i = 0; i < N; i++) {
          const name = `f${String(i).padStart(5, '0')}.txt`;
          file.run(first + i, c.domainId, c.cls.id, i, sha256(name), 'sha256', Date.now());
          entry.run(c.domainId, dir.id, name, first + i, i, Date.now());
        }
      })();
    } finally {
      db.close();
    }
    for (let i = 0; i < N; i += 1000) {
      const e = (await store.lookup(c.domainId, dir.id, `f${String(i).padStart(5, '0')}.txt`))!;
      await store.patchDavProps(c.domainId, e.id, [{ op: 'set', ns: 'urn:x', name: 'tag', value: `n${i}` }]);
    }
    const started = Date.now();
    const res = await dav(c.dav.url, 'PROPFIND', '/big/', { headers: { Depth: '1' } });
    const ms = Date.now() - started;
    assert.equal(res.status, 207);
    assert.equal(res.headers['transfer-encoding'], 'chunked', 'the multistatus is streamed, not built whole');
    assert.equal(res.headers['content-length'], undefined);
    assert.equal((res.text.match(/<D:response>/g) ?? []).length, N + 1);
    assert.match(res.text, /<D:href>\/big\/f09999\.txt<\/D:href>/);
    assert.equal((res.text.match(/<D:getetag>/g) ?? []).length, N);
    assert.equal((res.text.match(/<tag xmlns="urn:x">n\d+<\/tag>/g) ?? []).length, N / 1000);
    // Generous for a loaded 2-core machine; it takes a few hundred ms when idle. A per-entry
    // query would take many seconds.
    console.log(`# PROPFIND Depth 1 of ${N} entries: ${ms} ms, ${res.body.length} bytes`);
    assert.ok(ms < 8000, `PROPFIND took ${ms} ms`);
    // Only the properties asked for, when a prop list is given.
    const named = await dav(c.dav.url, 'PROPFIND', '/big/', { headers: { Depth: '1' }, body: propfindBody('<D:getcontentlength/>') });
    assert.equal((named.text.match(/<D:getcontentlength>/g) ?? []).length, N);
    assert.doesNotMatch(named.text, /getetag/);
  });

  test('Depth: infinity is refused with propfind-finite-depth, unless the server allows it', async () => {
    await dav(c.dav.url, 'MKCOL', '/deep/');
    await dav(c.dav.url, 'MKCOL', '/deep/er/');
    await dav(c.dav.url, 'PUT', '/deep/er/leaf.txt', { body: 'leaf' });
    for (const headers of [{ Depth: 'infinity' }, {} as Record<string, string>]) {
      const r = await dav(c.dav.url, 'PROPFIND', '/deep/', { headers });
      assert.equal(r.status, 403);
      assert.match(r.text, /<D:propfind-finite-depth\/?>/);
    }
    assert.equal((await dav(c.dav.url, 'PROPFIND', '/deep/er/leaf.txt', { headers: { Depth: 'infinity' } })).status, 207, 'a file has no depth');
    const open = await c.startDav({ allowInfiniteDepth: true });
    const r = await dav(open.url, 'PROPFIND', '/deep/', { headers: { Depth: 'infinity' } });
    assert.equal(r.status, 207);
    assert.match(r.text, /\/deep\/er\/leaf\.txt/);
    assert.equal((await dav(c.dav.url, 'PROPFIND', '/deep/', { headers: { Depth: '2' } })).status, 400);
  });

  test('GET: ranges, conditional requests, and an ETag that is getetag and changes with the content', async () => {
    const data = randomBytes(300_000);
    const put = await dav(c.dav.url, 'PUT', '/range.bin', { body: data });
    assert.equal(put.status, 201);
    const etag = String(put.headers.etag);
    const full = await dav(c.dav.url, 'GET', '/range.bin');
    assert.equal(full.headers.etag, etag);
    assert.equal(full.headers['accept-ranges'], 'bytes');
    assert.deepEqual(full.body, data);
    const pf = await dav(c.dav.url, 'PROPFIND', '/range.bin', { headers: { Depth: '0' }, body: propfindBody('<D:getetag/>') });
    assert.ok(pf.text.includes(`<D:getetag>${etag.replace(/"/g, '"')}</D:getetag>`), pf.text);

    const mid = await dav(c.dav.url, 'GET', '/range.bin', { headers: { Range: 'bytes=1000-1999' } });
    assert.equal(mid.status, 206);
    assert.equal(mid.headers['content-range'], `bytes 1000-1999/${data.length}`);
    assert.deepEqual(mid.body, data.subarray(1000, 2000));
    const tail = await dav(c.dav.url, 'GET', '/range.bin', { headers: { Range: 'bytes=-100' } });
    assert.deepEqual(tail.body, data.subarray(data.length - 100));
    const open = await dav(c.dav.url, 'GET', '/range.bin', { headers: { Range: 'bytes=299000-' } });
    assert.deepEqual(open.body, data.subarray(299_000));
    assert.equal((await dav(c.dav.url, 'GET', '/range.bin', { headers: { Range: `bytes=${data.length}-` } })).status, 416);
    assert.equal((await dav(c.dav.url, 'GET', '/range.bin', { headers: { Range: 'bytes=0-9', 'If-Range': '"stale"' } })).status, 200);

    assert.equal((await dav(c.dav.url, 'GET', '/range.bin', { headers: { 'If-None-Match': etag } })).status, 304);
    assert.equal((await dav(c.dav.url, 'GET', '/range.bin', { headers: { 'If-Match': '"other"' } })).status, 412);
    assert.equal((await dav(c.dav.url, 'PUT', '/range.bin', { body: 'x', headers: { 'If-Match': '"other"' } })).status, 412);
    assert.equal((await dav(c.dav.url, 'PUT', '/range.bin', { body: 'x', headers: { 'If-None-Match': '*' } })).status, 412);
    const replaced = await dav(c.dav.url, 'PUT', '/range.bin', { body: 'new', headers: { 'If-Match': etag } });
    assert.equal(replaced.status, 204);
    assert.notEqual(replaced.headers.etag, etag);
    assert.equal((await dav(c.dav.url, 'GET', '/range.bin')).text, 'new');
  });

  test('a GET fails over to another replica when a node is down', async () => {
    const data = randomBytes(1024 * 1024 + 3);
    assert.equal((await dav(c.dav.url, 'PUT', '/failover.bin', { body: data })).status, 201);
    const holders = await c.replicasOnDisk('/failover.bin');
    assert.equal(holders.length, 2);
    const node = c.nodes.find((n) => n.devid === holders[0]!.devid)!;
    await node.kill();
    try {
      for (let i = 0; i < 3; i++) {
        const r = await dav(c.dav.url, 'GET', '/failover.bin');
        assert.equal(r.status, 200);
        assert.equal(sha256(r.body), sha256(data));
      }
    } finally {
      await node.restart();
    }
  });

  test('OS metadata files: stored by default, hidden from listings with hide, turned away with refuse', async () => {
    await dav(c.dav.url, 'MKCOL', '/os/');
    for (const name of ['.DS_Store', '._photo.jpg', 'Thumbs.db', 'desktop.ini']) {
      assert.equal((await dav(c.dav.url, 'PUT', `/os/${encodeURIComponent(name)}`, { body: 'meta' })).status, 201);
    }
    await dav(c.dav.url, 'PUT', '/os/photo.jpg', { body: 'jpeg' });
    const listed = (url: string) => dav(url, 'PROPFIND', '/os/', { headers: { Depth: '1' } }).then((r) => r.text);
    assert.match(await listed(c.dav.url), /\.DS_Store/);

    const hide = await c.startDav({ osFiles: 'hide' });
    const hidden = await listed(hide.url);
    assert.doesNotMatch(hidden, /DS_Store|\._photo|Thumbs|desktop\.ini/);
    assert.match(hidden, /photo\.jpg/);
    assert.equal((await dav(hide.url, 'GET', '/os/.DS_Store')).text, 'meta', 'hidden, not gone');

    const refuse = await c.startDav({ osFiles: 'refuse' });
    assert.doesNotMatch(await listed(refuse.url), /DS_Store|\._photo|Thumbs|desktop\.ini/);
    assert.equal((await dav(refuse.url, 'GET', '/os/Thumbs.db')).status, 404);
    assert.equal((await dav(refuse.url, 'PUT', '/os/._new', { body: 'x' })).status, 403);
    assert.equal((await dav(refuse.url, 'MKCOL', '/os/.DS_Store.d/')).status, 201, 'only the exact names are metadata');
    assert.equal((await dav(refuse.url, 'COPY', '/os/photo.jpg', { headers: { Destination: '/os/desktop.ini' } })).status, 403);
    assert.equal((await dav(c.dav.url, 'GET', '/os/._new')).status, 404, 'nothing was stored');
  });

  test('read-only accounts read but cannot write, lock or set properties; a quota turns a PUT away with 507', async () => {
    await c.addUser('reader', 'r', { readOnly: true });
    await dav(c.dav.url, 'PUT', '/ro.txt', { body: 'readable' });
    const as = { user: 'reader', password: 'r' };
    assert.equal((await dav(c.dav.url, 'GET', '/ro.txt', as)).text, 'readable');
    assert.equal((await dav(c.dav.url, 'PUT', '/ro.txt', { ...as, body: 'x' })).status, 403);
    assert.equal((await dav(c.dav.url, 'DELETE', '/ro.txt', as)).status, 403);
    assert.equal((await dav(c.dav.url, 'MKCOL', '/ro-dir/', as)).status, 403);
    const lockinfo = '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>';
    assert.equal((await dav(c.dav.url, 'LOCK', '/ro.txt', { ...as, body: lockinfo })).status, 403);
    const patch = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>';
    assert.equal((await dav(c.dav.url, 'PROPPATCH', '/ro.txt', { ...as, body: patch })).status, 403);

    await c.addUser('small', 's', { homeDir: '/small', quotaBytes: 100_000 });
    const small = { user: 'small', password: 's' };
    assert.equal((await dav(c.dav.url, 'PUT', '/fits.bin', { ...small, body: randomBytes(50_000) })).status, 201);
    const big = await dav(c.dav.url, 'PUT', '/toobig.bin', { ...small, body: randomBytes(200_000) }).catch((err: Error) => err);
    // The server may cut the connection while the body is still coming: either way nothing is stored.
    if (!(big instanceof Error)) assert.equal(big.status, 507);
    assert.equal((await dav(c.dav.url, 'GET', '/toobig.bin', small)).status, 404);
  });

  test('COPY and MOVE carry dead properties; DELETE of a collection removes the tree and its locks', async () => {
    await dav(c.dav.url, 'MKCOL', '/tree/');
    await dav(c.dav.url, 'MKCOL', '/tree/sub/');
    await dav(c.dav.url, 'PUT', '/tree/sub/f.txt', { body: 'f' });
    const patch = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><color xmlns="urn:c">blue<b xmlns="urn:other">!</b></color></D:prop></D:set></D:propertyupdate>';
    assert.equal((await dav(c.dav.url, 'PROPPATCH', '/tree/sub/f.txt', { body: patch })).status, 207);
    assert.equal((await dav(c.dav.url, 'COPY', '/tree/', { headers: { Destination: `${c.dav.url}tree2/` } })).status, 201);
    const color = (path: string) =>
      dav(c.dav.url, 'PROPFIND', path, { headers: { Depth: '0' }, body: propfindBody('<color xmlns="urn:c"/>') }).then((r) => r.text);
    assert.match(await color('/tree2/sub/f.txt'), /<color xmlns="urn:c">blue<b xmlns="urn:other">!<\/b><\/color>/);
    assert.equal((await dav(c.dav.url, 'MOVE', '/tree2/sub/f.txt', { headers: { Destination: '/tree2/g.txt' } })).status, 201);
    assert.match(await color('/tree2/g.txt'), /blue/);

    const lockinfo = '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>';
    const locked = await dav(c.dav.url, 'LOCK', '/tree/sub/f.txt', { body: lockinfo, headers: { Depth: '0' } });
    assert.equal(locked.status, 200);
    const token = String(locked.headers['lock-token']).slice(1, -1);
    assert.equal((await dav(c.dav.url, 'DELETE', '/tree/')).status, 423, 'a lock below blocks the tree delete');
    assert.equal((await dav(c.dav.url, 'DELETE', '/tree/', { headers: { If: `</tree/sub/f.txt> (<${token}>)` } })).status, 204);
    assert.equal((await dav(c.dav.url, 'PROPFIND', '/tree/', { headers: { Depth: '0' } })).status, 404);
    assert.equal(await c.services.store.getDavLock(token, Date.now()), null, 'the lock went with the resource');
  });

  test('HTTPS with the given certificate, and keep-alive connections', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mogftp-davtls-'));
    try {
      const gen = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost']);
      assert.equal(gen.code, 0, gen.stderr);
      const tls = await c.startDav({ tls: { cert: await readFile(join(dir, 'cert.pem')), key: await readFile(join(dir, 'key.pem')) } });
      assert.match(tls.url, /^https:/);
      const agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
      const auth = `Basic ${Buffer.from('demo:demo').toString('base64')}`;
      const req = (method: string, path: string, body?: string) =>
        new Promise<{ status: number; text: string; reused: boolean }>((resolvePromise, reject) => {
          const r = httpsRequest(new URL(path, tls.url), { method, agent, headers: { Authorization: auth, ...(body !== undefined && { 'Content-Length': Buffer.byteLength(body) }) } }, (res) => {
            let text = '';
            res.on('data', (d) => (text += d));
            res.on('end', () => resolvePromise({ status: res.statusCode!, text, reused: r.reusedSocket }));
          });
          r.on('error', reject);
          r.end(body);
        });
      assert.equal((await req('PUT', '/tls.txt', 'secret')).status, 201);
      const got = await req('GET', '/tls.txt');
      assert.equal(got.text, 'secret');
      assert.equal(got.reused, true, 'the second request rode the first one\'s connection');
      const listing = await req('PROPFIND', '/');
      assert.equal(listing.status, 403, 'no Depth header means infinity');
      agent.destroy();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('two WebDAV front-ends on one MariaDB: locks and properties are shared', () => {
  const c = useCluster({ db: 'mysql', dav: true });
  let other: DaemonProcess;
  before(async () => {
    other = await c.startDavProcess();
  });

  test('a lock taken through one is enforced by the other, which accepts its token and can unlock it', async () => {
    assert.equal((await dav(c.dav.url, 'PUT', '/shared.txt', { body: 'v1' })).status, 201);
    const lockinfo = '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>tester</D:owner></D:lockinfo>';
    const locked = await dav(c.dav.url, 'LOCK', '/shared.txt', { body: lockinfo, headers: { Depth: '0', Timeout: 'Second-600' } });
    assert.equal(locked.status, 200);
    const token = String(locked.headers['lock-token']).slice(1, -1);
    assert.match(token, /^opaquelocktoken:/);

    const blocked = await dav(other.url, 'PUT', '/shared.txt', { body: 'v2' });
    assert.equal(blocked.status, 423);
    assert.match(blocked.text, /lock-token-submitted/);
    assert.equal((await dav(other.url, 'LOCK', '/shared.txt', { body: lockinfo })).status, 423);
    const discovered = await dav(other.url, 'PROPFIND', '/shared.txt', { headers: { Depth: '0' }, body: propfindBody('<D:lockdiscovery/>') });
    assert.ok(discovered.text.includes(token) && discovered.text.includes('tester'), discovered.text);

    assert.equal((await dav(other.url, 'PUT', '/shared.txt', { body: 'v2', headers: { If: `(<${token}>)` } })).status, 204);
    const patch = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><note xmlns="urn:n">hi</note></D:prop></D:set></D:propertyupdate>';
    assert.equal((await dav(other.url, 'PROPPATCH', '/shared.txt', { body: patch })).status, 423);
    assert.equal((await dav(other.url, 'PROPPATCH', '/shared.txt', { body: patch, headers: { If: `(<${token}>)` } })).status, 207);
    const props = await dav(c.dav.url, 'PROPFIND', '/shared.txt', { headers: { Depth: '0' }, body: propfindBody('<note xmlns="urn:n"/>') });
    assert.match(props.text, /<note xmlns="urn:n">hi<\/note>/);

    assert.equal((await dav(other.url, 'UNLOCK', '/shared.txt', { headers: { 'Lock-Token': `<${token}>` } })).status, 204);
    assert.equal((await dav(c.dav.url, 'PUT', '/shared.txt', { body: 'v3' })).status, 204);
    assert.equal((await dav(other.url, 'GET', '/shared.txt')).text, 'v3');
  });

  test('a 96 MiB PUT and GET through the process leave its peak memory where it was: bodies stream', async () => {
    const peak = async () => Number(/VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${other.proc.pid}/status`, 'utf8'))![1]) * 1024;
    await dav(other.url, 'PROPFIND', '/', { headers: { Depth: '1' } }); // warm up the handlers
    const before = await peak();
    const block = randomBytes(1024 * 1024);
    const total = 96;
    const sent = createHash('sha256');
    const auth = `Basic ${Buffer.from('demo:demo').toString('base64')}`;
    const putStatus = await new Promise<number>((resolvePut, reject) => {
      const req = httpRequest(new URL('/big-stream.bin', other.url), { method: 'PUT', headers: { Authorization: auth, 'Content-Length': total * block.length } }, (res) => {
        res.resume();
        res.on('end', () => resolvePut(res.statusCode!));
      });
      req.on('error', reject);
      let n = 0;
      const pump = () => {
        while (n < total) {
          n++;
          sent.update(block);
          if (!req.write(block)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    assert.equal(putStatus, 201);
    const got = createHash('sha256');
    let bytes = 0;
    await new Promise<void>((resolveGet, reject) => {
      httpRequest(new URL('/big-stream.bin', other.url), { headers: { Authorization: auth } }, (res) => {
        res.on('data', (d: Buffer) => {
          got.update(d);
          bytes += d.length;
        });
        res.on('end', resolveGet);
        res.on('error', reject);
      })
        .on('error', reject)
        .end();
    });
    assert.equal(bytes, total * block.length);
    assert.equal(got.digest('hex'), sent.digest('hex'));
    const grown = (await peak()) - before;
    console.log(`# peak RSS of mogftp dav: ${Math.round(before / 1048576)} MiB before, +${Math.round(grown / 1048576)} MiB after ${total} MiB each way`);
    assert.ok(grown < 64 * 1024 * 1024, `peak RSS grew by ${Math.round(grown / 1048576)} MiB while moving ${total} MiB`);
  });
});

test('a database whose schema predates WebDAV is refused at start with the command that upgrades it', async () => {
  const db = await createSqliteTestDb();
  const store = (await openStore(db.url)) as SqlStore;
  try {
    await store.migrateWith(MIGRATIONS.filter((m) => m.version < 2));
    await assert.rejects(
      startDavServer({ store, tracker: new Tracker(store), client: new StorageClient(), host: '127.0.0.1', port: 0 }),
      /predates WebDAV: run 'mogftp admin init'/,
    );
    await store.migrate();
    const s = await startDavServer({ store, tracker: new Tracker(store), client: new StorageClient(), host: '127.0.0.1', port: 0 });
    await s.close();
  } finally {
    await store.close();
    await db.drop();
  }
});
