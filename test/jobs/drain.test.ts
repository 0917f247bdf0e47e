// Draining a device: its replicas move to the other hosts until it is empty, every file keeps
// its replica count, and reads through the front-end's read path never fail meanwhile.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Tracker } from '../../src/tracker/tracker.ts';
import { openDownload } from '../../src/vfs/download.ts';
import type { JobEvent } from '../../src/jobs/index.ts';
import { JOBS_TEST_CLUSTER, useCluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';

async function fidFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile() && e.name.endsWith('.fid')) out.push(join(e.parentPath, e.name));
  return out;
}

describe('drain', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 3, mindevcount: 2 });

  test('a draining device ends empty; every file stays at 2 copies; no read fails meanwhile', async () => {
    const [d1, d2, d3] = c.nodes.map((n) => n.devid) as [number, number, number];
    const files = await c.putSpread(90, (i) => 3000 + i * 211, [[d1, d3], [d2, d3], [d1, d2]]);
    const onD3 = (await c.store.fidsOnDevice(d3, 0, 1000)).length;
    assert.equal(onD3, 60);

    // Readers: the read path FTP and WebDAV use (replica order, failover, checksum), all along.
    const tracker = new Tracker(c.store, { deviceCacheMs: 50 });
    const fids = [...files.keys()];
    let reading = true;
    let reads = 0;
    const failures: string[] = [];
    const reader = (async () => {
      while (reading) {
        const fid = fids[Math.floor(Math.random() * fids.length)]!;
        const file = (await c.store.getFile(fid))!;
        try {
          const chunks: Buffer[] = [];
          for await (const chunk of openDownload(tracker, c.client, file)) chunks.push(chunk as Buffer);
          if (!Buffer.concat(chunks).equals(files.get(fid)!)) failures.push(`fid ${fid}: wrong bytes`);
        } catch (err) {
          failures.push(`fid ${fid}: ${(err as Error).message}`);
        }
        reads++;
      }
    })();

    await c.store.updateDevice(d3, { status: 'drain' });
    const events: JobEvent[] = [];
    const jobs = c.startJobs({ onEvent: (e) => events.push(e) });
    try {
      await waitFor(
        'device 3 empty, all files at 2 copies',
        async () => {
          const left = await c.store.fidsOnDevice(d3, 0, 1000);
          if (left.length > 0) return `${left.length} left on device ${d3}`;
          if ((await c.store.queueDepth('replicate')) > 0) return 'replicate queue not empty';
          return true;
        },
        60_000,
      );
      await waitFor('drained reported', async () => events.some((e) => e.type === 'device-drained' && e.devid === d3));
      await waitFor('delete queue empty', async () => (await c.store.queueDepth('delete')) === 0);
    } finally {
      reading = false;
      await reader;
      await jobs.stop();
    }
    assert.deepEqual(failures, [], `${failures.length} of ${reads} reads failed`);
    assert.ok(reads > 10, `${reads} reads happened during the drain`);
    for (const [fid, bytes] of files) {
      const on = (await c.store.replicasOf(fid)).sort((a, b) => a - b);
      assert.deepEqual(on, [d1, d2].sort((a, b) => a - b), `fid ${fid}`);
      for (const d of on) assert.ok((await c.onDisk(d, fid))?.equals(bytes), `fid ${fid} on device ${d}`);
    }
    assert.deepEqual(await fidFilesUnder(join(c.node(d3).root, `dev${d3}`)), [], 'no replica left on the drained disk');
    assert.equal((await c.store.fileStats()).underReplicated, 0);
    // Empty, it can be removed.
    await c.store.removeDevice(d3);
  });
});
