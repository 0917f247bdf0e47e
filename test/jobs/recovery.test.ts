// The cluster heals itself: 3 nodes, 200 files at 2 copies; one node's process is killed and its
// device marked dead (by the operator's command) → within 30 s every file is back at 2 copies on
// the live hosts, and `mogftp admin stats --json` shows none under-replicated. SQLite and MariaDB.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { adminCli } from '../harness/admin-cli.ts';
import { JOBS_TEST_CLUSTER, useCluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';

for (const backend of ['sqlite', 'mysql'] as const) {
  describe(`recovery from a dead node (${backend})`, () => {
    const c = useCluster({ ...JOBS_TEST_CLUSTER, db: backend, nodes: 3, mindevcount: 2 });

    test('200 files back at 2 copies on the live hosts within 30 s; stats shows 0 under-replicated', async () => {
      const [d1, d2, d3] = c.nodes.map((n) => n.devid) as [number, number, number];
      const files = await c.putSpread(200, (i) => 500 + ((i * 97) % 4000), [[d1, d2], [d1, d3], [d2, d3]]);
      const jobs = c.startJobs();
      const fresh = await adminCli(c.dbUrl, ['stats', '--json']);
      assert.equal(fresh.code, 0, fresh.stderr);
      assert.deepEqual(pick(JSON.parse(fresh.stdout)), { files: 200, underReplicated: 0 });

      await c.node(d3).kill();
      const marked = await adminCli(c.dbUrl, ['device', 'mark', String(d3), 'dead']);
      assert.equal(marked.code, 0, marked.stderr);
      // The command itself drops the dead device's records (the jobs may already be re-copying).
      assert.deepEqual(await c.store.fidsOnDevice(d3, 0, 1), [], 'the dead copies no longer count');

      await waitFor(
        'every file on d1 and d2',
        async () => {
          for (const fid of files.keys()) {
            const on = await c.store.replicasOf(fid);
            if (on.length !== 2 || !on.includes(d1) || !on.includes(d2)) return `fid ${fid} on ${on}`;
          }
          return true;
        },
        30_000,
      );
      await waitFor('replicate queue empty', async () => (await c.store.queueDepth('replicate')) === 0);
      await jobs.stop();
      const stats = JSON.parse((await adminCli(c.dbUrl, ['stats', '--json'])).stdout) as Stats;
      assert.deepEqual(pick(stats), { files: 200, underReplicated: 0 });
      assert.equal(stats.queues.replicate, 0);
      const dead = stats.devices.find((d) => d.devid === d3)!;
      assert.deepEqual([dead.status, dead.replicas], ['dead', 0]);
      assert.equal(stats.devices.find((d) => d.devid === d1)!.replicas, 200);
      for (const [fid, bytes] of files) {
        assert.ok((await c.onDisk(d1, fid))?.equals(bytes), `fid ${fid} on d1`);
        assert.ok((await c.onDisk(d2, fid))?.equals(bytes), `fid ${fid} on d2`);
      }
    });
  });
}

interface Stats {
  files: number;
  underReplicated: number;
  queues: Record<string, number>;
  devices: Array<{ devid: number; status: string; replicas: number }>;
}

function pick(s: Stats) {
  return { files: s.files, underReplicated: s.underReplicated };
}
