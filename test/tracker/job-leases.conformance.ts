// The job-lease role of the Store (JobLeases, src/tracker/store/job-leases.ts) and the orphan
// look-up (store/orphans.ts): heartbeats, the takeover of a silent owner's items, the release of
// a dead owner's leases, device task leases, and what is known of found fids.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_ID, type Catalog, type JobOwner, type Queues, type Uploads } from '../../src/tracker/types.ts';
import { catalogFixtures, suiteStore, uploadFixtures, type OpenStore } from './suite-store.ts';

const owner = (id: string, heartbeatAt: number): JobOwner => ({ owner: id, hostname: 'h', pidSpace: 'h/boot/ns', pid: 42, startedAt: heartbeatAt, heartbeatAt });

export function jobLeasesSuite(name: string, open: OpenStore<Queues & Catalog & Uploads>): void {
  describe(`Store job leases: ${name}`, () => {
    const store = suiteStore(open);
    const { freshDomain, newDevice } = catalogFixtures(store);
    const { upload } = uploadFixtures(store);

    test("a claim takes over a silent owner's items, not a live one's; the old owner's complete and retry match nothing", async () => {
      const t = 10_000_000;
      await store.registerJobOwner(owner('silent', t));
      await store.registerJobOwner(owner('live', t));
      await store.enqueue('replicate', 101, { now: t });
      await store.enqueue('replicate', 102, { now: t });
      assert.equal((await store.claim('replicate', 'silent', { limit: 1, leaseMs: 1_800_000, now: t })).map((i) => i.fid).join(), '101');
      assert.equal((await store.claim('replicate', 'live', { limit: 1, leaseMs: 1_800_000, now: t })).map((i) => i.fid).join(), '102');
      assert.ok(await store.heartbeatJobOwner('live', t + 20_000));
      // Without staleBefore: the 30 min leases hold.
      assert.deepEqual(await store.claim('replicate', 'new', { limit: 10, leaseMs: 1_800_000, now: t + 20_000 }), []);
      const taken = await store.claim('replicate', 'new', { limit: 10, leaseMs: 1_800_000, now: t + 20_000, staleBefore: t + 5_000 });
      assert.deepEqual(taken.map((i) => i.fid), [101]);
      assert.equal(await store.holdsLease('replicate', 101, 'silent'), false);
      assert.equal(await store.holdsLease('replicate', 101, 'new'), true);
      assert.equal(await store.complete('replicate', 101, 'silent'), false);
      assert.equal(await store.retry('replicate', 101, 'silent', { delayMs: 0, now: t + 21_000 }), false);
      assert.equal(await store.holdsLease('replicate', 101, 'new'), true, 'still the new holder');
      assert.ok(await store.complete('replicate', 101, 'new'));
      // exclude leaves fids out.
      await store.enqueue('replicate', 103, { now: t });
      assert.deepEqual(await store.claim('replicate', 'new', { limit: 10, leaseMs: 60_000, now: t + 30_000, exclude: [103] }), []);
      assert.ok(await store.complete('replicate', 102, 'live'));
      assert.deepEqual((await store.claim('replicate', 'new', { limit: 10, leaseMs: 60_000, now: t + 30_000 })).map((i) => i.fid), [103]);
      assert.ok(await store.complete('replicate', 103, 'new'));
    });

    test("releasing a dead owner frees its items and tasks at once; its heartbeat then says it lost them", async () => {
      const t = 20_000_000;
      await store.registerJobOwner(owner('dead', t));
      await store.enqueue('delete', 201, { devids: [3], now: t });
      await store.claim('delete', 'dead', { limit: 10, leaseMs: 1_800_000, now: t });
      assert.ok(await store.acquireTaskLease('drain/dev/1', 'dead', { now: t, ttlMs: 90_000, staleBefore: t - 15_000 }));
      assert.equal(await store.releaseJobOwner('dead'), 1);
      assert.ok(!(await store.listJobOwners()).some((o) => o.owner === 'dead'));
      const items = await store.claim('delete', 'heir', { limit: 10, leaseMs: 60_000, now: t + 1 });
      assert.deepEqual(items.map((i) => [i.fid, i.devids]), [[201, [3]]]);
      assert.ok(await store.acquireTaskLease('drain/dev/1', 'heir', { now: t + 1, ttlMs: 90_000, staleBefore: t - 15_000 }));
      assert.equal(await store.heartbeatJobOwner('dead', t + 2), false);
      assert.ok(await store.complete('delete', 201, 'heir'));
    });

    test('a task lease is one holder at a time: kept by renewal, taken when expired or its holder is silent', async () => {
      const t = 30_000_000;
      await store.registerJobOwner(owner('a', t));
      await store.registerJobOwner(owner('b', t));
      const o = (now: number) => ({ now, ttlMs: 90_000, staleBefore: now - 15_000 });
      assert.ok(await store.acquireTaskLease('dead/dev/7', 'a', o(t)));
      assert.equal(await store.acquireTaskLease('dead/dev/7', 'b', o(t + 1000)), false);
      assert.ok(await store.acquireTaskLease('dead/dev/7', 'a', o(t + 2000)), 'renewed by its holder');
      await store.heartbeatJobOwner('a', t + 60_000);
      await store.heartbeatJobOwner('b', t + 60_000);
      assert.equal(await store.acquireTaskLease('dead/dev/7', 'b', o(t + 60_000)), false, 'held while a heartbeats');
      // a falls silent: b takes the task once a is past the stale bound.
      await store.heartbeatJobOwner('b', t + 80_000);
      assert.ok(await store.acquireTaskLease('dead/dev/7', 'b', o(t + 80_000)));
      await store.releaseTaskLease('dead/dev/7', 'b');
      assert.ok(await store.acquireTaskLease('dead/dev/7', 'a', o(t + 80_001)));
    });

    test('what is known of fids found on a device', async () => {
      const home = await freshDomain();
      const [dev1, dev2] = [await newDevice(), await newDevice()];
      const now = Date.now();
      const committed = { fid: (await upload(home, ROOT_ID, 'f', { devids: [dev1], length: 1, mtime: now })).entry.fid! };
      const pending = await store.reserveUpload({ domainId: home.domainId, classId: home.classId, devids: [dev1], now });
      const aborted = await store.reserveUpload({ domainId: home.domainId, classId: home.classId, devids: [dev1], now });
      await store.abortUpload(aborted.fid); // queued for deletion
      const forgotten = await store.reserveUpload({ domainId: home.domainId, classId: home.classId, devids: [dev1], now });
      await store.abortUpload(forgotten.fid);
      await store.claim('delete', 'x', { limit: 1000, leaseMs: 60_000, now: Date.now() });
      assert.ok(await store.complete('delete', forgotten.fid, 'x'));
      const fids = [committed.fid, pending.fid, aborted.fid, forgotten.fid, forgotten.fid + 1000];
      const on1 = await store.storedFidStates(dev1, fids);
      assert.deepEqual(on1.map((s) => s.state), ['recorded', 'reserved', 'queued-delete', 'unknown', 'foreign']);
      const on2 = await store.storedFidStates(dev2, [committed.fid]);
      assert.deepEqual(on2.map((s) => s.state), ['unrecorded-copy']);
    });
  });
}
