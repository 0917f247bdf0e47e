// A device lost for good: its files are copied again from the surviving replicas.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sweepDeadDevices } from '../../src/jobs/dead-devices.ts';
import { silentLog } from '../../src/jobs/runner.ts';
import { JOBS_TEST_CLUSTER, useCluster, type ClusterNode } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';

describe('dead devices', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 3, mindevcount: 2 });
  let d1: number, d2: number, d3: number;
  before(async () => {
    [d1, d2, d3] = c.nodes.map((n) => n.devid) as [number, number, number];
  });

  test('a killed node marked dead: all 50 files back at 2 copies on the live hosts', async () => {
    const files = await c.putSpread(50, (i) => 1000 + i * 500, [[d1, d2], [d1, d3], [d2, d3]]);
    await c.node(d3).kill();
    await c.store.updateDevice(d3, { status: 'dead' });

    const started = Date.now();
    const jobs = c.startJobs();
    await waitFor(
      'every file on d1 and d2, queue empty',
      async () => {
        for (const fid of files.keys()) {
          const on = (await c.store.replicasOf(fid)).sort((a, b) => a - b);
          if (on.length !== 2 || on[0] !== Math.min(d1, d2) || on[1] !== Math.max(d1, d2)) return `fid ${fid} on ${on}`;
        }
        return (await c.store.queueDepth('replicate')) === 0 || 'replicate queue not empty';
      },
      20_000,
    );
    await jobs.stop();
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 20_000, `recovered in ${elapsed} ms`);
    assert.deepEqual(await c.store.fidsOnDevice(d3, 0, 100), []);
    for (const [fid, bytes] of files) {
      assert.ok((await c.onDisk(d1, fid))?.equals(bytes), `fid ${fid} on d1`);
      assert.ok((await c.onDisk(d2, fid))?.equals(bytes), `fid ${fid} on d2`);
      assert.equal((await c.store.getFile(fid))!.devcount, 2);
    }
    // Sweeping again finds nothing to do (idempotent).
    const again = await sweepDeadDevices({ store: c.store, client: c.client, log: silentLog });
    assert.equal(again.requeued, 0);
  });

  test('two sweeps at once queue each fid once and leave no record behind', async () => {
    // A second device on host 1's node, holding the other copy of 30 files.
    const extra = { id: await c.addDevice(c.node(d1)) };
    const fids: number[] = [];
    for (let i = 0; i < 30; i++) fids.push((await c.putFile(randomBytes(100), [d2, extra.id])).fid);
    assert.equal(await c.store.queueDepth('replicate'), 0, 'fully replicated at commit');
    await c.store.updateDevice(extra.id, { status: 'dead' });
    const ctx = { store: c.store, client: c.client, log: silentLog };
    const [a, b] = await Promise.all([sweepDeadDevices(ctx, { pageSize: 7 }), sweepDeadDevices(ctx, { pageSize: 7 })]);
    assert.ok(a.requeued + b.requeued >= 30, `requeued ${a.requeued} + ${b.requeued}`);
    assert.deepEqual(await c.store.fidsOnDevice(extra.id, 0, 100), []);
    assert.equal(await c.store.queueDepth('replicate'), 30, 'each fid queued once');
    for (const fid of fids) assert.deepEqual(await c.store.replicasOf(fid), [d2]);
  });

});

describe('auto-dead', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 3, mindevcount: 2 });

  test('a device the monitor sees unreachable long enough is marked dead and its files re-replicated', async () => {
    const [n1, n2, n3] = c.nodes as [ClusterNode, ClusterNode, ClusterNode];
    const bytes = randomBytes(5000);
    const { fid } = await c.putFile(bytes, [n1.devid, n2.devid]);
    await n2.kill();
    const ctx = { store: c.store, client: c.client, log: silentLog };

    // Without the option nothing is ever marked dead, however long the device stays away.
    const watching = c.startJobs({ monitor: true, monitorIntervalMs: 100 });
    await waitFor('monitor sees the device unreachable', async () => (await c.store.getDevice(n2.devid))!.observed === 'unreachable');
    await watching.stop();
    assert.deepEqual((await sweepDeadDevices(ctx)).markedDead, []);
    assert.deepEqual((await sweepDeadDevices(ctx, { autoDeadAfterMs: 3600_000 })).markedDead, [], 'not unreachable long enough');
    assert.equal((await c.store.getDevice(n2.devid))!.status, 'alive');

    const jobs = c.startJobs({ monitor: true, monitorIntervalMs: 100, autoDeadAfterMs: 300 });
    await waitFor('re-replicated to the third host', async () => {
      const on = (await c.store.replicasOf(fid)).sort((a, b) => a - b);
      return on.join() === [n1.devid, n3.devid].sort((a, b) => a - b).join() || `on ${on}`;
    });
    await jobs.stop();
    assert.equal((await c.store.getDevice(n2.devid))!.status, 'dead');
    assert.ok((await c.onDisk(n3.devid, fid))?.equals(bytes));
  });
});
