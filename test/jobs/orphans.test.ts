// The orphan sweep (issue 16 item 3): copies on node disks that the database does not account
// for (crash leftovers, an aborted upload whose delete never reached the node) are reported by
// `mogftp admin orphans --dry-run` and removed by a real run, once older than the safe age;
// recorded replicas, young files and fids this database never handed out are left alone.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { testStorageKeyFile } from '../harness/nodes.ts';
import { adminCli } from '../harness/admin-cli.ts';
import { JOBS_TEST_CLUSTER, useCluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';

const DAY = 86_400_000;

describe('orphan sweep (mogftp admin orphans)', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 3, mindevcount: 2, auth: true });

  async function plant(devid: number, fid: number, bytes: Buffer, ageMs: number): Promise<string> {
    const path = c.diskPath(devid, fid);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
    const t = new Date(Date.now() - ageMs);
    await utimes(path, t, t);
    return path;
  }

  /** A fid the database handed out and then forgot: reserved, aborted, its delete item lost. */
  async function forgottenFid(): Promise<number> {
    const [d1] = c.nodes.map((n) => n.devid) as [number];
    const r = await c.store.reserveUpload({ domainId: c.domainId, classId: c.cls.id, devids: [d1], now: Date.now() });
    await c.store.abortUpload(r.fid);
    const items = await c.store.claim('delete', 'test-lost-delete', { limit: 1000, leaseMs: 60_000, now: Date.now() });
    for (const i of items) await c.store.complete('delete', i.fid, 'test-lost-delete');
    return r.fid;
  }

  test('dry run reports old orphans (count, bytes, per device); a real run removes them and nothing else', async () => {
    const [d1, d2, d3] = c.nodes.map((n) => n.devid) as [number, number, number];
    // A recorded file, on d1 and d2, old: never touched.
    const keptBytes = randomBytes(40_000);
    const kept = await c.putFile(keptBytes, [d1, d2]);
    for (const d of [d1, d2]) await utimes(c.diskPath(d, kept.fid), new Date(Date.now() - 3 * DAY), new Date(Date.now() - 3 * DAY));
    // Crash leftover: a complete copy of that live file on d3 that was never recorded.
    await plant(d3, kept.fid, keptBytes, 2 * DAY);
    // An aborted upload's bytes whose delete never reached the node.
    const gone = await forgottenFid();
    await plant(d1, gone, randomBytes(10_000), 2 * DAY);
    // The same, but written an hour ago: younger than the safe age.
    const young = await forgottenFid();
    await plant(d2, young, randomBytes(5_000), 3_600_000);
    // A fid above anything this database handed out (another cluster's, or a restored backup's).
    const foreign = young + 1_000_000;
    await plant(d2, foreign, randomBytes(3_000), 5 * DAY);

    const key = testStorageKeyFile();
    const dry = await adminCli(c.dbUrl, ['orphans', '--dry-run', '--json', '--storage-key-file', key]);
    assert.equal(dry.code, 0, dry.stderr);
    const report = JSON.parse(dry.stdout) as {
      dryRun: boolean;
      orphans: number;
      bytes: number;
      removed: number;
      devices: Array<{ devid: number; orphans: number; bytes: number; young: number; foreign: number; sample: number[] }>;
    };
    assert.equal(report.dryRun, true);
    assert.equal(report.orphans, 2);
    assert.equal(report.bytes, 40_000 + 10_000);
    assert.equal(report.removed, 0);
    const byDev = new Map(report.devices.map((d) => [d.devid, d]));
    assert.deepEqual(byDev.get(d3)!.sample, [kept.fid]);
    assert.deepEqual(byDev.get(d1)!.sample, [gone]);
    assert.equal(byDev.get(d2)!.orphans, 0);
    assert.equal(byDev.get(d2)!.foreign, 1);
    assert.ok(byDev.get(d2)!.young >= 1);
    assert.ok(await c.onDisk(d3, kept.fid), 'a dry run removes nothing');
    assert.ok(await c.onDisk(d1, gone));

    const human = await adminCli(c.dbUrl, ['orphans', '--dry-run', '--storage-key-file', key]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /dry run: 2 orphan copies, 50000 bytes/);

    const real = await adminCli(c.dbUrl, ['orphans', '--json', '--storage-key-file', key]);
    assert.equal(real.code, 0, real.stderr);
    const done = JSON.parse(real.stdout) as { removed: number; orphans: number; failed: number };
    assert.equal(done.orphans, 2);
    assert.equal(done.removed, 2);
    assert.equal(done.failed, 0);
    assert.equal(await c.onDisk(d3, kept.fid), null, 'the unrecorded copy is gone');
    assert.equal(await c.onDisk(d1, gone), null, "the forgotten upload's bytes are gone");
    assert.ok((await c.onDisk(d1, kept.fid))?.equals(keptBytes), 'recorded replicas stay');
    assert.ok((await c.onDisk(d2, kept.fid))?.equals(keptBytes));
    assert.deepEqual((await c.store.replicasOf(kept.fid)).sort(), [d1, d2].sort());
    assert.ok(await c.onDisk(d2, young), 'a young file stays');
    assert.ok(await c.onDisk(d2, foreign), 'a fid this database never handed out stays');
  });

  test('a jobs process sweeps on its schedule: an old orphan goes, a recorded copy stays', async () => {
    const [d1, d2] = c.nodes.map((n) => n.devid) as [number, number];
    const keptBytes = randomBytes(7_000);
    const kept = await c.putFile(keptBytes, [d1, d2]);
    const gone = await forgottenFid();
    await plant(d2, gone, randomBytes(9_000), 2 * DAY);
    const jobs = c.startJobs({ orphanSweepIntervalMs: 200 });
    try {
      await waitFor('the orphan removed by the jobs process', async () => (await c.onDisk(d2, gone)) === null, 20_000);
    } finally {
      await jobs.stop();
    }
    assert.ok((await c.onDisk(d1, kept.fid))?.equals(keptBytes));
    assert.ok((await c.onDisk(d2, kept.fid))?.equals(keptBytes));
  });

  test('--min-age below 1h is refused; the listing needs a signed request', async () => {
    const r = await adminCli(c.dbUrl, ['orphans', '--min-age', '5m', '--storage-key-file', testStorageKeyFile()]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--min-age 5m is too short/);
    const d1 = c.nodes[0]!;
    const unsigned = await fetch(`${d1.url.replace(/\/+$/, '')}/dev${d1.devid}/?list&after=0&limit=10`);
    assert.equal(unsigned.status, 401);
    const page = await c.client.listDevice(d1.url, d1.devid, { after: 0, limit: 10 });
    assert.ok(Array.isArray(page));
  });
});
