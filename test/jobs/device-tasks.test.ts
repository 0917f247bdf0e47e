// Device sweeps with two jobs processes (issue 16 item 3): each draining or dead device is swept
// by one of them at a time (a task lease per device), where both used to sweep and queue the same
// device's fids; the other takes a device over when its sweeper stops.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { JobEvent } from '../../src/jobs/index.ts';
import { JOBS_TEST_CLUSTER, useCluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';

describe('device sweeps, two jobs processes', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 3, mindevcount: 2 });

  test('a draining device is swept by one process; the other takes over when it stops', async () => {
    const [d1, d2, d3] = c.nodes.map((n) => n.devid) as [number, number, number];
    await c.putSpread(30, (i) => 2000 + i, [[d1, d3], [d2, d3]]);
    await c.store.updateDevice(d3, { status: 'drain' });
    const logs = { a: [] as string[], b: [] as string[] };
    const drained: Record<'a' | 'b', JobEvent[]> = { a: [], b: [] };
    const start = (who: 'a' | 'b') =>
      c.startJobs({
        owner: `proc-${who}`,
        log: (_l, m) => logs[who].push(m),
        onEvent: (e) => e.type === 'device-drained' && drained[who].push(e),
        orphanSweepIntervalMs: null,
      });
    const a = start('a');
    const b = start('b');
    await waitFor('device 3 drained', async () => (await c.store.fidsOnDevice(d3, 0, 1)).length === 0 && (await c.store.queueDepth('replicate')) === 0, 60_000);
    await waitFor('the drained device reported', async () => drained.a.length + drained.b.length > 0, 10_000);
    const queuedBy = (who: 'a' | 'b') => logs[who].filter((m) => new RegExp(`queued to move off device ${d3}`).test(m)).length;
    const sweepers = (['a', 'b'] as const).filter((w) => queuedBy(w) > 0 || drained[w].length > 0);
    assert.equal(sweepers.length, 1, `one process swept device ${d3}: a queued ${queuedBy('a')}x, b ${queuedBy('b')}x; drained events a ${drained.a.length}, b ${drained.b.length}`);
    // The sweeper stops: the other one takes the device's task over (its lease is freed at once).
    const [holder, other] = sweepers[0] === 'a' ? [a, 'b' as const] : [b, 'a' as const];
    await holder.stop();
    await waitFor('the other process to take the device over', async () => drained[other].length > 0, 10_000);
    await (other === 'a' ? a : b).stop();
  });
});
