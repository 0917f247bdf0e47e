// Processes dying mid-transfer (issue 8, faults 4 and 5): the FTP front-end SIGKILLed in the
// middle of a STOR (nothing becomes visible; the reaper later aborts the reservation and the
// partial copies go), and FTP clients SIGKILLed in the middle of STORs and RETRs against a
// front-end process (nothing visible, no reservation, temp file or file descriptor left behind).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ftpUrl } from '../harness/clients.ts';
import { Cluster, useCluster } from '../harness/cluster.ts';
import { type DaemonProcess } from '../harness/daemons.ts';
import { sleep, until } from '../harness/wait.ts';
import { contentStream, gated, newContent } from './lib/content.ts';
import { trackFigures } from './lib/figures.ts';
import { loggedIn, FtpClosed } from './lib/ftp.ts';

const fig = trackFigures('process-crashes');
const MiB = 1024 * 1024;


async function openReservations(c: Cluster): Promise<number> {
  return (await c.store.staleReservations(Date.now() + 60_000, 1000)).length;
}

describe('the FTP front-end killed mid-STOR', () => {
  const c = useCluster({ db: 'mysql', nodes: 3, mindevcount: 2, auth: false });

  test('nothing becomes visible; the reservation is reaped and the partial copies removed; another front-end serves on', async () => {
    fig.scenario('front-end process SIGKILLed mid-STOR');
    const fe = await c.startFrontendProcess();
    const content = newContent(16 * MiB);
    const ftp = await loggedIn(fe.port);
    let reached!: () => void;
    const paused = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const upload = ftp.stor('/orphaned.bin', gated(content, 4 * MiB, gate, reached)).catch((err: unknown) => err);
    await paused;
    await until('partial copies on the nodes', async () => (await c.filesOnDisk()).temps.length >= 2);
    assert.equal(await openReservations(c), 1);
    await fe.kill('SIGKILL');
    fig.fault();
    fig.up(4 * MiB);
    release();
    const outcome = await upload;
    ftp.destroy();
    assert.ok(outcome instanceof FtpClosed || (outcome instanceof Error && /EPIPE|ECONNRESET|closed/.test(outcome.message)), `the client never got a success: ${String(outcome)}`);

    assert.equal(await c.fidOf('/orphaned.bin'), null, 'nothing is visible');
    // The nodes saw their uploads break off and dropped the temp files.
    await until('the nodes to drop the partial uploads', async () => (await c.filesOnDisk()).temps.length === 0);
    assert.equal(await openReservations(c), 1, 'the reservation waits for the reaper');

    const jobs = c.startJobs({ reservationTimeoutMs: 1500 });
    await until('the reaper to abort the reservation', async () => (await openReservations(c)) === 0, 30_000);
    await c.drained();
    assert.deepEqual(await c.orphans(), []);
    await jobs.stop();

    const other = await c.startFrontendProcess();
    const again = await loggedIn(other.port);
    const fresh = newContent(3 * MiB);
    const r = await again.stor('/orphaned.bin', contentStream(fresh.seed, fresh.size));
    fig.up(fresh.size);
    assert.equal(r.final.code, 226);
    const back = await again.retr('/orphaned.bin');
    fig.down(back.bytes);
    assert.equal(back.sha256, fresh.sha256);
    assert.equal(await c.checkStored('/orphaned.bin', fresh), null);
    fig.verified();
    await again.quit();
    await other.kill();
  });
});

describe('FTP clients killed mid-STOR and mid-RETR', () => {
  const c = useCluster({ db: 'mysql', nodes: 3, mindevcount: 2, auth: false });
  let fe: DaemonProcess;
  let dir: string;
  before(async () => {
    fe = await c.startFrontendProcess();
    dir = await mkdtemp(join(tmpdir(), 'mogftp-rel-kill-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('ten clients SIGKILLed mid-transfer leave nothing visible and nothing leaked (reservations, temp files, fds)', async () => {
    fig.scenario('5 clients SIGKILLed mid-STOR and 5 mid-RETR');
    const jobs = c.startJobs();
    const big = newContent(24 * MiB);
    const seed = await loggedIn(fe.port);
    assert.equal((await seed.stor('/big.bin', contentStream(big.seed, big.size))).final.code, 226);
    fig.up(big.size);
    // Warm up the front-end (first transfers load code and open pooled sockets) before counting.
    assert.equal((await seed.retr('/big.bin')).sha256, big.sha256);
    await seed.quit();
    await sleep(500);
    const fdsBefore = fe.fds();
    const rssBefore = fe.rssKb();

    const children = [];
    for (let i = 0; i < 5; i++) {
      const up = spawn('curl', ['-sS', '-T', '-', ftpUrl(fe.port, `/killed-up-${i}.bin`)], { stdio: ['pipe', 'ignore', 'ignore'] });
      up.stdin!.on('error', () => {});
      up.stdin!.write(Buffer.alloc(2 * MiB, i)); // and never ends
      children.push(up);
      const down = spawn('curl', ['-sS', '--limit-rate', '1M', ftpUrl(fe.port, '/big.bin'), '-o', join(dir, `part-${i}`)], { stdio: 'ignore' });
      children.push(down);
    }
    await until('five uploads reserved', async () => (await openReservations(c)) === 5);
    await until('five downloads under way', async () => {
      for (let i = 0; i < 5; i++) if (((await stat(join(dir, `part-${i}`)).catch(() => null))?.size ?? 0) === 0) return false;
      return true;
    });
    const exits = children.map((ch) => new Promise((r) => ch.once('exit', r)));
    for (const ch of children) ch.kill('SIGKILL');
    await Promise.all(exits);
    fig.fault(children.length);

    await until('every reservation released', async () => (await openReservations(c)) === 0, 20_000);
    for (let i = 0; i < 5; i++) assert.equal(await c.fidOf(`/killed-up-${i}.bin`), null, `upload ${i} is not visible`);
    await until('no temp file on the nodes', async () => (await c.filesOnDisk()).temps.length === 0);
    await c.drained();
    assert.deepEqual(await c.orphans(), []);
    // Pooled sockets to the nodes idle out after 15 s; what is left must be near the start.
    await until(`the front-end's fds back near ${fdsBefore}`, () => fe.fds() <= fdsBefore + 4, 30_000, 500);
    process.stdout.write(`# front-end fds ${fdsBefore} → ${fe.fds()}, rss ${rssBefore} → ${fe.rssKb()} KiB\n`);

    // And it serves on.
    const ftp = await loggedIn(fe.port);
    const r = await ftp.retr('/big.bin');
    fig.down(r.bytes);
    assert.equal(r.sha256, big.sha256);
    const listing = await ftp.list('/');
    assert.deepEqual(listing.lines, ['big.bin']);
    fig.verified();
    await ftp.quit();
    await jobs.stop();
  });
});
