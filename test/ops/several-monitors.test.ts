// database-ha.md tells operators to run the device monitor in every jobs process, so that it
// (and auto-dead with it) is no single point of failure. This checks that several monitors are
// safe together, on MariaDB, each "process" with its own store connection pool and its own
// storage client, against real storage-node processes:
// - their observations are idempotent writes: while they agree, observed_since stays put and
//   observed_at moves on;
// - when one stops, the others keep every device observed, and a lost device is still marked
//   dead once and its files re-replicated;
// - auto-dead is decided from the recorded observations (observed_since to observed_at), so
//   with no monitor running, an old "unreachable" never makes a device dead.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sweepDeadDevices } from '../../src/jobs/dead-devices.ts';
import { startJobs, type JobsHandle } from '../../src/jobs/index.ts';
import { startMonitor } from '../../src/jobs/monitor.ts';
import { silentLog } from '../../src/jobs/runner.ts';
import { StorageClient } from '../../src/storage/client.ts';
import { openStore } from '../../src/tracker/open.ts';
import type { Store } from '../../src/tracker/types.ts';
import { JOBS_TEST_CLUSTER, useCluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';

/** One jobs process as `mogftp jobs` runs it: its own pool, its own client, the monitor on. */
interface JobsProcess {
  store: Store;
  client: StorageClient;
  jobs: JobsHandle;
  stop(): Promise<void>;
}

describe('several jobs processes, each with its device monitor', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, db: 'mysql', nodes: 3, mindevcount: 2 });
  const procs: JobsProcess[] = [];

  async function jobsProcess(autoDeadAfterMs: number): Promise<JobsProcess> {
    const store = await openStore(c.dbUrl);
    const client = new StorageClient({ connectTimeoutMs: 1000 });
    const jobs = startJobs(store, {
      client,
      monitor: true,
      monitorIntervalMs: 100,
      autoDeadAfterMs,
      deadSweepIntervalMs: 100,
      pollMs: 25,
      backoffScale: 0.0005,
      reaperIntervalMs: 60_000,
      drainSweepIntervalMs: 60_000,
      fsckFeedIntervalMs: 60_000,
    });
    let stopped = false;
    const p: JobsProcess = {
      store,
      client,
      jobs,
      async stop() {
        if (stopped) return;
        stopped = true;
        await jobs.stop();
        client.close();
        await store.close();
      },
    };
    procs.push(p);
    return p;
  }
  c.onStop(async () => {
    for (const p of procs) await p.stop();
  });

  test('three monitors at once: agreeing observations leave observed_since alone and move observed_at on', async () => {
    for (let i = 0; i < 3; i++) await jobsProcess(1500);
    await waitFor('every device observed writeable', async () => (await c.store.listDevices()).every((d) => d.observed === 'writeable'));
    const first = new Map((await c.store.listDevices()).map((d) => [d.id, d]));
    await waitFor('observed_at moves on', async () => (await c.store.listDevices()).every((d) => d.observedAt! > first.get(d.id)!.observedAt! + 500));
    for (const d of await c.store.listDevices()) {
      assert.equal(d.observed, 'writeable');
      assert.equal(d.observedSince, first.get(d.id)!.observedSince, `dev${d.id}: observed_since kept while every monitor agrees`);
    }
  });

  test('one monitor stops: the others keep observing, and a lost device is marked dead and its files re-replicated', async () => {
    const [n1, n2, n3] = c.nodes;
    const bytes = randomBytes(20_000);
    const { fid } = await c.putFile(bytes, [n1!.devid, n2!.devid]);
    await procs[0]!.stop();
    const before = new Map((await c.store.listDevices()).map((d) => [d.id, d.observedAt!]));
    await waitFor('the remaining monitors observe every device', async () => (await c.store.listDevices()).every((d) => d.observedAt! > before.get(d.id)! + 300));

    const killedAt = Date.now();
    await n2!.kill();
    await waitFor('the lost device is marked dead', async () => (await c.store.getDevice(n2!.devid))!.status === 'dead');
    // It cannot have been seen unreachable before it went: dead no sooner than --auto-dead-after.
    assert.ok(Date.now() - killedAt >= 1500, `marked dead ${Date.now() - killedAt} ms after the node went`);
    await waitFor('its file is back at two copies', async () => {
      const on = (await c.store.replicasOf(fid)).sort((a, b) => a - b);
      return on.join() === [n1!.devid, n3!.devid].sort((a, b) => a - b).join() || `on ${on}`;
    });
    assert.ok((await c.onDisk(n3!.devid, fid))?.equals(bytes));
    await waitFor('the replicate queue empties', async () => (await c.store.queueDepth('replicate')) === 0);
    for (const d of await c.store.listDevices()) if (d.id !== n2!.devid) assert.equal(d.status, 'alive', `dev${d.id} stays alive`);
  });

  test('with no monitor running, an old "unreachable" does not make a device dead; observed long enough, it does', async () => {
    for (const p of procs) await p.stop();
    const n3 = c.nodes[2]!;
    await n3.kill();
    const ctx = { store: c.store, client: c.client, log: silentLog };
    // A monitor sees it unreachable (a round or two); then no monitor runs at all.
    const AFTER_MS = 2000;
    const once = startMonitor(c.store, { client: c.client, intervalMs: 60_000, requestTimeoutMs: 500, log: () => {} });
    try {
      await waitFor('the monitor sees it unreachable', async () => (await c.store.getDevice(n3.devid))!.observed === 'unreachable');
    } finally {
      await once.stop();
    }
    const seen = (await c.store.getDevice(n3.devid))!;
    assert.ok(seen.observedAt! - seen.observedSince! < AFTER_MS, 'seen unreachable for less than --auto-dead-after');
    await waitFor('the first observation is older than --auto-dead-after', async () => Date.now() - seen.observedSince! > AFTER_MS + 500);
    assert.deepEqual((await sweepDeadDevices(ctx, { autoDeadAfterMs: AFTER_MS })).markedDead, [], 'not marked dead on old news');
    assert.equal((await c.store.getDevice(n3.devid))!.status, 'alive');

    // A monitor again: once it has seen the device unreachable for AFTER_MS, the sweep marks it dead.
    const watching = startMonitor(c.store, { client: c.client, intervalMs: 100, requestTimeoutMs: 500, log: () => {} });
    try {
      await waitFor('observed unreachable for --auto-dead-after', async () => {
        const d = (await c.store.getDevice(n3.devid))!;
        return d.observedAt! - d.observedSince! >= AFTER_MS;
      });
    } finally {
      await watching.stop();
    }
    assert.deepEqual((await sweepDeadDevices(ctx, { autoDeadAfterMs: AFTER_MS })).markedDead, [n3.devid]);
  });
});
