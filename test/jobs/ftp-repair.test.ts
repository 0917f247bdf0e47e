// Repair seen through FTP: a replica with a flipped byte is never served as a good file (RETR
// fails with 426, or gets the good copy), fsck replaces it from a good copy and logs it; a file
// deleted through FTP leaves every node's disk once the delete worker has run.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startJobs, type JobsHandle } from '../../src/jobs/index.ts';
import { readFsckState, startFsck } from '../../src/jobs/fsck-run.ts';
import { fidPath } from '../../src/storage/layout.ts';
import { curl, ftpUrl } from '../harness/clients.ts';
import { useCluster, type ClusterNode } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';

describe('repair through FTP', () => {
  const c = useCluster({ db: 'sqlite', nodes: 3, mindevcount: 2, ftp: true, tmpDir: 'mogftp-repair-' });
  let dir: string;
  let jobs: JobsHandle | null = null;
  before(() => (dir = c.tmpDir));
  c.onStop(async () => {
    await jobs?.stop();
  });

  const startTheJobs = () =>
    (jobs = startJobs(c.services.store, {
      client: c.services.client,
      monitor: false,
      pollMs: 25,
      backoffScale: 0.0005,
      deadSweepIntervalMs: 100,
      drainSweepIntervalMs: 100,
      fsckFeedIntervalMs: 100,
    }));
  const stopTheJobs = async () => {
    await jobs?.stop();
    jobs = null;
  };
  const diskPath = (n: ClusterNode, fid: number) => join(n.root, fidPath(n.devid, fid));
  const flipByte = async (path: string) => {
    const b = await readFile(path);
    b[b.length >> 1]! ^= 0x01;
    await writeFile(path, b);
  };
  let seq = 0;
  /** RETR through curl: the bytes if the transfer succeeded, else the error text. */
  const retr = async (path: string): Promise<{ ok: true; bytes: Buffer } | { ok: false; error: string }> => {
    const out = join(dir, `out-${++seq}`);
    const r = await curl([ftpUrl(c.port, path), '-o', out]);
    if (r.code !== 0) return { ok: false, error: r.stderr };
    return { ok: true, bytes: await readFile(out) };
  };
  const upload = async (path: string, bytes: Buffer) => {
    const r = await curl(['-T', '-', ftpUrl(c.port, path)], { input: bytes });
    assert.equal(r.code, 0, r.stderr);
    return (await c.fidOf(path))!;
  };
  const queuesEmpty = async () => {
    for (const q of ['fsck', 'replicate', 'delete'] as const) if ((await c.services.store.queueDepth(q)) > 0) return `${q} not empty`;
    return true;
  };

  test('a flipped byte in the copy read first: RETR skips it (the right bytes, 226) and marks it bad, fsck replaces the copy', async () => {
    const good = randomBytes(300_000);
    const fid = await upload('/flip.bin', good);
    const first = (await c.services.tracker.replicasFor(fid))[0]!;
    const node = c.nodes.find((n) => n.devid === first.devid)!;
    await flipByte(diskPath(node, fid));

    // Small files are checked before their first byte is sent: the damaged copy is skipped.
    const read = await retr('/flip.bin');
    assert.ok(read.ok && read.bytes.equals(good), 'the good copy is served');
    assert.deepEqual((await c.services.store.badReplicasOf(fid)).map((m) => m.devid), [first.devid], 'the damaged copy is marked bad');
    // The read reported the fid: it waits on the fsck queue for the jobs.
    assert.equal(await c.services.store.queueDepth('fsck'), 1);

    startTheJobs();
    await waitFor('fsck and repairs done', queuesEmpty);
    await stopTheJobs();
    const log = await c.services.store.listFsckEvents({ fid, limit: 20 });
    assert.deepEqual(log.filter((e) => e.code === 'BSUM').map((e) => e.devid), [first.devid]);
    assert.ok(log.some((e) => e.code === 'GONE') && log.some((e) => e.code === 'REPL'), JSON.stringify(log.map((e) => e.code)));
    const copies = await c.replicasOnDisk('/flip.bin');
    const recorded = await c.services.store.replicasOf(fid);
    assert.equal(recorded.length, 2);
    for (const devid of recorded) assert.ok(copies.some((x) => x.devid === devid), `copy on ${devid}`);
    const again = await retr('/flip.bin');
    assert.ok(again.ok && again.bytes.equals(good), 'RETR serves the good bytes again');
    for (const n of c.nodes) {
      const st = await stat(diskPath(n, fid)).catch(() => null);
      if (st) assert.ok((await readFile(diskPath(n, fid))).equals(good), `no bad copy left on device ${n.devid}`);
    }
  });

  test('an fsck run finds flipped bytes in 4 of 12 files while clients read them: never a bad transfer', async () => {
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 12; i++) files.set(`/run-${i}.bin`, randomBytes(20_000 + i * 1000));
    const fids = new Map<string, number>();
    for (const [path, bytes] of files) fids.set(path, await upload(path, bytes));
    const damaged = [...files.keys()].filter((_, i) => i % 3 === 0);
    for (const [i, path] of damaged.entries()) {
      // Half in the copy readers try first (they get 426 until it is fixed), half in the other.
      const order = await c.services.tracker.replicasFor(fids.get(path)!);
      const devid = (i % 2 === 0 ? order[0] : order[order.length - 1])!.devid;
      await flipByte(diskPath(c.nodes.find((n) => n.devid === devid)!, fids.get(path)!));
    }

    let reading = true;
    const outcomes: string[] = [];
    const reader = (async () => {
      while (reading) {
        for (const path of damaged) {
          const r = await retr(path);
          if (r.ok && !r.bytes.equals(files.get(path)!)) outcomes.push(`${path}: BAD BYTES SERVED`);
          else outcomes.push(r.ok ? 'good' : 'refused');
        }
      }
    })();
    await startFsck(c.services.store, { fresh: true });
    startTheJobs();
    try {
      await waitFor('run finished', async () => (await readFsckState(c.services.store)).state?.status === 'finished' || 'running', 30_000);
      await waitFor('repairs done', queuesEmpty);
    } finally {
      reading = false;
      await reader;
      await stopTheJobs();
    }
    assert.ok(outcomes.length >= damaged.length, `${outcomes.length} reads`);
    assert.deepEqual(outcomes.filter((o) => o.includes('BAD')), []);
    const bsum = (await c.services.store.listFsckEvents({ limit: 1000 })).filter((e) => e.code === 'BSUM').map((e) => e.fid);
    for (const path of damaged) assert.ok(bsum.includes(fids.get(path)!), `${path} found`);
    for (const [path, bytes] of files) {
      const r = await retr(path);
      assert.ok(r.ok && r.bytes.equals(bytes), `${path} reads back intact`);
      for (const copy of await c.replicasOnDisk(path)) assert.equal(copy.size, bytes.length);
    }
  });

  test('a file deleted through FTP is gone from every node’s disk after the delete worker runs', async () => {
    const fid = await upload('/doomed.bin', randomBytes(50_000));
    assert.equal((await c.replicasOnDisk('/doomed.bin')).length, 2);
    const del = await curl([ftpUrl(c.port, '/'), '-Q', 'DELE /doomed.bin', '-o', '/dev/null']);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(await c.fidOf('/doomed.bin'), null);
    startTheJobs();
    await waitFor('copies gone from disk', async () => {
      for (const n of c.nodes) if (await stat(diskPath(n, fid)).catch(() => null)) return `still on device ${n.devid}`;
      return (await c.services.store.queueDepth('delete')) === 0 || 'delete queue not empty';
    });
    await stopTheJobs();
    assert.deepEqual(await c.services.store.replicasOf(fid), []);
  });
});
