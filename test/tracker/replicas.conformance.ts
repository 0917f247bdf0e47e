// The replica role of the Store (Replicas, without the bad-replica marks of
// bad-replicas.conformance.ts): file rows, where their copies are, and paging through them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.ts';
import { ROOT_ID } from '../../src/tracker/types.ts';
import type { Catalog, Namespace, Replicas, Uploads } from '../../src/tracker/types.ts';
import { catalogFixtures, expectCode, SHA_A, SHA_B, suiteStore, uploadFixtures, type OpenStore } from './suite-store.ts';

export function replicasSuite(name: string, open: OpenStore<Catalog & Uploads & Replicas & Namespace>): void {
  describe(`Store replicas: ${name}`, () => {
    const store = suiteStore(open);
    const { freshDomain, newDevice } = catalogFixtures(store);
    const { upload } = uploadFixtures(store);

    test('getFile returns the committed file; null for unknown fids', async () => {
      const at = await freshDomain({ mindevcount: 2 });
      const [d1, d2] = [await newDevice(), await newDevice()];
      const big = 2 ** 40 + 7; // needs 64 bits in the database, fits a JS number
      const { entry } = await upload(at, ROOT_ID, 'big.bin', { length: big, devids: [d2, d1] });
      const f = (await store.getFile(entry.fid!))!;
      assert.equal(typeof f.length, 'number');
      assert.deepEqual({ ...f, createdAt: 0 }, {
        fid: entry.fid, domainId: at.domainId, classId: at.classId, length: big, checksum: SHA_A,
        checksumAlg: 'sha256', devcount: 2, createdAt: 0,
      });
      assert.ok(Math.abs(f.createdAt - Date.now()) < 60_000);
      assert.equal(await store.getFile(entry.fid! + 1_000_000), null);
      assert.deepEqual(await store.replicasOf(entry.fid!), [d1, d2].sort((a, b) => a - b));
    });

    test('addReplica and removeReplica are idempotent and keep devcount in step', async () => {
      const at = await freshDomain({ mindevcount: 1 });
      const [d1, d2, d3] = [await newDevice(), await newDevice(), await newDevice()];
      const fid = (await upload(at, ROOT_ID, 'r', { devids: [d1] })).entry.fid!;
      await store.addReplica(fid, d3);
      await store.addReplica(fid, d2);
      await store.addReplica(fid, d2);
      assert.deepEqual(await store.replicasOf(fid), [d1, d2, d3]);
      assert.equal((await store.getFile(fid))!.devcount, 3);
      await store.removeReplica(fid, d1);
      await store.removeReplica(fid, d1);
      assert.deepEqual(await store.replicasOf(fid), [d2, d3]);
      assert.equal((await store.getFile(fid))!.devcount, 2);
      await expectCode(store.addReplica(fid + 1_000_000, d1), ErrorCodes.NOT_FOUND);
      await expectCode(store.addReplica(fid, 999_999), ErrorCodes.NOT_FOUND);
      assert.deepEqual(await store.replicasOf(fid + 1_000_000), []);
    });

    test('fidsOnDevice and listFids page in fid order', async () => {
      const at = await freshDomain({ mindevcount: 1 });
      const [dA, dB] = [await newDevice(), await newDevice()];
      const fids: number[] = [];
      for (let i = 0; i < 7; i++) fids.push((await upload(at, ROOT_ID, `p${i}`, { devids: i % 2 ? [dA, dB] : [dA] })).entry.fid!);
      const pages: number[][] = [];
      for (let after = 0; ; ) {
        const page = await store.fidsOnDevice(dA, after, 3);
        if (page.length === 0) break;
        assert.ok(page.length <= 3);
        pages.push(page);
        after = page[page.length - 1]!;
      }
      assert.deepEqual(pages.flat(), fids);
      assert.deepEqual(await store.fidsOnDevice(dB, 0, 100), fids.filter((_, i) => i % 2));
      assert.deepEqual(await store.fidsOnDevice(dB, fids[3]!, 1), [fids[5]]);

      const listed: number[] = [];
      for (let after = fids[0]! - 1; ; ) {
        const page = await store.listFids(after, 2);
        if (page.length === 0) break;
        listed.push(...page.map((f) => f.fid));
        after = page[page.length - 1]!.fid;
      }
      for (const fid of fids) assert.ok(listed.includes(fid));
      assert.deepEqual(listed, [...listed].sort((a, b) => a - b));
      // A deleted file is no longer live.
      await store.removeFile((await store.lookup(at.domainId, ROOT_ID, 'p0'))!.id);
      assert.ok(!(await store.listFids(fids[0]! - 1, 1000)).some((f) => f.fid === fids[0]));
    });

    test('getFiles returns the rows that exist, in fid order', async () => {
      const at = await freshDomain();
      const a = await upload(at, ROOT_ID, 'gf-a', { length: 5 });
      const b = await upload(at, ROOT_ID, 'gf-b', { length: 7, checksum: SHA_B });
      const rows = await store.getFiles([b.entry.fid!, 999_999_999, a.entry.fid!, a.entry.fid!]);
      assert.deepEqual(rows.map((r) => [r.fid, r.length, r.checksum]), [
        [a.entry.fid, 5, SHA_A],
        [b.entry.fid, 7, SHA_B],
      ]);
      assert.deepEqual(await store.getFiles([]), []);
    });
  });
}
