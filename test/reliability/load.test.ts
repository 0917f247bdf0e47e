// Load (issue 8): 50 concurrent clients against one `mogftp ftp` process on 3 storage nodes, for
// MOGFTP_LOAD_SECONDS (30 s by default, 120 s with MOGFTP_RELIABILITY_LONG=1), doing STOR (new and
// overwrite), RETR, LIST, RENAME and DELE of 1 KiB–50 MiB files, each client in its own
// directory with a model of what it should hold. At the end every acknowledged file is read
// back through RETR and hashed on disk, replica counts are checked, listings match the models,
// nothing is orphaned once the jobs drain, and the front-end's RSS and fds are back near the start.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../harness/nodes.ts';
import { useCluster } from '../harness/cluster.ts';
import { type DaemonProcess } from '../harness/daemons.ts';
import { sleep, until } from '../harness/wait.ts';
import { contentStream, newContent, type Content } from './lib/content.ts';
import { trackFigures } from './lib/figures.ts';
import { loggedIn } from './lib/ftp.ts';

const fig = trackFigures('load');
const KiB = 1024;
const MiB = 1024 * KiB;
const LONG = !!process.env.MOGFTP_RELIABILITY_LONG;
const SECONDS = Number(process.env.MOGFTP_LOAD_SECONDS ?? (LONG ? 120 : 30));
const CLIENTS = Number(process.env.MOGFTP_LOAD_CLIENTS ?? 50);

/** Mostly small files, some medium, a few large: log-uniform within each band. */
function pickSize(): number {
  const u = Math.random();
  const [lo, hi] = u < 0.7 ? [1 * KiB, 256 * KiB] : u < 0.97 ? [256 * KiB, 8 * MiB] : [8 * MiB, 50 * MiB];
  return Math.round(Math.exp(Math.log(lo) + Math.random() * (Math.log(hi) - Math.log(lo))));
}

interface Tally {
  stor: number;
  overwrite: number;
  retr: number;
  list: number;
  rename: number;
  dele: number;
}

