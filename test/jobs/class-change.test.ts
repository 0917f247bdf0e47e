// Changing a class's replica count through `mogftp admin class modify`: the class's files are
// queued, and the jobs bring every one to the new count (raised: copies added on other hosts;
// lowered: surplus copies removed from records and disks once the kept copy is verified).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { adminCli } from '../harness/admin-cli.ts';
import { JOBS_TEST_CLUSTER, useCluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';

describe('class change', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 3, mindevcount: 2 });
  const files = new Map<number, Buffer>();
  before(async () => {
    const [d1, d2, d3] = c.nodes.map((n) => n.devid) as [number, number, number];
    for (const [fid, bytes] of await c.putSpread(40, (i) => 1000 + i * 50, [[d1, d2], [d2, d3], [d1, d3]])) files.set(fid, bytes);
    // A file of another class is left alone.
    const other = await c.store.createClass(c.domainId, 'other', { mindevcount: 2 });
    files.set((await c.putFile(randomBytes(100), [d1, d2], { cls: other })).fid, Buffer.alloc(0));
  });

  const counts = async (cls = c.cls.id) => {
    const out: number[] = [];
    for (const fid of await c.store.fidsOfClass(cls, 0, 1000)) out.push((await c.store.replicasOf(fid)).length);
    return out;
  };
  const settle = async (want: number) => {
    const jobs = c.startJobs();
    await waitFor(`every file at ${want}`, async () => {
      const n = await counts();
      const off = n.filter((x) => x !== want).length;
      if (off > 0) return `${off} file(s) not at ${want}`;
      return (await c.store.queueDepth('replicate')) + (await c.store.queueDepth('delete')) === 0 || 'queues not empty';
    }, 30_000);
    await jobs.stop();
  };

  test('raised to 3: every file of the class gets a third copy', async () => {
    const r = await adminCli(c.dbUrl, ['class', 'modify', 'jobs', 'two', '--mindevcount', '3']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Queued 40 file\(s\) for replication to 3 copies/);
    assert.equal(await c.store.queueDepth('replicate'), 40, 'the other class is not queued');
    await settle(3);
    for (const [fid, bytes] of files) {
      if (bytes.length === 0) continue;
      for (const d of await c.store.replicasOf(fid)) assert.ok((await c.onDisk(d, fid))?.equals(bytes), `fid ${fid} on ${d}`);
    }
  });

  test('lowered to 1: surplus copies leave records and disks, the kept one is intact', async () => {
    const r = await adminCli(c.dbUrl, ['class', 'modify', 'jobs', 'two', '--mindevcount', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Queued 40 file\(s\) for replication to 1 copy/);
    await settle(1);
    for (const [fid, bytes] of files) {
      if (bytes.length === 0) continue;
      const [kept] = await c.store.replicasOf(fid);
      assert.ok((await c.onDisk(kept!, fid))?.equals(bytes), `fid ${fid}: the kept copy`);
      for (const n of c.nodes) if (n.devid !== kept) assert.equal(await c.onDisk(n.devid, fid), null, `fid ${fid}: no copy left on ${n.devid}`);
      assert.equal((await c.store.getFile(fid))!.devcount, 1);
    }
    const otherFid = [...files].find(([, b]) => b.length === 0)![0];
    assert.equal((await c.store.replicasOf(otherFid)).length, 2, 'the other class keeps its 2 copies');
  });

  test('a write-quorum change alone queues nothing', async () => {
    const r = await adminCli(c.dbUrl, ['class', 'modify', 'jobs', 'two', '--write-quorum', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /Queued/);
    assert.equal(await c.store.queueDepth('replicate'), 0);
  });
});
