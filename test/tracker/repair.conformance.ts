// The repair role of the Store (Repair): the fsck log, devcount fixes, a class's fids, the
// guarded removal of a surplus copy, and the statistics the operator's views show.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.ts';
import { ROOT_ID } from '../../src/tracker/types.ts';
import type { Catalog, Namespace, Repair, Replicas, Uploads } from '../../src/tracker/types.ts';
import { catalogFixtures, expectCode, suiteStore, uploadFixtures, type OpenStore } from './suite-store.ts';

export function repairSuite(name: string, open: OpenStore<Repair & Replicas & Catalog & Uploads & Namespace>): void {
  describe(`Store repair: ${name}`, () => {
    const store = suiteStore(open);
    const { freshDomain, newDevice } = catalogFixtures(store);
    const { upload } = uploadFixtures(store);

    test('fsck log: append, list in order (by fid, after an id), count by code, clear', async () => {
      await store.clearFsckEvents();
      assert.equal(await store.lastFsckEventId(), 0);
      await store.addFsckEvents([
        { at: 1000, fid: 5, devid: 2, code: 'BSUM', detail: 'checksum differs' },
        { at: 1001, fid: 5, devid: null, code: 'REPL', detail: 'replication queued' },
        { at: 1002, fid: 6, devid: 3, code: 'MISS', detail: 'line one\nline two' },
      ]);
      const all = await store.listFsckEvents({ limit: 10 });
      assert.deepEqual(all.map((e) => [e.fid, e.devid, e.code, e.at]), [[5, 2, 'BSUM', 1000], [5, null, 'REPL', 1001], [6, 3, 'MISS', 1002]]);
      assert.equal(all[2]!.detail, 'line one line two', 'one line each');
      assert.ok(all[0]!.id < all[1]!.id && all[1]!.id < all[2]!.id);
      assert.equal(await store.lastFsckEventId(), all[2]!.id);
      assert.deepEqual((await store.listFsckEvents({ fid: 5, limit: 10 })).map((e) => e.code), ['BSUM', 'REPL']);
      assert.deepEqual((await store.listFsckEvents({ afterId: all[0]!.id, limit: 1 })).map((e) => e.code), ['REPL']);
      assert.deepEqual(await store.countFsckEvents(), { BSUM: 1, MISS: 1, REPL: 1 });
      assert.deepEqual(await store.countFsckEvents(all[1]!.id), { MISS: 1 });
      await expectCode(store.addFsckEvents([{ at: 1, fid: 1, devid: null, code: 'WHAT' as 'MISS', detail: '' }]), ErrorCodes.INVALID_ARGUMENT);
      assert.equal(await store.clearFsckEvents(), 3);
      assert.deepEqual(await store.listFsckEvents({ limit: 10 }), []);
      // Ids keep growing after a clear, so a run's "after" mark stays meaningful.
      await store.addFsckEvents([{ at: 1, fid: 1, devid: null, code: 'NOPA', detail: 'x' }]);
      assert.ok((await store.lastFsckEventId()) > all[2]!.id);
      await store.clearFsckEvents();
    });

    test('fixDevcount, fidsOfClass', async () => {
      const at = await freshDomain({ mindevcount: 2, writeQuorum: 1 });
      const other = await freshDomain({ mindevcount: 1 });
      const d1 = await newDevice();
      const a = await upload(at, ROOT_ID, 'a', { devids: [d1] });
      const b = await upload(at, ROOT_ID, 'b', { devids: [d1] });
      await upload(other, ROOT_ID, 'c', { devids: [d1] });
      const fa = a.entry.fid!;
      const fb = b.entry.fid!;
      assert.deepEqual(await store.fidsOfClass(at.classId, 0, 10), [fa, fb]);
      assert.deepEqual(await store.fidsOfClass(at.classId, fa, 10), [fb]);
      assert.deepEqual(await store.fidsOfClass(at.classId, 0, 1), [fa]);
      assert.deepEqual(await store.fixDevcount(fa), { before: 1, after: 1 });
      assert.equal(await store.fixDevcount(999_999_999), null);
      await store.removeFile(b.entry.id);
      assert.deepEqual(await store.fidsOfClass(at.classId, 0, 10), [fa], 'deleted fids are not listed');
    });

    test('removeReplicaIfCovered keeps the floor, counts only alive/readonly devices of alive hosts', async () => {
      const at = await freshDomain({ mindevcount: 2, writeQuorum: 1 });
      const [d1, d2, d3] = [await newDevice(), await newDevice(), await newDevice()];
      const { entry } = await upload(at, ROOT_ID, 'f', { devids: [d1, d2, d3] });
      const fid = entry.fid!;
      assert.equal(await store.removeReplicaIfCovered(fid, d3, 3), false, 'only two others');
      assert.deepEqual(await store.replicasOf(fid), [d1, d2, d3]);
      await store.updateDevice(d2, { status: 'drain' });
      assert.equal(await store.removeReplicaIfCovered(fid, d3, 2), false, 'a draining copy does not count');
      await store.updateDevice(d2, { status: 'readonly' });
      assert.equal(await store.removeReplicaIfCovered(fid, d3, 2), true);
      assert.deepEqual(await store.replicasOf(fid), [d1, d2]);
      assert.equal((await store.getFile(fid))!.devcount, 2);
      assert.equal(await store.removeReplicaIfCovered(fid, d3, 2), true, 'already gone');
      // Two guarded removals of different copies at once: one wins, one copy is left.
      const results = await Promise.all([store.removeReplicaIfCovered(fid, d1, 1), store.removeReplicaIfCovered(fid, d2, 1)]);
      assert.deepEqual(results.filter(Boolean).length, 1, JSON.stringify(results));
      assert.equal((await store.replicasOf(fid)).length, 1);
      assert.equal((await store.getFile(fid))!.devcount, 1);
      await store.removeFile(entry.id);
      assert.equal(await store.removeReplicaIfCovered(fid, (await store.replicasOf(fid))[0]!, 0), false, 'file gone');
    });

    test('fileStats and deviceUsage', async () => {
      // Statistics are global: measure the change this test makes.
      const before = await store.fileStats();
      const usageBefore = new Map((await store.deviceUsage()).map((u) => [u.devid, u]));
      const at = await freshDomain({ mindevcount: 2, writeQuorum: 1 });
      const [d1, d2] = [await newDevice(), await newDevice()];
      await upload(at, ROOT_ID, 'one', { devids: [d1, d2], length: 100 });
      await upload(at, ROOT_ID, 'two', { devids: [d1], length: 40 });
      const gone = await upload(at, ROOT_ID, 'three', { devids: [d2], length: 7 });
      await store.removeFile(gone.entry.id);
      const after = await store.fileStats();
      assert.deepEqual(
        { files: after.files - before.files, bytes: after.bytes - before.bytes, under: after.underReplicated - before.underReplicated },
        { files: 2, bytes: 140, under: 1 },
      );
      const usage = new Map((await store.deviceUsage()).map((u) => [u.devid, u]));
      assert.equal(usageBefore.has(d1), false);
      assert.deepEqual(usage.get(d1), { devid: d1, replicas: 2, bytes: 140 });
      assert.deepEqual(usage.get(d2), { devid: d2, replicas: 1, bytes: 100 }, 'a deleted file no longer counts');
      // A dead device's copy no longer counts toward the class.
      await store.updateDevice(d2, { status: 'dead' });
      assert.equal((await store.fileStats()).underReplicated - before.underReplicated, 2);
    });
  });
}
