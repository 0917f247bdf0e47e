// fsck on real nodes (ours and nginx): what it finds in one fid, what it repairs, what it logs;
// then whole runs through the jobs: resumable, shared by several processes, stoppable.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm, truncate } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { fsckFid } from '../../src/jobs/fsck.ts';
import { fsckProgress, readFsckState, startFsck, stopFsck } from '../../src/jobs/fsck-run.ts';
import { silentLog } from '../../src/jobs/runner.ts';
import type { JobEvent } from '../../src/jobs/index.ts';
import { openStore } from '../../src/tracker/open.ts';
import { startJobs } from '../../src/jobs/index.ts';
import { JOBS_TEST_CLUSTER, useCluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';

const codes = (r: { events: { code: string; devid: number | null }[] }) => r.events.map((e) => (e.devid ? `${e.code}:${e.devid}` : e.code));

describe('fsck of one fid', () => {
  // The third node is nginx: fsck must read and judge copies there too.
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 3, mindevcount: 2, nginx: [2] });
  let d1: number, d2: number, d3: number;
  const ctx = () => ({ store: c.store, client: c.client, log: silentLog });
  before(async () => {
    [d1, d2, d3] = c.nodes.map((n) => n.devid) as [number, number, number];
  });

  const drained = async () => {
    const jobs = c.startJobs();
    await waitFor('queues empty', async () => {
      for (const q of ['replicate', 'delete', 'fsck'] as const) if ((await c.store.queueDepth(q)) > 0) return `${q} not empty`;
      return true;
    });
    await jobs.stop();
  };

  /** Every recorded copy has the right bytes, and no node holds a wrong copy of the fid. */
  const intact = async (fid: number, bytes: Buffer, count: number) => {
    const on = await c.store.replicasOf(fid);
    assert.equal(on.length, count, `fid ${fid} on ${on}`);
    for (const d of [d1, d2, d3]) {
      const disk = await c.onDisk(d, fid);
      if (on.includes(d)) assert.ok(disk?.equals(bytes), `good copy on device ${d}`);
      else assert.ok(disk === null || disk.equals(bytes), `no bad bytes left on device ${d}`);
    }
  };

  test('a flipped byte (BSUM) is dropped and replaced from the good copy; all of it logged', async () => {
    const bytes = randomBytes(200_000);
    const { fid } = await c.putFile(bytes, [d1, d2]);
    await c.corrupt(d2, fid);
    const r = await fsckFid(ctx(), fid);
    assert.deepEqual(codes(r), [`BSUM:${d2}`, `GONE:${d2}`, 'POVI', 'REPL']);
    assert.deepEqual(await c.store.replicasOf(fid), [d1], 'the bad copy is no longer served');
    const logged = await c.store.listFsckEvents({ fid, limit: 10 });
    assert.deepEqual(logged.map((e) => e.code), ['BSUM', 'GONE', 'POVI', 'REPL']);
    assert.match(logged[0]!.detail, /sha256 [0-9a-f]{64}, expected [0-9a-f]{64}/);
    await drained();
    await intact(fid, bytes, 2);
    assert.deepEqual(codes(await fsckFid(ctx(), fid)), [], 'clean on a second look');
  });

  test('a bad copy on an nginx node is found as well', async () => {
    const bytes = randomBytes(50_000);
    const { fid } = await c.putFile(bytes, [d1, d3]);
    await c.corrupt(d3, fid);
    assert.deepEqual(codes(await fsckFid(ctx(), fid)), [`BSUM:${d3}`, `GONE:${d3}`, 'POVI', 'REPL']);
    await drained();
    await intact(fid, bytes, 2);
  });

  test('a truncated copy (BLEN) and a vanished copy (MISS)', async () => {
    const bytes = randomBytes(30_000);
    const a = await c.putFile(bytes, [d1, d2]);
    await truncate(c.diskPath(d2, a.fid), 1000);
    assert.deepEqual(codes(await fsckFid(ctx(), a.fid)), [`BLEN:${d2}`, `GONE:${d2}`, 'POVI', 'REPL']);
    const b = await c.putFile(bytes, [d1, d2]);
    await rm(c.diskPath(d1, b.fid));
    const r = await fsckFid(ctx(), b.fid);
    assert.deepEqual(codes(r), [`MISS:${d1}`, `GONE:${d1}`, 'POVI', 'REPL']);
    assert.match(r.events[0]!.detail, /not on its node/);
    await drained();
    await intact(a.fid, bytes, 2);
    await intact(b.fid, bytes, 2);
  });

  test('no intact copy anywhere (NOPA): nothing is dropped, the damaged copies stay', async () => {
    const bytes = randomBytes(10_000);
    const { fid } = await c.putFile(bytes, [d1, d2]);
    await c.corrupt(d1, fid);
    await c.corrupt(d2, fid);
    const damaged = [await c.onDisk(d1, fid), await c.onDisk(d2, fid)];
    const r = await fsckFid(ctx(), fid);
    assert.deepEqual(codes(r), [`BSUM:${d1}`, `BSUM:${d2}`, 'SRCH', 'NOPA']);
    assert.match(r.events.at(-1)!.detail, /2 damaged copies are left in place/);
    assert.deepEqual(await c.store.replicasOf(fid), [d1, d2]);
    assert.deepEqual([await c.onDisk(d1, fid), await c.onDisk(d2, fid)], damaged);
    assert.equal(await c.store.queueDepth('replicate'), 0, 'nothing to replicate from');
  });

  test('a lost record: the search finds the unrecorded intact copy (SRCH, FOND)', async () => {
    const bytes = randomBytes(20_000);
    const { fid } = await c.putFile(bytes, [d1]);
    await c.client.put(c.replicaUrl(d3, fid), bytes); // a copy nobody recorded
    await rm(c.diskPath(d1, fid));
    const r = await fsckFid(ctx(), fid);
    assert.deepEqual(codes(r), [`MISS:${d1}`, 'SRCH', `FOND:${d3}`, `GONE:${d1}`, 'POVI', 'REPL']);
    assert.deepEqual(await c.store.replicasOf(fid), [d3]);
    await drained();
    await intact(fid, bytes, 2);
  });

  test('a wrong devcount (BCNT) is corrected; too few copies (POVI) queue replication', async () => {
    const bytes = randomBytes(5000);
    const { fid } = await c.putFile(bytes, [d1, d2]);
    const db = new Database(c.dbUrl.replace(/^sqlite:/, ''));
    db.prepare('UPDATE files SET devcount = 7 WHERE fid = ?').run(fid);
    db.close();
    assert.deepEqual(codes(await fsckFid(ctx(), fid)), ['BCNT']);
    assert.equal((await c.store.getFile(fid))!.devcount, 2);

    const one = await c.putFile(bytes, [d2]);
    // Queued at commit; take it off so that fsck must queue it on its own.
    const [item] = await c.store.claim('replicate', 'test', { limit: 1, leaseMs: 60_000, now: Date.now() });
    assert.equal(item?.fid, one.fid);
    await c.store.complete('replicate', one.fid, 'test');
    const r = await fsckFid(ctx(), one.fid);
    assert.deepEqual(codes(r), ['POVI', 'REPL']);
    assert.match(r.events[0]!.detail, /1 counted copy on 1 host\(s\); class two wants 2/);
    assert.equal(await c.store.queueDepth('replicate'), 1);
    await drained();
    await intact(one.fid, bytes, 2);
  });

  test('a fid deleted since it was queued is skipped', async () => {
    const { fid, entryId } = await c.putFile(randomBytes(100), [d1, d2]);
    await c.store.removeFile(entryId);
    const r = await fsckFid(ctx(), fid);
    assert.equal(r.exists, false);
    assert.deepEqual(r.events, []);
    await drained();
  });
});

