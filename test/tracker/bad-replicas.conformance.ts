// The bad-replica role of the Store (BadReplicas, src/tracker/store/bad-replicas.ts): marks a
// read puts on a damaged copy, which reads, fsck and `admin file info` consult (issue 16).
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.ts';
import { ROOT_ID } from '../../src/tracker/types.ts';
import type { Catalog, Replicas, Uploads } from '../../src/tracker/types.ts';
import { catalogFixtures, expectCode, suiteStore, uploadFixtures, type FileHome, type OpenStore } from './suite-store.ts';

export function badReplicasSuite(name: string, open: OpenStore<Replicas & Catalog & Uploads>): void {
  describe(`Store bad replicas: ${name}`, () => {
    const store = suiteStore(open);
    const { freshDomain, newDevice } = catalogFixtures(store);
    const { upload } = uploadFixtures(store);
    let seq = 0;
    const devs: number[] = [];
    let home: FileHome;

    before(async () => {
      home = await freshDomain();
      for (let i = 0; i < 3; i++) devs.push(await newDevice());
    });

    const fileOn = async (devids: number[]): Promise<number> => (await upload(home, ROOT_ID, `f${++seq}`, { devids })).entry.fid!;

    test('a recorded copy is marked once, with when and why; a second mark keeps the first time', async () => {
      const fid = await fileOn([devs[0]!, devs[1]!]);
      assert.deepEqual(await store.badReplicasOf(fid), []);
      assert.equal(await store.markBadReplica(fid, devs[1]!, 'sha256 mismatch', 1000), true);
      assert.equal(await store.markBadReplica(fid, devs[1]!, 'ended at byte 2 of 3', 2000), true);
      assert.deepEqual(await store.badReplicasOf(fid), [{ fid, devid: devs[1]!, foundAt: 1000, reason: 'ended at byte 2 of 3' }]);
      assert.deepEqual((await store.badReplicasOfFiles([fid, fid, 999_999])).map((m) => m.devid), [devs[1]!]);
    });

    test("a download's plan: the file row, its copies and their marks in one read; null for a file that is not there", async () => {
      const fid = await fileOn([devs[2]!, devs[0]!, devs[1]!]);
      assert.equal(await store.markBadReplica(fid, devs[1]!, 'sha256 mismatch', 1000), true);
      const plan = await store.fileForRead(fid);
      assert.deepEqual(plan?.file, await store.getFile(fid));
      assert.deepEqual(plan?.devids, [...devs].sort((a, b) => a - b));
      assert.deepEqual(plan?.bad, [devs[1]!]);
      await store.removeReplica(fid, devs[1]!);
      assert.deepEqual(await store.fileForRead(fid), { file: await store.getFile(fid), devids: [devs[0]!, devs[2]!].sort((a, b) => a - b), bad: [] });
      assert.equal(await store.fileForRead(999_999), null);
    });

    test('no mark for a copy that is not recorded (deleted or repaired meanwhile)', async () => {
      const fid = await fileOn([devs[0]!]);
      assert.equal(await store.markBadReplica(fid, devs[2]!, 'sha256 mismatch', 1000), false);
      assert.equal(await store.markBadReplica(999_999, devs[0]!, 'sha256 mismatch', 1000), false);
      assert.deepEqual(await store.badReplicasOf(fid), []);
    });

    test('clearing a mark, and pruning marks whose copy is gone', async () => {
      const fid = await fileOn([devs[0]!, devs[1]!, devs[2]!]);
      await store.markBadReplica(fid, devs[0]!, 'sha256 mismatch', 1000);
      await store.markBadReplica(fid, devs[2]!, 'sha256 mismatch', 1000);
      assert.equal(await store.clearBadReplica(fid, devs[0]!), true);
      assert.equal(await store.clearBadReplica(fid, devs[0]!), false);
      await store.removeReplica(fid, devs[2]!);
      assert.ok((await store.pruneBadReplicas()) >= 1);
      assert.deepEqual(await store.badReplicasOf(fid), []);
    });

    test('bad arguments are refused with a code; a long reason is cut to fit', async () => {
      const fid = await fileOn([devs[0]!]);
      await expectCode(store.markBadReplica(fid, devs[0]!, '', 1000), ErrorCodes.INVALID_ARGUMENT);
      await expectCode(store.markBadReplica(0, devs[0]!, 'x', 1000), ErrorCodes.INVALID_ARGUMENT);
      await expectCode(store.markBadReplica(fid, devs[0]!, 'x', -1), ErrorCodes.INVALID_ARGUMENT);
      assert.equal(await store.markBadReplica(fid, devs[0]!, 'é'.repeat(400), 1000), true);
      const [m] = await store.badReplicasOf(fid);
      assert.equal(m!.reason.length, 255);
    });
  });
}
