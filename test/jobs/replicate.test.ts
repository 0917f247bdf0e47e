// The replicate job against a real store and real node processes.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm, truncate } from 'node:fs/promises';
import type { JobEvent } from '../../src/jobs/index.ts';
import { replicateFid } from '../../src/jobs/replicate.ts';
import { silentLog } from '../../src/jobs/runner.ts';
import { JOBS_TEST_CLUSTER, useCluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';

describe('replicate job', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 3, mindevcount: 2 });
  let d1: number, d2: number, d3: number;
  before(async () => {
    [d1, d2, d3] = c.nodes.map((n) => n.devid) as [number, number, number];
  });

  const sorted = async (fid: number) => (await c.store.replicasOf(fid)).sort((a, b) => a - b);

  test('a file committed with one copy gets a second on another host, byte for byte', async () => {
    const bytes = randomBytes(700 * 1024 + 13);
    const { fid } = await c.putFile(bytes, [d2]);
    assert.equal(await c.store.queueDepth('replicate'), 1, 'commit queued the replication');
    const jobs = c.startJobs();
    await waitFor('2 copies', async () => (await c.store.replicasOf(fid)).length === 2 && (await c.store.queueDepth('replicate')) === 0);
    await jobs.stop();
    const on = await c.store.replicasOf(fid);
    const devices = await c.store.listDevices();
    const hosts = new Set(on.map((d) => devices.find((x) => x.id === d)!.hostId));
    assert.equal(hosts.size, 2, 'copies on distinct hosts');
    for (const devid of on) assert.ok((await c.onDisk(devid, fid))?.equals(bytes), `bytes on device ${devid}`);
    assert.equal((await c.store.getFile(fid))!.devcount, 2);
  });

  test('a corrupt, truncated or missing source is never copied; a good one is used and fsck is queued', async () => {
    const three = await c.store.createClass(c.domainId, 'three', { mindevcount: 3, writeQuorum: 1 });
    const bytes = randomBytes(300 * 1024);
    const corrupt = await c.putFile(bytes, [d1, d2], { cls: three });
    const truncated = await c.putFile(bytes, [d1, d2], { cls: three });
    const missing = await c.putFile(bytes, [d1, d2], { cls: three });
    // Sources are tried in devid order among equally good devices, so d1's bad copy comes first.
    await c.corrupt(d1, corrupt.fid);
    await truncate(c.diskPath(d1, truncated.fid), 1000);
    await rm(c.diskPath(d1, missing.fid));

    const events: JobEvent[] = [];
    const jobs = c.startJobs({ onEvent: (e) => events.push(e) });
    // Replication copies around the bad source and queues fsck, which then replaces d1's copy.
    await waitFor('3 good copies each, queues empty', async () => {
      for (const f of [corrupt, truncated, missing]) {
        if ((await c.store.replicasOf(f.fid)).length !== 3) return false;
        if (!(await c.onDisk(d1, f.fid))?.equals(bytes)) return `fid ${f.fid}: d1 not repaired yet`;
      }
      for (const q of ['replicate', 'fsck', 'delete'] as const) if ((await c.store.queueDepth(q)) > 0) return `${q} queue not empty`;
      return true;
    });
    await jobs.stop();
    for (const f of [corrupt, truncated, missing]) {
      assert.deepEqual(await sorted(f.fid), [d1, d2, d3].sort((a, b) => a - b));
      assert.ok((await c.onDisk(d3, f.fid))?.equals(bytes), `fid ${f.fid}: the new copy is the good bytes`);
      assert.ok(events.some((e) => e.type === 'bad-source' && e.fid === f.fid && e.devid === d1), `fid ${f.fid}: bad source reported`);
      assert.ok(events.some((e) => e.type === 'copied' && e.fid === f.fid && e.from === d2 && e.to === d3));
    }
    const found = (fid: number) => events.filter((e) => e.type === 'fsck' && e.fid === fid && e.devid === d1).map((e) => (e as { code: string }).code);
    assert.deepEqual(found(corrupt.fid), ['BSUM', 'GONE'], 'fsck was queued and found the bad copy');
    assert.deepEqual(found(truncated.fid), ['BLEN', 'GONE']);
    assert.deepEqual(found(missing.fid), ['MISS', 'GONE']);
  });

  test('with only a corrupt copy nothing is copied and the item keeps retrying', async () => {
    const bytes = randomBytes(200 * 1024);
    const { fid, entryId } = await c.putFile(bytes, [d1]);
    await c.corrupt(d1, fid);
    const events: JobEvent[] = [];
    const jobs = c.startJobs({ onEvent: (e) => events.push(e) });
    await waitFor('two attempts', async () => events.filter((e) => e.type === 'bad-source' && e.fid === fid).length >= 2);
    await jobs.stop();
    assert.deepEqual(await c.store.replicasOf(fid), [d1]);
    // A copy the job abandoned is written under its final name with the in-progress mode (GET and
    // HEAD treat it as absent) until the node sees the aborted PUT and removes it, which may come
    // just after jobs.stop() returns: no copy may be left, not even a partial one.
    await waitFor('no copy, not even a partial one, on d2 and d3', async () => (await c.onDisk(d2, fid)) === null && (await c.onDisk(d3, fid)) === null);
    assert.equal(await c.store.queueDepth('replicate'), 1, 'still queued');
    assert.ok(!events.some((e) => e.type === 'copied'));
    await c.store.removeFile(entryId); // so later tests see an empty queue once it is processed
  });

  test('lowering mindevcount 3 → 1 removes the surplus copies once the kept one is verified', async () => {
    const cls = await c.store.createClass(c.domainId, 'shrink', { mindevcount: 3, writeQuorum: 3 });
    const bytes = randomBytes(64 * 1024);
    const { fid } = await c.putFile(bytes, [d1, d2, d3], { cls });
    await c.store.updateClass(cls.id, { mindevcount: 1 });
    await c.store.enqueue('replicate', fid, { now: Date.now() });
    const jobs = c.startJobs();
    await waitFor('1 copy', async () => (await c.store.replicasOf(fid)).length === 1 && (await c.store.queueDepth('replicate')) === 0);
    await jobs.stop();
    const [kept] = await c.store.replicasOf(fid);
    assert.ok((await c.onDisk(kept!, fid))?.equals(bytes), 'the kept copy is intact');
    for (const d of [d1, d2, d3].filter((d) => d !== kept)) assert.equal(await c.onDisk(d, fid), null, `surplus copy on ${d} deleted`);
    assert.equal((await c.store.getFile(fid))!.devcount, 1);
  });

  test('surplus copies stay while a copy that should stay is missing on disk', async () => {
    const cls = await c.store.createClass(c.domainId, 'shrink-bad', { mindevcount: 3, writeQuorum: 3 });
    const bytes = randomBytes(32 * 1024);
    const { fid } = await c.putFile(bytes, [d1, d2, d3], { cls });
    // Two of three copies lost on disk: any two the policy keeps include a lost one.
    await rm(c.diskPath(d1, fid));
    await rm(c.diskPath(d2, fid));
    await c.store.updateClass(cls.id, { mindevcount: 2 });
    await c.store.enqueue('replicate', fid, { now: Date.now() });
    const ctx = { store: c.store, client: c.client, log: silentLog };
    const fsckBefore = await c.store.queueDepth('fsck');
    await assert.rejects(replicateFid(ctx, fid), /not removing surplus copies/);
    assert.deepEqual(await sorted(fid), [d1, d2, d3].sort((a, b) => a - b), 'no record removed');
    assert.ok((await c.onDisk(d3, fid))?.equals(bytes), 'the only real copy is untouched');
    assert.equal(await c.store.queueDepth('fsck'), fsckBefore + 1);
  });

  test('a fid deleted before its replication is left alone, its leftovers go to the delete queue', async () => {
    const bytes = randomBytes(10 * 1024);
    const { fid, entryId } = await c.putFile(bytes, [d1]);
    await c.store.removeFile(entryId);
    const ctx = { store: c.store, client: c.client, log: silentLog };
    const r = await replicateFid(ctx, fid);
    assert.deepEqual(r.copied, []);
    assert.equal(await c.onDisk(d2, fid), null);
    assert.equal(await c.onDisk(d3, fid), null);
    if ((await c.store.replicasOf(fid)).length > 0) assert.ok((await c.store.queueDepth('delete')) >= 1);
  });
});

