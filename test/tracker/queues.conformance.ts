// The queue role of the Store (Queues, without the owner leases of job-leases.conformance.ts):
// the replicate, delete and fsck queues, leased claims, retries, and requests that arrive while
// an item is leased.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.ts';
import type { QueueName, Queues } from '../../src/tracker/types.ts';
import { expectCode, queueFixtures, suiteStore, type OpenStore } from './suite-store.ts';

export function queuesSuite(name: string, open: OpenStore<Queues>): void {
  describe(`Store queues: ${name}`, () => {
    const store = suiteStore(open);
    const { takeAll } = queueFixtures(store);

    test('enqueue then claim: due items only, lease set, not claimable again until the lease expires', async () => {
      await takeAll('fsck');
      const now = 10_000_000;
      await store.enqueue('fsck', 101, { now });
      await store.enqueue('fsck', 102, { now, delayMs: 5000, devids: [3, 1] });
      assert.equal(await store.queueDepth('fsck'), 2);
      const got = await store.claim('fsck', 'w1', { limit: 10, leaseMs: 1000, now: now + 1 });
      assert.deepEqual(got, [{ queue: 'fsck', fid: 101, devids: [], failcount: 0, nextTry: now, leaseOwner: 'w1', leaseUntil: now + 1001 }]);
      assert.deepEqual(await store.claim('fsck', 'w2', { limit: 10, leaseMs: 1000, now: now + 500 }), []);
      const later = await store.claim('fsck', 'w2', { limit: 10, leaseMs: 1000, now: now + 5000 });
      assert.deepEqual(later.map((i) => [i.fid, i.leaseOwner, i.devids]), [[101, 'w2', []], [102, 'w2', [1, 3]]]);
      assert.equal(await store.complete('fsck', 101, 'w1'), false, 'w1 lost its lease to w2');
      assert.equal(await store.complete('fsck', 101, 'w2'), true);
      assert.equal(await store.complete('fsck', 101, 'w2'), false);
      assert.equal(await store.queueDepth('fsck'), 1);
      await takeAll('fsck');
      assert.equal(await store.queueDepth('fsck'), 0);
    });

    test('claim honours the limit and takes the earliest first', async () => {
      await takeAll('fsck');
      const now = 20_000_000;
      for (const [fid, delay] of [[201, 30], [202, 10], [203, 20], [204, 0]] as const) await store.enqueue('fsck', fid, { now, delayMs: delay });
      const first = await store.claim('fsck', 'w', { limit: 2, leaseMs: 60_000, now: now + 100 });
      assert.deepEqual(first.map((i) => i.fid), [204, 202]);
      const rest = await store.claim('fsck', 'w', { limit: 10, leaseMs: 60_000, now: now + 100 });
      assert.deepEqual(rest.map((i) => i.fid), [203, 201]);
      await takeAll('fsck');
    });

    test('enqueue of a queued item keeps its failcount, takes the earlier nextTry and merges devids', async () => {
      await takeAll('replicate');
      const now = 30_000_000;
      await store.enqueue('replicate', 301, { now, delayMs: 10_000, devids: [5] });
      const [item] = await store.claim('replicate', 'w', { limit: 1, leaseMs: 10, now: now + 10_000 });
      assert.ok(item);
      assert.equal(await store.retry('replicate', 301, 'w', { delayMs: 50_000, now: now + 10_000 }), true);
      await store.enqueue('replicate', 301, { now, delayMs: 20_000, devids: [2, 5] });
      await store.enqueue('replicate', 301, { now, delayMs: 90_000 });
      const [again] = await store.claim('replicate', 'w', { limit: 5, leaseMs: 10, now: now + 20_000 });
      assert.deepEqual([again?.fid, again?.failcount, again?.nextTry, again?.devids], [301, 1, now + 20_000, [2, 5]]);
      assert.equal(await store.queueDepth('replicate'), 1);
      await takeAll('replicate');
    });

    test('retry releases the lease, counts the failure and postpones; only the lease owner may retry or complete', async () => {
      await takeAll('delete');
      const now = 40_000_000;
      await store.enqueue('delete', 401, { now, devids: [1] });
      await store.claim('delete', 'owner', { limit: 1, leaseMs: 60_000, now });
      assert.equal(await store.retry('delete', 401, 'someone-else', { delayMs: 1, now }), false);
      assert.equal(await store.retry('delete', 401, 'owner', { delayMs: 15_000, now: now + 5 }), true);
      assert.equal(await store.retry('delete', 401, 'owner', { delayMs: 15_000, now: now + 5 }), false, 'no longer leased');
      assert.deepEqual(await store.claim('delete', 'owner', { limit: 1, leaseMs: 1, now: now + 15_004 }), []);
      const [it] = await store.claim('delete', 'other', { limit: 1, leaseMs: 1, now: now + 15_005 });
      assert.deepEqual([it?.failcount, it?.nextTry, it?.leaseOwner], [1, now + 15_005, 'other']);
      assert.equal(await store.complete('delete', 401, 'owner'), false);
      assert.equal(await store.complete('delete', 401, 'other'), true);
      assert.equal(await store.queueDepth('delete'), 0);
    });

    test('queues are separate; a bad queue name is INVALID_ARGUMENT', async () => {
      await takeAll('fsck');
      await takeAll('delete');
      await store.enqueue('fsck', 501, { now: 1 });
      await store.enqueue('delete', 501, { now: 1 });
      assert.equal(await store.queueDepth('fsck'), 1);
      assert.equal(await store.queueDepth('delete'), 1);
      assert.deepEqual((await takeAll('fsck')).map((i) => i.queue), ['fsck']);
      assert.equal(await store.queueDepth('delete'), 1);
      await takeAll('delete');
      await expectCode(store.enqueue('nope' as QueueName, 1), ErrorCodes.INVALID_ARGUMENT);
      await expectCode(store.claim('nope' as QueueName, 'w', { limit: 1, leaseMs: 1, now: 1 }), ErrorCodes.INVALID_ARGUMENT);
    });

    test('concurrent claimers in one process never share an item', async () => {
      await takeAll('fsck');
      const now = 60_000_000;
      for (let i = 0; i < 60; i++) await store.enqueue('fsck', 6000 + i, { now });
      const owners = ['a', 'b', 'c', 'd'];
      const batches = await Promise.all(owners.map((o) => store.claim('fsck', o, { limit: 20, leaseMs: 60_000, now })));
      const fids = batches.flat().map((i) => i.fid);
      assert.equal(new Set(fids).size, fids.length, 'an item was leased twice');
      const rest = await store.claim('fsck', 'e', { limit: 100, leaseMs: 60_000, now });
      assert.equal(fids.length + rest.length, 60);
      await takeAll('fsck');
    });

    test('an item enqueued while leased survives its completion and comes back due', async () => {
      await takeAll('replicate');
      const now = 70_000_000;
      await store.enqueue('replicate', 7001, { now });
      const [held] = await store.claim('replicate', 'worker', { limit: 1, leaseMs: 60_000, now });
      assert.equal(held?.fid, 7001);
      // Someone asks again while the worker is busy with its older look at the fid.
      await store.enqueue('replicate', 7001, { now: now + 10, devids: [4] });
      assert.deepEqual(await store.claim('replicate', 'other', { limit: 1, leaseMs: 60_000, now: now + 20 }), [], 'still leased');
      assert.equal(await store.complete('replicate', 7001, 'worker'), true);
      assert.equal(await store.queueDepth('replicate'), 1, 'the new request was kept');
      const [again] = await store.claim('replicate', 'other', { limit: 1, leaseMs: 60_000, now: now + 30 });
      assert.deepEqual([again?.fid, again?.failcount, again?.devids, again?.leaseOwner], [7001, 0, [4], 'other']);
      // Claimed afresh, it completes (and goes) normally.
      assert.equal(await store.complete('replicate', 7001, 'other'), true);
      assert.equal(await store.queueDepth('replicate'), 0);
      // A retry of a requeued item keeps it too (as retries always do), and the flag is spent.
      await store.enqueue('replicate', 7002, { now });
      await store.claim('replicate', 'w', { limit: 1, leaseMs: 60_000, now });
      await store.enqueue('replicate', 7002, { now });
      assert.equal(await store.retry('replicate', 7002, 'w', { delayMs: 5, now }), true);
      const [r] = await store.claim('replicate', 'w', { limit: 1, leaseMs: 60_000, now: now + 5 });
      assert.equal(r?.failcount, 1);
      assert.equal(await store.complete('replicate', 7002, 'w'), true);
      assert.equal(await store.queueDepth('replicate'), 0);
    });

    test('enqueueMany queues each fid once, merging into items already there', async () => {
      await takeAll('fsck');
      const now = 71_000_000;
      await store.enqueue('fsck', 7103, { now, delayMs: 50_000, devids: [9] });
      await store.enqueueMany('fsck', [7101, 7102, 7103, 7102], { now });
      assert.equal(await store.queueDepth('fsck'), 3);
      const got = await store.claim('fsck', 'w', { limit: 10, leaseMs: 1000, now });
      assert.deepEqual(got.map((i) => [i.fid, i.nextTry, i.devids]), [[7101, now, []], [7102, now, []], [7103, now, [9]]]);
      await store.enqueueMany('fsck', []);
      await expectCode(store.enqueueMany('fsck', Array.from({ length: 1001 }, (_, i) => i + 1)), ErrorCodes.INVALID_ARGUMENT);
      await takeAll('fsck');
    });
  });
}
