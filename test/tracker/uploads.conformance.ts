// The upload role of the Store (Uploads, without the quota charges of quota.conformance.ts):
// fids handed out once, reservations, the one-transaction commit (and what it queues), abort.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.ts';
import { ROOT_ID } from '../../src/tracker/types.ts';
import type { Catalog, Namespace, Queues, Replicas, Uploads } from '../../src/tracker/types.ts';
import { catalogFixtures, expectCode, queueFixtures, SHA_A, SHA_B, suiteStore, uploadFixtures, type OpenStore } from './suite-store.ts';

export function uploadsSuite(name: string, open: OpenStore<Catalog & Uploads & Replicas & Namespace & Queues>): void {
  describe(`Store uploads: ${name}`, () => {
    const store = suiteStore(open);
    const { freshDomain, newDevice } = catalogFixtures(store);
    const { upload } = uploadFixtures(store);
    const { takeAll } = queueFixtures(store);

    test('reserveUpload hands out distinct, increasing fids and records the reservation', async () => {
      const at = await freshDomain();
      const dev = await newDevice();
      const rs = [];
      for (let i = 0; i < 5; i++) rs.push(await store.reserveUpload({ domainId: at.domainId, classId: at.classId, devids: [dev], now: 1234 + i }));
      const fids = rs.map((r) => r.fid);
      assert.deepEqual(fids, [...fids].sort((a, b) => a - b));
      assert.equal(new Set(fids).size, 5);
      assert.deepEqual(await store.getReservation(fids[2]!), { fid: fids[2], domainId: at.domainId, classId: at.classId, devids: [dev], createdAt: 1236, quota: null });
      assert.equal(await store.getReservation(fids[4]! + 1000), null);
      const parallel = await Promise.all(Array.from({ length: 40 }, () => store.reserveUpload({ domainId: at.domainId, classId: at.classId, devids: [], now: 1 })));
      assert.equal(new Set([...fids, ...parallel.map((r) => r.fid)]).size, 45);
    });

    test('reserveUpload: NOT_FOUND for a class of another domain', async () => {
      const a = await freshDomain();
      const b = await freshDomain();
      await expectCode(store.reserveUpload({ domainId: a.domainId, classId: b.classId, devids: [], now: 1 }), ErrorCodes.NOT_FOUND);
    });

    test('fids are never reused: not after the highest reservation is gone, nor after reopening', async () => {
      const db = await open();
      let s = db.store;
      try {
        const d = await s.createDomain('d');
        const c = (await s.getClass(d.id, 'default'))!;
        const r1 = await s.reserveUpload({ domainId: d.id, classId: c.id, devids: [], now: 1 });
        const r2 = await s.reserveUpload({ domainId: d.id, classId: c.id, devids: [], now: 1 });
        await s.abortUpload(r2.fid);
        const r3 = await s.reserveUpload({ domainId: d.id, classId: c.id, devids: [], now: 1 });
        assert.ok(r3.fid > r2.fid && r2.fid > r1.fid);
        await s.abortUpload(r3.fid);
        s = await db.reopen();
        const r4 = await s.reserveUpload({ domainId: d.id, classId: c.id, devids: [], now: 1 });
        assert.ok(r4.fid > r3.fid, `fid ${r4.fid} after reopen must exceed ${r3.fid}`);
      } finally {
        await db.drop();
      }
    });

    test('staleReservations lists the old ones, oldest first, up to the limit', async () => {
      const at = await freshDomain();
      const base = 5_000_000;
      const old1 = await store.reserveUpload({ domainId: at.domainId, classId: at.classId, devids: [], now: base + 2 });
      const old0 = await store.reserveUpload({ domainId: at.domainId, classId: at.classId, devids: [], now: base + 1 });
      const young = await store.reserveUpload({ domainId: at.domainId, classId: at.classId, devids: [], now: base + 10 });
      const stale = (await store.staleReservations(base + 10, 100)).filter((r) => r.createdAt > base);
      assert.deepEqual(stale.map((r) => r.fid), [old0.fid, old1.fid]);
      assert.ok((await store.staleReservations(base + 10, 1)).length === 1);
      for (const r of [old0, old1, young]) await store.abortUpload(r.fid);
      assert.deepEqual((await store.staleReservations(base + 100, 100)).filter((r) => r.createdAt > base), []);
    });

    test('commitUpload creates file, replicas and entry, drops the reservation, queues replication when short', async () => {
      const at = await freshDomain({ mindevcount: 2 });
      const [d1, d2] = [await newDevice(), await newDevice()];
      await takeAll('replicate');
      const dir = await store.mkdir(at.domainId, ROOT_ID, 'in', { mtime: 1 });
      const r = await store.reserveUpload({ domainId: at.domainId, classId: at.classId, devids: [d1, d2], now: 1 });
      const res = await store.commitUpload({ fid: r.fid, parentId: dir.id, name: 'one.txt', length: 11, checksum: SHA_A.toUpperCase(), devids: [d1, d1], mtime: 1_700_000_000_123 });
      assert.equal(res.replacedFid, null);
      assert.deepEqual({ ...res.entry, id: 0 }, {
        id: 0, domainId: at.domainId, parentId: dir.id, name: 'one.txt', kind: 'file', fid: r.fid, size: 11, mtime: 1_700_000_000_123, mode: 0o644,
      });
      assert.deepEqual(await store.getEntry(res.entry.id), res.entry);
      assert.equal(await store.getReservation(r.fid), null);
      assert.deepEqual(await store.replicasOf(r.fid), [d1]);
      const f = (await store.getFile(r.fid))!;
      assert.deepEqual([f.devcount, f.checksum, f.length], [1, SHA_A, 11]);
      assert.deepEqual((await takeAll('replicate')).map((i) => i.fid), [r.fid]);

      // Enough copies: nothing to replicate; a mode given for a new entry is kept.
      const full = await upload(at, dir.id, 'two.txt', { devids: [d1, d2], mode: 0o600 });
      assert.equal(full.entry.mode, 0o600);
      assert.deepEqual(await takeAll('replicate'), []);
    });

    test('commitUpload over an existing file swaps the fid, keeps id and mode, queues the old fid for deletion', async () => {
      const at = await freshDomain({ mindevcount: 1 });
      const [d1, d2] = [await newDevice(), await newDevice()];
      const first = await upload(at, ROOT_ID, 'doc', { devids: [d1, d2], length: 5, mode: 0o640 });
      await takeAll('delete');
      const second = await upload(at, ROOT_ID, 'doc', { devids: [d1], length: 9, checksum: SHA_B, mtime: 1_800_000_000_000, mode: 0o777 });
      assert.equal(second.replacedFid, first.entry.fid);
      assert.equal(second.entry.id, first.entry.id);
      assert.deepEqual([second.entry.fid, second.entry.size, second.entry.mode, second.entry.mtime], [second.entry.fid, 9, 0o640, 1_800_000_000_000]);
      assert.deepEqual(await store.lookup(at.domainId, ROOT_ID, 'doc'), second.entry);
      assert.equal(await store.getFile(first.entry.fid!), null, 'the old version is no longer a live file');
      // The old copies stay listed until the delete job removes them, and the queue item names them too.
      assert.deepEqual(await store.replicasOf(first.entry.fid!), [d1, d2].sort((a, b) => a - b));
      const del = await takeAll('delete');
      assert.deepEqual(del.map((i) => [i.fid, i.devids]), [[first.entry.fid, [d1, d2].sort((a, b) => a - b)]]);
    });

    test('commitUpload failures: directory in the way, gone reservation or parent, bad name or checksum; nothing half-done', async () => {
      const at = await freshDomain({ mindevcount: 1 });
      const dir = await store.mkdir(at.domainId, ROOT_ID, 'taken', { mtime: 1 });
      const file = await upload(at, ROOT_ID, 'plain');
      const r = await store.reserveUpload({ domainId: at.domainId, classId: at.classId, devids: [], now: 1 });
      const input = { fid: r.fid, parentId: ROOT_ID, name: 'taken', length: 1, checksum: SHA_A, devids: [], mtime: 1 };
      await expectCode(store.commitUpload(input), ErrorCodes.IS_A_DIRECTORY);
      await expectCode(store.commitUpload({ ...input, name: 'x', parentId: 999_999 }), ErrorCodes.NOT_FOUND);
      await expectCode(store.commitUpload({ ...input, name: 'x', parentId: file.entry.id }), ErrorCodes.NOT_A_DIRECTORY);
      await expectCode(store.commitUpload({ ...input, name: 'a/b' }), ErrorCodes.INVALID_NAME);
      await expectCode(store.commitUpload({ ...input, name: '..' }), ErrorCodes.INVALID_NAME);
      await expectCode(store.commitUpload({ ...input, name: 'x', checksum: 'abc' }), ErrorCodes.INVALID_ARGUMENT);
      await expectCode(store.commitUpload({ ...input, name: 'x', checksum: null }), ErrorCodes.INVALID_ARGUMENT);
      // Every failure rolled back: the reservation is still there and no file row appeared.
      assert.ok(await store.getReservation(r.fid));
      assert.equal(await store.getFile(r.fid), null);
      assert.equal((await store.lookup(at.domainId, ROOT_ID, 'taken'))!.id, dir.id);
      await store.commitUpload({ ...input, name: 'ok' });
      await expectCode(store.commitUpload({ ...input, name: 'ok2' }), ErrorCodes.NOT_FOUND, /reserved/);
      await expectCode(store.commitUpload({ ...input, fid: r.fid + 1_000_000, name: 'z' }), ErrorCodes.NOT_FOUND);
      const other = await freshDomain();
      const r2 = await store.reserveUpload({ domainId: other.domainId, classId: other.classId, devids: [], now: 1 });
      await expectCode(store.commitUpload({ ...input, fid: r2.fid, name: 'cross', parentId: dir.id }), ErrorCodes.NOT_FOUND);
    });

    test('checksums follow the class: md5 digests, none stores null', async () => {
      const md5 = await freshDomain({ mindevcount: 1, checksum: 'md5' });
      const f = await upload(md5, ROOT_ID, 'm', { checksum: 'D41D8CD98F00B204E9800998ECF8427E' });
      assert.deepEqual([(await store.getFile(f.entry.fid!))!.checksum, (await store.getFile(f.entry.fid!))!.checksumAlg], ['d41d8cd98f00b204e9800998ecf8427e', 'md5']);
      await expectCode(upload(md5, ROOT_ID, 'm2', { checksum: SHA_A }), ErrorCodes.INVALID_ARGUMENT, /md5/);
      const none = await freshDomain({ mindevcount: 1, checksum: 'none' });
      const n = await upload(none, ROOT_ID, 'n', { checksum: null });
      assert.deepEqual([(await store.getFile(n.entry.fid!))!.checksum, (await store.getFile(n.entry.fid!))!.checksumAlg], [null, 'none']);
    });

    test('abortUpload drops the reservation and queues a delete on the reserved devices; again is a no-op', async () => {
      const at = await freshDomain();
      const [d1, d2] = [await newDevice(), await newDevice()];
      await takeAll('delete');
      const r = await store.reserveUpload({ domainId: at.domainId, classId: at.classId, devids: [d2, d1], now: 1 });
      await store.abortUpload(r.fid);
      await store.abortUpload(r.fid);
      assert.equal(await store.getReservation(r.fid), null);
      const items = await takeAll('delete');
      assert.deepEqual(items.map((i) => [i.fid, i.devids]), [[r.fid, [d1, d2].sort((a, b) => a - b)]]);
      await expectCode(store.commitUpload({ fid: r.fid, parentId: ROOT_ID, name: 'late', length: 0, checksum: SHA_A, devids: [], mtime: 1 }), ErrorCodes.NOT_FOUND);
    });

    test('concurrent commits of one new name: both succeed, the later replaces the earlier', async () => {
      const at = await freshDomain({ mindevcount: 1 });
      for (let round = 0; round < 3; round++) {
        const name = `race${round}`;
        const [a, b] = await Promise.all([upload(at, ROOT_ID, name), upload(at, ROOT_ID, name)]);
        const replaced = [a.replacedFid, b.replacedFid].filter((x) => x !== null);
        assert.equal(replaced.length, 1, 'exactly one commit replaced the other');
        const live = (await store.lookup(at.domainId, ROOT_ID, name))!;
        assert.equal(live.fid, a.replacedFid === null ? b.entry.fid : a.entry.fid);
        assert.equal(replaced[0], live.fid === a.entry.fid ? b.entry.fid : a.entry.fid);
      }
    });
  });
}