// nginx stores whatever complete body it gets: only our own verification while streaming (and
// holding back the last chunk until it passes) keeps a bad copy off it.
describe('replicate job onto an nginx node', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 3, mindevcount: 2, nginx: [2] });
  let d1: number, d2: number, dx: number;
  before(async () => {
    [d1, d2, dx] = c.nodes.map((n) => n.devid) as [number, number, number];
  });

  test('a corrupt only copy never reaches nginx, not even in part', async () => {
    await c.store.updateDevice(d2, { status: 'readonly' }); // nginx is the only possible target
    const bytes = randomBytes(1024 * 1024 + 7);
    const { fid, entryId } = await c.putFile(bytes, [d1]);
    await c.corrupt(d1, fid);
    const events: JobEvent[] = [];
    const jobs = c.startJobs({ onEvent: (e) => events.push(e) });
    await waitFor('two attempts', async () => events.filter((e) => e.type === 'bad-source').length >= 2);
    await jobs.stop();
    assert.equal(await c.onDisk(dx, fid), null, 'nothing stored on nginx');
    assert.deepEqual(await c.store.replicasOf(fid), [d1]);
    await c.store.removeFile(entryId);
    await c.store.updateDevice(d2, { status: 'alive' });
  });

  test('a good copy lands on nginx byte for byte', async () => {
    await c.store.updateDevice(d2, { status: 'readonly' });
    const bytes = randomBytes(2 * 1024 * 1024 + 3);
    const { fid } = await c.putFile(bytes, [d1]);
    const jobs = c.startJobs();
    await waitFor('2 copies', async () => (await c.store.replicasOf(fid)).length === 2);
    await jobs.stop();
    assert.ok((await c.onDisk(dx, fid))?.equals(bytes));
    await c.store.updateDevice(d2, { status: 'alive' });
  });
});
