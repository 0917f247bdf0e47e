// Declaring a device dead from the command line (issue 16 item 7): `mogftp admin device mark N
// dead` queues the device's files itself, so re-replication does not wait for the next
// dead-device sweep (30 s); and `mogftp jobs --auto-dead-after` refuses a delay short enough for
// a reboot to write a disk off.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { parseAutoDeadAfter } from '../../src/cli/jobs.ts';
import { run } from '../harness/clients.ts';
import { JOBS_TEST_CLUSTER, useCluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';

const BIN = fileURLToPath(new URL('../../bin/mogftp.js', import.meta.url));

function mogftp(dbUrl: string, args: string[], timeoutMs = 30_000) {
  const env: NodeJS.ProcessEnv = { ...process.env, MOGFTP_DB: dbUrl };
  delete env.MOGFTP_DEBUG;
  return run(process.execPath, [BIN, ...args], { env, timeoutMs });
}

describe('marking a device dead', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 3, mindevcount: 2 });
  let d1: number, d2: number, d3: number;
  before(async () => {
    [d1, d2, d3] = c.nodes.map((n) => n.devid) as [number, number, number];
  });

  test('device mark N dead queues its files at once; the jobs re-replicate them without a sweep', async () => {
    const files = await c.putSpread(12, (i) => 2000 + i * 100, [[d1, d3], [d2, d3]]);
    // Jobs whose dead-device sweep ran at start (nothing dead then) and does not come round again.
    const jobs = c.startJobs({ deadSweepIntervalMs: 3_600_000 });
    await c.node(d3).kill();

    const r = await mogftp(c.dbUrl, ['admin', 'device', 'mark', String(d3), 'dead']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, new RegExp(`^Marked device ${d3} dead$`, 'm'));
    assert.match(r.stdout, new RegExp(`^Queued 12 file\\(s\\) from device ${d3} for re-replication`, 'm'));
    // Done by the command itself: no record points at the dead device any more.
    assert.deepEqual(await c.store.fidsOnDevice(d3, 0, 100), []);

    await waitFor('every file back at 2 copies on d1 and d2', async () => {
      for (const fid of files.keys()) {
        const on = await c.store.replicasOf(fid);
        if (on.length !== 2 || on.includes(d3)) return `fid ${fid} on ${on}`;
      }
      return (await c.store.queueDepth('replicate')) === 0 || 'replicate queue not empty';
    }, 60_000);
    await jobs.stop();
    for (const [fid, bytes] of files) {
      for (const d of [d1, d2]) assert.ok((await c.onDisk(d, fid))?.equals(bytes), `fid ${fid} on device ${d}`);
    }

    // Marking it dead again: nothing more to queue, and no second "Queued" line.
    const again = await mogftp(c.dbUrl, ['admin', 'device', 'mark', String(d3), 'dead']);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /Queued/);
  });

  test('mogftp jobs --auto-dead-after below 10m is a one-line error; 10m is accepted', async () => {
    for (const short of ['1s', '90', '9m']) {
      const r = await mogftp(c.dbUrl, ['jobs', '--auto-dead-after', short], 20_000);
      assert.equal(r.code, 1, `--auto-dead-after ${short}: exit ${r.code} ${r.signal ?? ''}\n${r.stderr}`);
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, new RegExp(`--auto-dead-after ${short} is too short: .*at least 10m`));
    }
    assert.equal(parseAutoDeadAfter('10m'), 600_000);
    assert.equal(parseAutoDeadAfter('off'), null);
    assert.equal(parseAutoDeadAfter(undefined), null);
  });
});
