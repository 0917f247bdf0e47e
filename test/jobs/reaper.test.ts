// The reaper: stale reservations are aborted and their partial bytes deleted.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { reapStaleReservations, DEFAULT_RESERVATION_TIMEOUT_MS } from '../../src/jobs/reaper.ts';
import { silentLog } from '../../src/jobs/runner.ts';
import { JOBS_TEST_CLUSTER, useCluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';

describe('reaper', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 2, mindevcount: 2 });
  let d1: number, d2: number;
  before(async () => {
    [d1, d2] = c.nodes.map((n) => n.devid) as [number, number];
  });

  test('the default timeout spares uploads of many hours', () => {
    assert.ok(DEFAULT_RESERVATION_TIMEOUT_MS >= 12 * 3600_000);
  });

  test('a stale reservation with partial bytes on a node loses both; a fresh one is kept', async () => {
    const dayAgo = Date.now() - DEFAULT_RESERVATION_TIMEOUT_MS - 60_000;
    const stale = await c.store.reserveUpload({ domainId: c.domainId, classId: c.cls.id, devids: [d1, d2], now: dayAgo });
    await c.client.put(c.replicaUrl(d1, stale.fid), randomBytes(5000)); // the part that arrived before the uploader died
    const fresh = await c.store.reserveUpload({ domainId: c.domainId, classId: c.cls.id, devids: [d1, d2], now: Date.now() - 3600_000 });
    const freshBytes = randomBytes(5000);
    await c.client.put(c.replicaUrl(d2, fresh.fid), freshBytes);

    const jobs = c.startJobs();
    await waitFor('stale reservation reaped and its bytes deleted', async () =>
      (await c.store.getReservation(stale.fid)) === null && (await c.onDisk(d1, stale.fid)) === null && (await c.store.queueDepth('delete')) === 0,
    );
    await jobs.stop();
    assert.ok(await c.store.getReservation(fresh.fid), 'an hour-old upload may still be streaming');
    assert.ok((await c.onDisk(d2, fresh.fid))?.equals(freshBytes));
  });

  test('a shorter timeout reaps younger reservations; reaping twice is harmless', async () => {
    const r = await c.store.reserveUpload({ domainId: c.domainId, classId: c.cls.id, devids: [d1], now: Date.now() - 10_000 });
    const ctx = { store: c.store, client: c.client, log: silentLog };
    assert.equal(await reapStaleReservations(ctx, { timeoutMs: 2 * 3600_000 }), 0, 'nothing two hours old');
    assert.ok((await reapStaleReservations(ctx, { timeoutMs: 5_000 })) >= 1);
    assert.equal(await c.store.getReservation(r.fid), null);
    assert.equal(await reapStaleReservations(ctx, { timeoutMs: 5_000 }), 0);
  });
});