describe(`load: ${CLIENTS} clients for ${SECONDS} s`, () => {
  const c = useCluster({ db: 'mysql', nodes: 3, mindevcount: 2, auth: false });
  let fe: DaemonProcess;
  let admin: string;
  let snapshots: string;
  before(async () => {
    admin = `127.0.0.1:${await freePort()}`;
    snapshots = await mkdtemp(join(tmpdir(), 'mogftp-heap-'));
    // SIGUSR2 makes it write a heap snapshot, which first runs a full GC: then the heap figures
    // are what is live, not what the collector has not got round to.
    const nodeOptions = `${process.env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapshots}`.trim();
    fe = await c.startFrontendProcess(['--admin-listen', admin], { NODE_OPTIONS: nodeOptions });
  });
  after(async () => {
    if (snapshots) await rm(snapshots, { recursive: true, force: true });
  });

  /** The front-end's live heap (after a full GC), in KiB. */
  async function liveHeapKb(): Promise<number> {
    const before = (await readdir(snapshots)).length;
    fe.proc.kill('SIGUSR2');
    await until('the heap snapshot', async () => (await readdir(snapshots)).length > before, 30_000);
    // The snapshot is written on the main thread: once /metrics answers, it is done.
    const metrics = await (await fetch(`http://${admin}/metrics`)).text();
    for (const f of await readdir(snapshots)) await rm(join(snapshots, f), { force: true });
    return Math.round(Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(metrics)![1]) / 1024);
  }

  test('mixed traffic: every acknowledged file whole through RETR and on disk, counts right, RSS and fds back near the start', async () => {
    fig.scenario(`${CLIENTS} clients × ${SECONDS} s mixed STOR/RETR/LIST/RENAME/DELE, 1 KiB–50 MiB`);
    const jobs = c.startJobs({ monitorIntervalMs: 3000 });
    // Warm up (code loaded, pools open) before taking the baseline.
    const warm = await loggedIn(fe.port);
    await warm.cmd('MKD /load');
    const w0 = newContent(2 * MiB);
    assert.equal((await warm.stor('/warm.bin', contentStream(w0.seed, w0.size))).final.code, 226);
    assert.equal((await warm.retr('/warm.bin')).sha256, w0.sha256);
    await warm.quit();
    await sleep(1000);
    const rssStart = fe.rssKb();
    const fdsStart = fe.fds();
    const heapStart = await liveHeapKb();

    const models: Array<Map<string, Content>> = [];
    const problems: string[] = [];
    const tally: Tally = { stor: 0, overwrite: 0, retr: 0, list: 0, rename: 0, dele: 0 };
    let rssPeak = rssStart;
    let fdsPeak = fdsStart;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, fe.rssKb());
      fdsPeak = Math.max(fdsPeak, fe.fds());
    }, 500);
    const deadline = Date.now() + SECONDS * 1000;

    const worker = async (w: number) => {
      const model = new Map<string, Content>();
      models[w] = model;
      const dir = `/load/w${w}`;
      const ftp = await loggedIn(fe.port);
      const mkd = await ftp.cmd(`MKD ${dir}`);
      if (mkd.code !== 257) problems.push(`MKD ${dir}: ${mkd.code} ${mkd.text}`);
      let n = 0;
      const anyName = () => [...model.keys()][Math.floor(Math.random() * model.size)];
      while (Date.now() < deadline && problems.length < 20) {
        const u = Math.random();
        const existing = anyName();
        try {
          if (u < 0.35 || !existing) {
            const name = `f${n++}.bin`;
            const content = newContent(pickSize());
            const r = await ftp.stor(`${dir}/${name}`, contentStream(content.seed, content.size));
            fig.up(r.sent);
            tally.stor++;
            if (r.final.code === 226) model.set(name, content);
            else problems.push(`STOR ${dir}/${name}: ${r.final.code} ${r.final.text}`);
          } else if (u < 0.45) {
            const content = newContent(pickSize());
            const r = await ftp.stor(`${dir}/${existing}`, contentStream(content.seed, content.size));
            fig.up(r.sent);
            tally.overwrite++;
            if (r.final.code === 226) model.set(existing, content);
            else problems.push(`STOR over ${dir}/${existing}: ${r.final.code} ${r.final.text}`);
          } else if (u < 0.7) {
            const r = await ftp.retr(`${dir}/${existing}`);
            fig.down(r.bytes);
            tally.retr++;
            if (r.final.code !== 226) problems.push(`RETR ${dir}/${existing}: ${r.final.code} ${r.final.text}`);
            else if (r.sha256 !== model.get(existing)!.sha256) {
              fig.wrong(r.bytes);
              problems.push(`RETR ${dir}/${existing}: wrong bytes`);
            }
          } else if (u < 0.8) {
            const r = await ftp.list(dir, 'NLST');
            tally.list++;
            const names = r.lines.map((l) => l.replace(/^.*\//, '')).sort();
            if (r.final.code !== 226) problems.push(`NLST ${dir}: ${r.final.code} ${r.final.text}`);
            else if (names.join() !== [...model.keys()].sort().join()) problems.push(`NLST ${dir}: ${names.join()} ≠ model`);
          } else if (u < 0.9) {
            const to = `r${n++}.bin`;
            const a = await ftp.cmd(`RNFR ${dir}/${existing}`);
            const b = a.code === 350 ? await ftp.cmd(`RNTO ${dir}/${to}`) : a;
            tally.rename++;
            if (b.code === 250) {
              model.set(to, model.get(existing)!);
              model.delete(existing);
            } else problems.push(`RENAME ${dir}/${existing}: ${b.code} ${b.text}`);
          } else {
            const r = await ftp.cmd(`DELE ${dir}/${existing}`);
            tally.dele++;
            if (r.code === 250) model.delete(existing);
            else problems.push(`DELE ${dir}/${existing}: ${r.code} ${r.text}`);
          }
        } catch (err) {
          problems.push(`client ${w}: ${(err as Error).message}`);
          break;
        }
      }
      await ftp.quit();
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, w) => worker(w)));
    clearInterval(sampler);
    process.stdout.write(`# ${JSON.stringify(tally)}; front-end peak rss ${rssPeak} KiB, peak fds ${fdsPeak}\n`);
    assert.deepEqual(problems, []);

    // Every acknowledged file: listed, whole through RETR, whole on disk on mindevcount devices.
    const all = models.flatMap((m, w) => [...m].map(([name, content]) => ({ path: `/load/w${w}/${name}`, content })));
    const wrong: string[] = [];
    const verify = async (slice: typeof all) => {
      const ftp = await loggedIn(fe.port);
      for (const { path, content } of slice) {
        const r = await ftp.retr(path);
        fig.down(r.bytes);
        if (r.final.code !== 226 || r.sha256 !== content.sha256) {
          fig.lost();
          wrong.push(`${path}: ${r.final.code}, ${r.bytes} of ${content.size} bytes`);
        }
        const stored = await c.checkStored(path, content);
        if (stored) {
          fig.lost();
          wrong.push(stored);
        }
        fig.verified();
      }
      await ftp.quit();
    };
    await Promise.all(Array.from({ length: 8 }, (_, i) => verify(all.filter((_, j) => j % 8 === i))));
    assert.deepEqual(wrong, [], 'every acknowledged file is whole');
    const listing = await loggedIn(fe.port);
    for (const [w, model] of models.entries()) {
      const r = await listing.list(`/load/w${w}`);
      assert.deepEqual(r.lines.map((l) => l.replace(/^.*\//, '')).sort(), [...model.keys()].sort(), `listing of /load/w${w}`);
    }
    await listing.quit();

    await c.drained(120_000);
    await jobs.stop();
    assert.deepEqual(await c.store.staleReservations(Date.now() + 60_000, 10), [], 'no reservation left');
    assert.deepEqual(await c.orphans(), [], 'no orphaned replica or temp file');
    const { replicas } = await c.filesOnDisk();
    assert.equal(replicas.length, (all.length + 1) * 2, 'exactly mindevcount copies of each live file (and of warm.bin)');

    // The front-end gave back what the load took: pooled sockets idle out after 15 s, the live
    // heap is where it started. RSS stays higher (the allocator keeps the pages it had at the
    // peak), so it is only checked for gross growth.
    await until(`front-end fds back near ${fdsStart}`, () => fe.fds() <= fdsStart + 6, 40_000, 500);
    const rssEnd = fe.rssKb();
    const heapEnd = await liveHeapKb();
    process.stdout.write(
      `# front-end live heap ${heapStart} → ${heapEnd} KiB; rss ${rssStart} → peak ${rssPeak} → ${rssEnd} KiB; fds ${fdsStart} → peak ${fdsPeak} → ${fe.fds()}\n`,
    );
    assert.ok(heapEnd < heapStart + 16 * 1024, `live heap ${heapStart} → ${heapEnd} KiB`);
    assert.ok(rssEnd < rssStart + 512 * 1024, `RSS ${rssStart} → ${rssEnd} KiB`);
  });
});