describe('fsck runs', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 3, mindevcount: 2 });
  const files = new Map<number, Buffer>();
  before(async () => {
    const [d1, d2, d3] = c.nodes.map((n) => n.devid) as [number, number, number];
    for (const [fid, bytes] of await c.putSpread(60, (i) => 2000 + i * 37, [[d1, d2], [d2, d3], [d1, d3]])) files.set(fid, bytes);
  });

  const checkedPerFid = (events: JobEvent[]) => {
    const m = new Map<number, number>();
    for (const e of events) if (e.type === 'fsck-checked') m.set(e.fid, (m.get(e.fid) ?? 0) + 1);
    return m;
  };

  test('a run checks every fid once, repairs what it finds, and finishes', async () => {
    const fids = [...files.keys()];
    const bad = [fids[5]!, fids[33]!];
    for (const fid of bad) await c.corrupt((await c.store.replicasOf(fid))[0]!, fid);
    const { state } = await startFsck(c.store);
    assert.equal(state.status, 'running');
    assert.equal(state.total, 60);
    const events: JobEvent[] = [];
    const jobs = c.startJobs({ fsckPageSize: 7, onEvent: (e) => events.push(e) });
    await waitFor('run finished', async () => (await readFsckState(c.store)).state?.status === 'finished' || 'running');
    await waitFor('repairs done', async () => (await c.store.queueDepth('replicate')) + (await c.store.queueDepth('delete')) === 0);
    await jobs.stop();
    const per = checkedPerFid(events);
    assert.equal(per.size, 60);
    for (const [fid, n] of per) assert.equal(n, 1, `fid ${fid} checked ${n} times`);
    const p = await fsckProgress(c.store);
    assert.deepEqual([p.state?.queued, p.checked, p.queueDepth], [60, 60, 0]);
    assert.equal(p.findings.BSUM, 2);
    assert.equal(p.findings.REPL, 2);
    for (const fid of bad) {
      const on = await c.store.replicasOf(fid);
      assert.equal(on.length, 2);
      for (const d of on) assert.ok((await c.onDisk(d, fid))?.equals(files.get(fid)!));
    }
  });

  test('stopped and restarted (new processes), a run resumes where it was', async () => {
    const { state } = await startFsck(c.store);
    assert.equal(state.cursor, 0, 'a finished run is followed by a fresh one');
    const firstJobs = c.startJobs({ fsckPageSize: 5, fsckWindow: 10 });
    await waitFor('some progress', async () => ((await readFsckState(c.store)).state?.cursor ?? 0) > 0);
    await firstJobs.stop();
    const stopped = await stopFsck(c.store);
    assert.equal(stopped?.status, 'stopped');
    const cursor = stopped!.cursor;
    assert.ok(cursor > 0 && cursor < Math.max(...files.keys()), `cursor ${cursor}`);
    const again = await startFsck(c.store);
    assert.equal(again.resumed, true);
    assert.equal(again.state.cursor, cursor);

    const events: JobEvent[] = [];
    const second = c.startJobs({ fsckPageSize: 5, fsckWindow: 10, onEvent: (e) => events.push(e) });
    await waitFor('run finished', async () => (await readFsckState(c.store)).state?.status === 'finished' || 'running');
    await second.stop();
    const per = checkedPerFid(events);
    // Only the fids after the cursor (and those still queued at the stop) were fed again.
    for (const fid of files.keys()) if (fid > cursor) assert.equal(per.get(fid), 1, `fid ${fid} after the cursor`);
    assert.equal((await readFsckState(c.store)).state?.queued, 60, 'no fid was queued twice by the run');
  });

  test('stop: nothing more is fed', async () => {
    await startFsck(c.store, { fresh: true });
    await stopFsck(c.store);
    const jobs = c.startJobs({ fsckPageSize: 5 });
    await new Promise((r) => setTimeout(r, 500));
    await jobs.stop();
    const { state } = await readFsckState(c.store);
    assert.deepEqual([state?.status, state?.cursor, state?.queued], ['stopped', 0, 0]);
    assert.equal(await c.store.queueDepth('fsck'), 0);
  });
});

