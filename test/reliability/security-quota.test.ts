// Quotas under parallel writers (issue 15, item 3): the quota used to be checked once, when an
// upload opened, against the usage of committed files: ten parallel 900 KB STORs under a 1 MB
// quota all got 226, six parallel WebDAV PUTs stored 5.4 MB, and dead properties and lock
// owners were not counted at all. Now an upload reserves its bytes in the transaction that reads
// the usage (src/tracker/store/quota.ts), so of writers that cannot all fit exactly the ones that
// fit succeed; properties and lock owners count. Against a real cluster (storage-node processes,
// FTP and WebDAV front-ends) on SQLite and on MariaDB, with raw FTP and HTTP clients.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { resolvePathComponents } from '../../src/tracker/names.ts';
import type { Entry } from '../../src/tracker/types.ts';
import { BACKENDS, useCluster } from '../harness/cluster.ts';
import { dav } from '../harness/clients.ts';
import { until } from '../harness/wait.ts';
import { contentBuffer } from './lib/content.ts';
import { loggedIn, type RawFtp } from './lib/ftp.ts';

const QUOTA = 1_000_000;
const KB900 = 900 * 1024;

for (const backend of BACKENDS) {
  describe(`quotas as reservations (${backend})`, () => {
    const c = useCluster({ db: backend, nodes: 2, mindevcount: 2, ftp: true, dav: true });
    let seq = 0;

    /** A user with a 1 MB quota and a home of its own. */
    async function quotaUser(quotaBytes: number | null = QUOTA): Promise<{ name: string; home: string }> {
      const name = `q${++seq}`;
      await c.addUser(name, 'pw', { homeDir: `/${name}`, quotaBytes });
      return { name, home: `/${name}` };
    }

    async function filesUnder(home: string): Promise<Entry[]> {
      const { store } = c.services;
      const dir = await store.resolvePath(c.domainId, resolvePathComponents([], home));
      if (!dir) return [];
      return store.listDir(c.domainId, dir.id, { limit: 1000 });
    }

    /** Usage as the quota counts it, once no upload holds a reservation any more. */
    async function settledUsage(name: string, home: string): Promise<number> {
      const { store } = c.services;
      const user = (await store.getUser(name))!;
      const dir = await store.resolvePath(c.domainId, resolvePathComponents([], home));
      const holder = { userId: user.id, homeId: dir!.id };
      await until(`${name}'s reservations released`, async () => (await store.quotaUsage(holder, Date.now())).reserved === 0, 20_000);
      const u = await store.quotaUsage(holder, Date.now());
      return u.files + u.props + u.locks;
    }

    async function clients(name: string, n: number): Promise<RawFtp[]> {
      return Promise.all(Array.from({ length: n }, () => loggedIn(c.port, name, 'pw')));
    }

    test('ten parallel 900 KB STORs under a 1 MB quota: exactly one 226, the others 552, nothing else stored', async () => {
      const u = await quotaUser();
      const ftps = await clients(u.name, 10);
      try {
        const results = await Promise.all(ftps.map((f, i) => f.stor(`f${i}.bin`, contentBuffer(`${u.name}-${i}`, KB900))));
        const codes = results.map((r) => r.final.code);
        assert.equal(codes.filter((x) => x === 226).length, 1, `replies: ${codes.join(' ')}`);
        assert.deepEqual(codes.filter((x) => x !== 226).sort(), Array(9).fill(552), `replies: ${codes.join(' ')}`);
        const files = await filesUnder(u.home);
        assert.equal(files.length, 1, `visible: ${files.map((f) => f.name).join(', ')}`);
        assert.equal(files[0]!.size, KB900);
        const winner = codes.indexOf(226);
        assert.equal(files[0]!.name, `f${winner}.bin`);
        const used = await settledUsage(u.name, u.home);
        assert.ok(used <= QUOTA, `usage ${used} over the quota`);
        // The refused uploads that had started left their partial replicas to the delete job.
        const started = results.filter((r) => r.final.code === 552 && r.prelim.code === 150).length;
        if (started > 0) assert.ok((await c.services.store.queueDepth('delete')) > 0, 'partial replicas are queued for deletion');
      } finally {
        await Promise.all(ftps.map((f) => f.quit()));
      }
    });

    test('APPE and REST+STOR count the whole new version: five of each in parallel stay within the quota', async () => {
      const u = await quotaUser();
      const [setup] = await clients(u.name, 1);
      const BASE = 10_000;
      const GROWTH = 200_000;
      for (let i = 0; i < 10; i++) assert.equal((await setup!.stor(`g${i}.bin`, contentBuffer(`base-${i}`, BASE))).final.code, 226);
      await setup!.quit();
      const ftps = await clients(u.name, 10);
      try {
        const results = await Promise.all(
          ftps.map(async (f, i) => {
            const extra = contentBuffer(`grow-${i}`, GROWTH);
            if (i % 2 === 0) return f.stor(`g${i}.bin`, extra, 'APPE');
            const rest = await f.cmd(`REST ${BASE}`);
            assert.equal(rest.code, 350);
            return f.stor(`g${i}.bin`, extra);
          }),
        );
        const codes = results.map((r) => r.final.code);
        const ok = codes.filter((x) => x === 226).length;
        // 100 000 bytes stored; each success adds 200 000: at most four fit under 1 000 000.
        assert.ok(ok >= 1 && ok <= 4, `replies: ${codes.join(' ')}`);
        assert.ok(codes.every((x) => x === 226 || x === 552), `replies: ${codes.join(' ')}`);
        const files = await filesUnder(u.home);
        assert.equal(files.length, 10);
        for (const f of files) {
          const i = Number(f.name.slice(1, -4));
          assert.equal(f.size, codes[i] === 226 ? BASE + GROWTH : BASE, `${f.name} after ${codes[i]}`);
        }
        const used = await settledUsage(u.name, u.home);
        assert.ok(used <= QUOTA, `usage ${used} over the quota`);
        // Sequentially: an APPE that would go over is refused, and the file keeps its bytes.
        const over = QUOTA - used + 1;
        const r = await ftps[0]!.stor('g1.bin', contentBuffer('over', over), 'APPE');
        assert.equal(r.final.code, 552);
        assert.equal((await ftps[0]!.cmd('SIZE g1.bin')).text, String(files.find((f) => f.name === 'g1.bin')!.size));
      } finally {
        await Promise.all(ftps.map((f) => f.quit()));
      }
    });

    test('six parallel WebDAV PUTs of 900 KB under a 1 MB quota: exactly one is stored, the others get 507', async () => {
      const u = await quotaUser();
      const puts = await Promise.all(
        Array.from({ length: 6 }, (_, i) => dav(c.dav.url, 'PUT', `/p${i}.bin`, { user: u.name, password: 'pw', body: contentBuffer(`put-${i}`, KB900) })),
      );
      const codes = puts.map((p) => p.status);
      assert.equal(codes.filter((s) => s === 201 || s === 204).length, 1, `statuses: ${codes.join(' ')}`);
      assert.equal(codes.filter((s) => s === 507).length, 5, `statuses: ${codes.join(' ')}`);
      assert.equal((await filesUnder(u.home)).length, 1);
      assert.ok((await settledUsage(u.name, u.home)) <= QUOTA);
    });

    test('six parallel chunked WebDAV PUTs (no Content-Length) under a 1 MB quota: exactly one is stored', async () => {
      const u = await quotaUser();
      const codes = await Promise.all(Array.from({ length: 6 }, (_, i) => chunkedPut(c.dav.url, `/c${i}.bin`, u.name, contentBuffer(`chunked-${i}`, KB900))));
      assert.equal(codes.filter((s) => s === 201 || s === 204).length, 1, `statuses: ${codes.join(' ')}`);
      assert.equal(codes.filter((s) => s === 507).length, 5, `statuses: ${codes.join(' ')}`);
      assert.equal((await filesUnder(u.home)).length, 1);
      assert.ok((await settledUsage(u.name, u.home)) <= QUOTA);
    });

    test('dead properties and lock owners count: with the quota used up, PROPPATCH and LOCK with an owner get 507 and store nothing', async () => {
      const u = await quotaUser();
      const as = { user: u.name, password: 'pw' };
      // Properties fit while there is room, and are counted.
      assert.equal((await dav(c.dav.url, 'PUT', '/small.bin', { ...as, body: 'x' })).status, 201);
      const small = await dav(c.dav.url, 'PROPPATCH', '/small.bin', { ...as, body: propertyUpdate('tag', 'y'.repeat(10_000)) });
      assert.equal(small.status, 207);
      assert.match(small.text, /200 OK/);
      assert.ok((await settledUsage(u.name, u.home)) >= 10_001);
      // A file takes what is left: the quota is exhausted.
      const left = QUOTA - (await settledUsage(u.name, u.home));
      assert.equal((await dav(c.dav.url, 'PUT', '/full.bin', { ...as, body: contentBuffer('full', left) })).status, 201);
      assert.equal(await settledUsage(u.name, u.home), QUOTA);

      const big = await dav(c.dav.url, 'PROPPATCH', '/full.bin', { ...as, body: propertyUpdate('big', 'z'.repeat(60_000)) });
      assert.ok(big.status === 507 || (big.status === 207 && /507/.test(big.text)), `PROPPATCH: ${big.status} ${big.text}`);
      const full = await c.services.store.resolvePath(c.domainId, resolvePathComponents([], `${u.home}/full.bin`));
      assert.deepEqual(await c.services.store.davProps(c.domainId, [full!.id]), []);
      // Taking a property away is always allowed.
      const removed = await dav(c.dav.url, 'PROPPATCH', '/small.bin', {
        ...as,
        body: `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:quota-test"><D:remove><D:prop><X:tag/></D:prop></D:remove></D:propertyupdate>`,
      });
      assert.equal(removed.status, 207);
      assert.match(removed.text, /200 OK/);
      // Refill what the removal freed, then a lock whose owner would go over is refused.
      const room = QUOTA - (await settledUsage(u.name, u.home));
      assert.equal((await dav(c.dav.url, 'PUT', '/fill.bin', { ...as, body: contentBuffer('fill', room) })).status, 201);
      const owner = `<D:href>${'o'.repeat(3000)}</D:href>`;
      const locked = await dav(c.dav.url, 'LOCK', '/full.bin', { ...as, headers: { Timeout: 'Second-600' }, body: lockInfo(owner) });
      assert.equal(locked.status, 507, `LOCK: ${locked.status} ${locked.text}`);
      assert.equal((await c.services.store.davLocksAt(c.domainId, `${u.home}/full.bin`, { descendants: false, now: Date.now() })).length, 0);
      // A lock without an owner adds nothing and is granted.
      const bare = await dav(c.dav.url, 'LOCK', '/full.bin', { ...as, headers: { Timeout: 'Second-600' }, body: lockInfo(null) });
      assert.equal(bare.status, 200, bare.text);
      assert.equal(await settledUsage(u.name, u.home), QUOTA);
    });

    test('a session loses write access within seconds of its user becoming read-only, and every access once removed', async () => {
      const u = await quotaUser(null);
      const ftp = (await clients(u.name, 1))[0]!;
      try {
        assert.equal((await ftp.stor('a.bin', Buffer.from('a'))).final.code, 226);
        await c.services.store.updateUser(u.name, { readOnly: true });
        let n = 0;
        await until('MKD refused after the user became read-only', async () => (await ftp.cmd(`MKD d${n++}`)).code === 550, 10_000);
        assert.equal((await ftp.stor('b.bin', Buffer.from('b'))).final.code, 550);
        assert.ok(!(await filesUnder(u.home)).some((f) => f.name === 'b.bin'));
        await c.services.store.removeUser(u.name);
        await until('reads refused after the user was removed', async () => (await ftp.cmd('SIZE a.bin')).code === 530, 10_000);
        assert.equal((await ftp.cmd('MKD gone')).code, 530);
      } finally {
        ftp.destroy();
      }
    });
  });
}

function propertyUpdate(name: string, value: string): string {
  return `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:quota-test"><D:set><D:prop><X:${name}>${value}</X:${name}></D:prop></D:set></D:propertyupdate>`;
}

function lockInfo(owner: string | null): string {
  return `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>${owner === null ? '' : `<D:owner>${owner}</D:owner>`}</D:lockinfo>`;
}

/** A PUT whose body goes chunked (no Content-Length): the server learns the size only at the end. */
function chunkedPut(base: string, path: string, user: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), {
      method: 'PUT',
      agent: false,
      headers: { Authorization: `Basic ${Buffer.from(`${user}:pw`).toString('base64')}`, 'Transfer-Encoding': 'chunked' },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    // The server may answer (507) and close before the whole body is sent.
    req.on('error', (err) => (req.destroyed && (err as NodeJS.ErrnoException).code === 'EPIPE' ? undefined : reject(err)));
    req.setTimeout(120_000, () => req.destroy(new Error(`PUT ${path}: no answer in 120 s`)));
    for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024));
    req.end();
  });
}
