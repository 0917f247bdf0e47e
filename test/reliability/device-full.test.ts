// A device that fills up mid-upload (issue 8, fault 7): one device is a 4 MiB tmpfs mounted by
// the test. An 8 MiB upload that must land on it gets 452, nothing of it stays on any disk (no
// replica, no temp file) or in the namespace, and uploads go on to the other devices.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { useCluster } from '../harness/cluster.ts';
import { until } from '../harness/wait.ts';
import { contentStream, newContent } from './lib/content.ts';
import { trackFigures } from './lib/figures.ts';
import { loggedIn } from './lib/ftp.ts';

const exec = promisify(execFile);
const fig = trackFigures('device-full');
const MiB = 1024 * 1024;

/** Mounts a tmpfs of `size` on `dir`; null when it worked, else why not. */
async function mountTmpfs(dir: string, size: string): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  try {
    await exec('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
    process.once('exit', () => {
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
      } catch {
        // unmounted already
      }
    });
    return null;
  } catch (err) {
    return `mount -t tmpfs failed: ${(err as Error).message.split('\n')[0]}`;
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...(await filesUnder(join(dir, e.name))));
    else out.push(join(dir, e.name));
  }
  return out;
}

describe('a device that fills up', () => {
  const c = useCluster({ db: 'mysql', nodes: 3, mindevcount: 2, auth: false });
  let port: number;
  let skip: string | null = null;
  before(async () => {
    skip = await mountTmpfs(c.nodes[0]!.devDir, '4m');
    // Unmounted before the node removes its directory (cleanups run last-in first-out).
    if (!skip) c.deferCleanup(() => exec('umount', [c.nodes[0]!.devDir]));
    port = (await c.startFtp()).port;
  });

  test('an upload that outgrows a device gets 452, leaves nothing half-written, and the next uploads go elsewhere', async (t) => {
    if (skip) return t.skip(skip);
    fig.scenario('device (4 MiB tmpfs) fills up mid-STOR');
    const [full, other, spare] = c.nodes as [(typeof c.nodes)[0], (typeof c.nodes)[0], (typeof c.nodes)[0]];
    // Only the small device and one other take writes, so this upload must use the small one.
    await c.store.updateDevice(spare.devid, { status: 'readonly' });
    c.tracker.invalidateDevices();
    const jobs = c.startJobs({ monitor: false });
    const ftp = await loggedIn(port);
    const big = newContent(8 * MiB);
    const r = await ftp.stor('/too-big.bin', contentStream(big.seed, big.size));
    fig.up(r.sent);
    fig.fault();
    assert.equal(r.final.code, 452, `${r.final.code} ${r.final.text}`);
    assert.match(r.final.text, /full|space/i);

    assert.equal(await c.fidOf('/too-big.bin'), null, 'nothing is visible');
    await until('no reservation left', async () => (await c.store.staleReservations(Date.now() + 60_000, 10)).length === 0);
    await until('no temp file on any node', async () => (await c.filesOnDisk()).temps.length === 0);
    await c.drained();
    assert.deepEqual((await c.filesOnDisk()).replicas, [], 'no replica of the failed upload on any disk');
    assert.deepEqual(await filesUnder(full.devDir), [], 'the small device holds no file at all');

    // It goes on: the device that refused is left out for now, the others take the file.
    await c.store.updateDevice(spare.devid, { status: 'alive' });
    c.tracker.invalidateDevices();
    const again = await ftp.stor('/fits-elsewhere.bin', contentStream(big.seed, big.size));
    fig.up(again.sent);
    assert.equal(again.final.code, 226, `${again.final.code} ${again.final.text}`);
    const fid = (await c.fidOf('/fits-elsewhere.bin'))!;
    assert.deepEqual((await c.store.replicasOf(fid)).sort(), [other.devid, spare.devid].sort());
    assert.equal(await c.checkStored('/fits-elsewhere.bin', big), null);
    // Small files still fit on the small device.
    const small = newContent(256 * 1024);
    for (let i = 0; i < 4; i++) {
      const s = await ftp.stor(`/small-${i}.bin`, contentStream(small.seed, small.size));
      fig.up(s.sent);
      assert.equal(s.final.code, 226);
      assert.equal(await c.checkStored(`/small-${i}.bin`, small), null);
    }
    fig.verified(5);
    const back = await ftp.retr('/fits-elsewhere.bin');
    fig.down(back.bytes);
    assert.equal(back.sha256, big.sha256);
    await ftp.quit();
    await c.drained();
    assert.deepEqual(await c.orphans(), []);
    await jobs.stop();
  });
});
