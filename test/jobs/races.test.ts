// Interleavings between jobs that timing alone would rarely produce. The store is the real one;
// a Proxy only runs another job's step at the exact moment of the race.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deleteFid } from '../../src/jobs/delete.ts';
import { replicateFid } from '../../src/jobs/replicate.ts';
import { silentLog } from '../../src/jobs/runner.ts';
import type { Store } from '../../src/tracker/types.ts';
import { JOBS_TEST_CLUSTER, useCluster } from '../harness/cluster.ts';

/** The store, with `before(method, args)` run once before the first call of `method`. */
function interleave(store: Store, method: keyof Store, before: (...args: any[]) => Promise<void>, opts: { after?: boolean } = {}): Store {
  let fired = false;
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== method || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: unknown[]) => {
        if (fired) return value.apply(target, args);
        fired = true;
        if (!opts.after) await before(...args);
        const result = await value.apply(target, args);
        if (opts.after) await before(...args);
        return result;
      };
    },
  });
}

describe('job races', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 3, mindevcount: 2 });
  let d1: number, d2: number, d3: number;
  before(async () => {
    [d1, d2, d3] = c.nodes.map((n) => n.devid) as [number, number, number];
  });

  test('a file deleted while its copy was being made: the new copy is deleted too', async () => {
    const { fid, entryId } = await c.putFile(randomBytes(30_000), [d1]);
    // The user deletes the file, and the delete job runs, between our PUT and our addReplica.
    const store = interleave(c.store, 'addReplica', async () => {
      await c.store.removeFile(entryId);
      await deleteFid({ store: c.store, client: c.client, log: silentLog }, { fid, devids: [] });
    });
    const r = await replicateFid({ store, client: c.client, log: silentLog }, fid);
    assert.deepEqual(r.copied, [], 'not reported as a good copy');
    const copies: number[] = [];
    for (const d of [d2, d3]) if ((await c.onDisk(d, fid)) !== null) copies.push(d);
    assert.equal(copies.length, 1, 'the copy had been written');
    // It was handed to the delete queue, naming the device it went to.
    const items = await c.store.claim('delete', 'race-test', { limit: 100, leaseMs: 60_000, now: Date.now() });
    const item = items.find((i) => i.fid === fid);
    assert.ok(item, 'a delete item for the fid');
    assert.ok(item.devids.includes(copies[0]!), `the item names device ${copies[0]}`);
    await deleteFid({ store: c.store, client: c.client, log: silentLog }, item);
    assert.ok(await c.store.complete('delete', fid, 'race-test'));
    for (const d of [d1, d2, d3]) assert.equal(await c.onDisk(d, fid), null, `nothing left on device ${d}`);
    assert.deepEqual(await c.store.replicasOf(fid), []);
  });

  test('a leftover deleted just as replication recorded a fresh copy there: the record is dropped and replication re-queued', async () => {
    const bytes = randomBytes(20_000);
    const { fid } = await c.putFile(bytes, [d1]);
    await c.store.enqueue('replicate', fid, { now: Date.now() }); // (already queued by the commit)
    // d3 holds a fresh, complete copy that the replicate job is about to record.
    await c.client.put(c.replicaUrl(d3, fid), bytes);
    const store = interleave(
      c.store,
      'replicasOf',
      async (f: number) => {
        await c.store.addReplica(f, d3); // ...recorded right after the delete job read the records
      },
      { after: true },
    );
    const r = await deleteFid({ store, client: c.client, log: silentLog }, { fid, devids: [d3] });
    assert.deepEqual(r.deleted, [d3]);
    assert.equal(await c.onDisk(d3, fid), null);
    assert.deepEqual(await c.store.replicasOf(fid), [d1], 'no record of a copy that is gone');
    assert.equal((await c.store.getFile(fid))!.devcount, 1);
    assert.ok((await c.store.queueDepth('replicate')) >= 1, 'replication asked for again');
  });
});
