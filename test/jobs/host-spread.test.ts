// Copies on too few hosts (issue 16 item 6): files whose copies all landed on one host while the
// other hosts were down are counted by `admin stats` and mogftp_fids_on_too_few_hosts once hosts
// can take copies again, and a running jobs process re-spreads them on its own (no fsck): a copy
// is added on a host holding none and the doubled one is trimmed. Real node processes; SQLite
// and MariaDB.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { JobEvent } from '../../src/jobs/index.ts';
import { createRegistry, registerClusterMetrics } from '../../src/metrics/index.ts';
import type { FileClass } from '../../src/tracker/types.ts';
import { adminCli } from '../harness/admin-cli.ts';
import { JOBS_TEST_CLUSTER, useCluster, type ClusterNode } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';

for (const backend of ['sqlite', 'mysql'] as const) {
  describe(`files on too few hosts (${backend})`, () => {
    const c = useCluster({ ...JOBS_TEST_CLUSTER, db: backend, nodes: 3, mindevcount: 2 });

    const stats = async () => {
      const r = await adminCli(c.dbUrl, ['stats', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout) as { underReplicated: number; onTooFewHosts: number; usableHosts: number };
      return { underReplicated: s.underReplicated, onTooFewHosts: s.onTooFewHosts, usableHosts: s.usableHosts };
    };
    const setHosts = async (ids: number[], status: 'alive' | 'down') => {
      for (const id of ids) await c.store.updateHost(id, { status });
    };

    test('counted once hosts are back, re-spread by the jobs after an outage, doubled copies trimmed, bytes intact', async () => {
      const [n1, n2, n3] = c.nodes as [ClusterNode, ClusterNode, ClusterNode];
      const d1 = n1.devid;
      const d1b = await c.addDevice(n1); // host1 has two devices
      const three: FileClass = await c.store.createClass(c.domainId, 'three', { mindevcount: 3, writeQuorum: 1 });

      // The outage: hosts 2 and 3 down; every copy lands on host 1 (two devices).
      await setHosts([n2.hostId, n3.hostId], 'down');
      const twos = await c.putSpread(16, (i) => 1000 + i * 4099, [[d1, d1b]]);
      const threes = new Map<number, Buffer>();
      // mindevcount 3 on 3 hosts: three copies, two of them on host 1 (host 2 was up for these).
      await setHosts([n2.hostId], 'alive');
      for (let i = 0; i < 4; i++) {
        const bytes = Buffer.alloc(3000 + i, i + 1);
        threes.set((await c.putFile(bytes, [d1, d1b, n2.devid], { cls: three })).fid, bytes);
      }
      await setHosts([n2.hostId], 'down');
      const all = new Map([...twos, ...threes]);
      assert.equal(await c.store.queueDepth('replicate'), 0, 'every file was committed with its copies: nothing queued');

      // While only host 1 is up nothing better is possible: not counted (the documented rule); the
      // mindevcount-3 files are short a counted copy (host 2's is down): under-replicated, not both.
      assert.deepEqual(await stats(), { underReplicated: 4, onTooFewHosts: 0, usableHosts: 1 });

      // Hosts back: counted by stats and by the metric.
      await setHosts([n2.hostId, n3.hostId], 'alive');
      assert.deepEqual(await stats(), { underReplicated: 0, onTooFewHosts: 20, usableHosts: 3 });
      const registry = createRegistry('test');
      const metrics = registerClusterMetrics(registry, c.store, { scanIntervalMs: 3600_000 });
      const gauge = async (name: string) => (await registry.getSingleMetric(name)!.get()).values[0]!.value;
      try {
        await metrics.scanNow();
        assert.equal(await gauge('mogftp_fids_on_too_few_hosts'), 20);
        assert.equal(await gauge('mogftp_fids_below_mindevcount'), 0, 'the old gauge never saw these');

        // A jobs process that is running through the outage: its first scan finds nothing to do
        // (one host), and only the hosts coming back (not the 1 h interval) starts another.
        await setHosts([n2.hostId, n3.hostId], 'down');
        const logs: string[] = [];
        const events: JobEvent[] = [];
        c.startJobs({
          hostSpreadTickMs: 50,
          hostSpreadIntervalMs: 3600_000,
          log: (_level, msg) => logs.push(msg),
          onEvent: (e) => events.push(e),
        });
        await new Promise((r) => setTimeout(r, 300)); // several ticks with one host
        assert.equal(await c.store.queueDepth('replicate'), 0);
        assert.equal(events.length, 0, 'nothing copied while the other hosts are down');

        await setHosts([n2.hostId, n3.hostId], 'alive');
        const devices = new Map((await c.store.listDevices()).map((d) => [d.id, d]));
        const started = Date.now();
        await waitFor(
          'every file on distinct hosts with exactly mindevcount copies, queue empty',
          async () => {
            for (const [fid] of all) {
              const on = await c.store.replicasOf(fid);
              const want = threes.has(fid) ? 3 : 2;
              const hosts = new Set(on.map((d) => devices.get(d)!.hostId));
              if (on.length !== want || hosts.size !== want) return `fid ${fid} on devices ${on}`;
            }
            return (await c.store.queueDepth('replicate')) === 0 || 'replicate queue not empty';
          },
          30_000,
        );
        const tookMs = Date.now() - started;
        assert.ok(logs.some((m) => /host spread: scanning.*more than before/.test(m)), 'the scan was started by the hosts coming back');

        for (const [fid, bytes] of all) {
          const on = await c.store.replicasOf(fid);
          assert.equal(on.filter((d) => d === d1 || d === d1b).length, 1, `fid ${fid}: one copy left on host 1`);
          for (const devid of on) assert.ok((await c.onDisk(devid, fid))?.equals(bytes), `fid ${fid}: bytes on device ${devid}`);
          const trimmed = on.includes(d1) ? d1b : d1;
          assert.equal(await c.onDisk(trimmed, fid), null, `fid ${fid}: the doubled copy on device ${trimmed} is gone from disk`);
          assert.ok(events.some((e) => e.type === 'trimmed' && e.fid === fid && e.devid === trimmed), `fid ${fid}: trim reported`);
          assert.equal((await c.store.getFile(fid))!.devcount, on.length);
        }
        assert.deepEqual(await stats(), { underReplicated: 0, onTooFewHosts: 0, usableHosts: 3 });
        await metrics.scanNow();
        assert.equal(await gauge('mogftp_fids_on_too_few_hosts'), 0);
        console.log(`# ${backend}: 20 files re-spread ${tookMs} ms after the hosts came back`);
      } finally {
        await metrics.stop();
      }
    });
  });
}

describe('fidsOnTooFewHosts and fileStats: the rule, page by page (sqlite store)', () => {
  test('flags enough copies on too few usable hosts, pages by fid, ignores weight-0 hosts and short files', async () => {
    const { openStore } = await import('../../src/tracker/open.ts');
    const { ROOT_ID } = await import('../../src/tracker/types.ts');
    const store = await openStore('sqlite::memory:');
    try {
      await store.migrate();
      const dom = await store.createDomain('d');
      const two = await store.createClass(dom.id, 'two', { mindevcount: 2, writeQuorum: 1, checksum: 'none' });
      const host = async (n: number, weight = 100) =>
        (await store.createDevice({ hostId: (await store.createHost({ name: `h${n}`, address: '127.0.0.1', httpPort: 7000 + n })).id, weight })).id;
      const a1 = await host(1);
      const a2 = (await store.createDevice({ hostId: (await store.getDevice(a1))!.hostId })).id;
      const b1 = await host(2);
      const c1 = await host(3, 0); // weight 0: takes no new copies, so not a usable host
      let n = 0;
      const put = async (devids: number[]) => {
        const r = await store.reserveUpload({ domainId: dom.id, classId: two.id, devids, now: Date.now() });
        await store.commitUpload({ fid: r.fid, parentId: ROOT_ID, name: `f${++n}`, length: 1, checksum: null, devids, mtime: Date.now() });
        return r.fid;
      };
      const narrow = [await put([a1, a2]), await put([a1, b1]), await put([a1, a2]), await put([a1]), await put([b1, c1]), await put([a1, a2])];
      const flagged = [narrow[0]!, narrow[2]!, narrow[5]!]; // [a1] alone is under-replicated, not both
      const s = await store.fileStats();
      assert.deepEqual([s.onTooFewHosts, s.underReplicated, s.usableHosts], [3, 1, 2]);
      const seen: number[] = [];
      let after = 0;
      for (let pages = 0; pages < 10; pages++) {
        const r = await store.fidsOnTooFewHosts(after, 2);
        if (r.lastFid === null) break;
        seen.push(...r.fids);
        after = r.lastFid;
      }
      assert.deepEqual(seen, flagged, 'every page boundary kept');
      // Host 2 down: one usable host, nothing better is possible, nothing flagged.
      await store.updateHost((await store.getDevice(b1))!.hostId, { status: 'down' });
      assert.deepEqual((await store.fidsOnTooFewHosts(0, 100)).fids, []);
      assert.equal((await store.fileStats()).onTooFewHosts, 0);
    } finally {
      await store.close();
    }
  });
});
