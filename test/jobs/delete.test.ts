// The delete job against a real store and real node processes.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deleteFid } from '../../src/jobs/delete.ts';
import { silentLog } from '../../src/jobs/runner.ts';
import { JOBS_TEST_CLUSTER, useCluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';

describe('delete job', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 3, mindevcount: 2 });
  let d1: number, d2: number, d3: number;
  before(async () => {
    [d1, d2, d3] = c.nodes.map((n) => n.devid) as [number, number, number];
  });

  const gone = async (fid: number, devids: number[]) => {
    for (const d of devids) if ((await c.onDisk(d, fid)) !== null) return `still on device ${d}`;
    return true;
  };

  test('a removed file’s copies vanish from the nodes and from the records', async () => {
    const { fid, entryId } = await c.putFile(randomBytes(50_000), [d1, d2]);
    assert.ok(await c.onDisk(d1, fid));
    await c.store.removeFile(entryId);
    const jobs = c.startJobs();
    await waitFor('copies deleted', async () => (await c.store.queueDepth('delete')) === 0 && gone(fid, [d1, d2]));
    await jobs.stop();
    assert.deepEqual(await c.store.replicasOf(fid), []);
  });

  test('overwriting a file deletes the old version’s copies and keeps the new one', async () => {
    const first = await c.putFile(randomBytes(20_000), [d1, d3], { name: 'report.txt' });
    const newBytes = randomBytes(30_000);
    const second = await c.putFile(newBytes, [d2, d3], { name: 'report.txt' });
    assert.equal(second.replacedFid, first.fid);
    const jobs = c.startJobs();
    await waitFor('old copies deleted', async () => (await c.store.queueDepth('delete')) === 0 && gone(first.fid, [d1, d3]));
    await jobs.stop();
    assert.ok((await c.onDisk(d2, second.fid))?.equals(newBytes));
    assert.ok((await c.onDisk(d3, second.fid))?.equals(newBytes));
    assert.deepEqual((await c.store.replicasOf(second.fid)).sort(), [d2, d3].sort());
  });

  test('for a live fid only leftovers without a replica record are deleted', async () => {
    const bytes = randomBytes(10_000);
    const { fid } = await c.putFile(bytes, [d1, d2]);
    // A failed upload target left a partial copy on d3; the item also names d2, a real replica.
    await c.client.put(c.replicaUrl(d3, fid), bytes.subarray(0, 4000));
    await c.store.enqueue('delete', fid, { devids: [d2, d3], now: Date.now() });
    const r = await deleteFid({ store: c.store, client: c.client, log: silentLog }, { fid, devids: [d2, d3] });
    assert.deepEqual(r.deleted, [d3]);
    assert.equal(await c.onDisk(d3, fid), null, 'leftover deleted');
    assert.ok((await c.onDisk(d1, fid))?.equals(bytes), 'replica on d1 untouched');
    assert.ok((await c.onDisk(d2, fid))?.equals(bytes), 'replica on d2 untouched although the item named it');
    assert.deepEqual((await c.store.replicasOf(fid)).sort(), [d1, d2].sort());
    // And through the queue: the item completes without touching the replicas.
    const jobs = c.startJobs();
    await waitFor('queue drained', async () => (await c.store.queueDepth('delete')) === 0);
    await jobs.stop();
    assert.ok((await c.onDisk(d2, fid))?.equals(bytes));
  });

  test('a dead device’s records are dropped without contacting it', async () => {
    const extra = await c.store.createDevice({ hostId: c.node(d3).hostId });
    const { fid, entryId } = await c.putFile(randomBytes(1000), [d1]);
    await c.store.addReplica(fid, extra.id); // a record for a device whose disk is gone
    await c.store.updateDevice(extra.id, { status: 'dead' });
    await c.store.removeFile(entryId);
    await deleteFid({ store: c.store, client: c.client, log: silentLog }, { fid, devids: [] });
    assert.deepEqual(await c.store.replicasOf(fid), []);
    assert.equal(await c.onDisk(d1, fid), null);
  });

  test('with a node down the item waits, and completes once the node is back', async () => {
    const { fid, entryId } = await c.putFile(randomBytes(40_000), [d1, d2]);
    const down = c.node(d2);
    await down.kill();
    await c.store.removeFile(entryId);
    const jobs = c.startJobs();
    await waitFor('copy on the live node deleted', async () => gone(fid, [d1]));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await c.store.queueDepth('delete'), 1, 'the item waits for the down node');
    assert.deepEqual(await c.store.replicasOf(fid), [d2], 'only the unreachable copy is still recorded');
    assert.ok(await c.onDisk(d2, fid), 'the down node still holds its copy');
    await down.restart();
    await waitFor('copy on the restarted node deleted', async () => (await c.store.queueDepth('delete')) === 0 && gone(fid, [d2]), 20_000);
    await jobs.stop();
    assert.deepEqual(await c.store.replicasOf(fid), []);
  });
});