describe('fsck run shared by two processes on MariaDB', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, db: 'mysql', nodes: 3, mindevcount: 2 });

  test('every fid checked exactly once', async () => {
    const [d1, d2] = c.nodes.map((n) => n.devid) as [number, number];
    const fids: number[] = [];
    for (let i = 0; i < 80; i++) fids.push((await c.putFile(randomBytes(500 + i), [d1, d2])).fid);
    await startFsck(c.store);
    const other = await openStore(c.dbUrl);
    const checks = new Map<number, number>();
    const onEvent = (e: JobEvent) => {
      if (e.type === 'fsck-checked') checks.set(e.fid, (checks.get(e.fid) ?? 0) + 1);
    };
    const common = { client: c.client, monitor: false, pollMs: 20, fsckFeedIntervalMs: 50, fsckPageSize: 9, onEvent, log: silentLog };
    const a = startJobs(c.store, { ...common, owner: 'proc-a' });
    const b = startJobs(other, { ...common, owner: 'proc-b' });
    try {
      await waitFor('run finished', async () => (await readFsckState(c.store)).state?.status === 'finished' || 'running', 30_000);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await other.close();
    }
    assert.equal(checks.size, 80);
    for (const [fid, n] of checks) assert.equal(n, 1, `fid ${fid} checked ${n} times`);
    assert.equal((await readFsckState(c.store)).state?.queued, 80);
  });
});
