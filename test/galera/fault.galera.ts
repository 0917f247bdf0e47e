// kill -9 of a Galera node under FTP load (issue 22): three Galera nodes, two `mogftp ftp`
// processes on different nodes, a `mogftp jobs` process on the third, 30 clients uploading and
// reading back through the other front-end. One node dies mid-run: first the one front-end 1
// uses, then the one the jobs process uses. Every upload that got 226 is there and byte-identical
// afterwards, on every node; every other one failed cleanly and is not visible; the front-ends
// serve again within a bound measured here; the dead node rejoins and catches up; the jobs
// bring every file to its copies. Run by `npm run test:galera`.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Cluster } from '../harness/cluster.ts';
import { startDaemonProcess, type DaemonProcess } from '../harness/daemons.ts';
import { endProcess, Tail } from '../harness/processes.ts';
import { BIN } from '../harness/quickstart-process.ts';
import { until } from '../harness/wait.ts';
import { loggedIn } from '../reliability/lib/ftp.ts';
import { Galera, galeraUnavailable } from './lib/galera.ts';
import { Load } from './lib/load.ts';

const unavailable = galeraUnavailable();
const CLIENTS = Number(process.env.MOGFTP_GALERA_CLIENTS ?? 30);
// 30 clients share 127.0.0.1: the login throttle (tested elsewhere) must not ban it.
const FE_ARGS = ['--login-fail-limit', '0'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `mogftp jobs` on `dbUrl`, once it says it runs. */
async function startJobsProcess(dbUrl: string): Promise<{ proc: ChildProcess; out: Tail }> {
  const proc = spawn(process.execPath, [BIN, 'jobs', '--db', dbUrl, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new Tail(32_000);
  out.attach(proc.stdout!);
  out.attach(proc.stderr!);
  // It logs to stderr (waitForLine watches stdout).
  try {
    await until('mogftp jobs says it runs', () => /jobs running/.test(out.text()), 30_000);
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`${String(err)}\n${out.text()}`);
  }
  return { proc, out };
}

describe('FTP on a Galera cluster while a database node is killed', { skip: unavailable ? `skipped: ${unavailable}` : false }, () => {
  let g: Galera;
  let dbName: string;
  let c: Cluster;
  const fe: DaemonProcess[] = [];
  let jobs: { proc: ChildProcess; out: Tail };

  before(async () => {
    g = await Galera.start();
    const db = await g.createDb();
    dbName = db.name;
    // writeQuorum 1 of 2 copies: every upload queues a replication, which the jobs process
    // (on another node than the front-ends) must carry out.
    c = await Cluster.start({ db, nodes: 3, mindevcount: 2, writeQuorum: 1, auth: false });
    fe.push(await startDaemonProcess('ftp', g.url(dbName, [1, 2, 3]), FE_ARGS));
    fe.push(await startDaemonProcess('ftp', g.url(dbName, [2, 3, 1]), FE_ARGS));
    jobs = await startJobsProcess(g.url(dbName, [3, 1, 2]));
  });
  after(async () => {
    if (jobs) await endProcess(jobs.proc, 'SIGKILL');
    for (const p of fe) await p.kill('SIGKILL');
    await c?.stop();
    await g?.destroy();
  });

  /** Runs the load, kills `node` mid-run, checks everything; returns the figures it printed. */
  async function scenario(node: number, label: string): Promise<void> {
    const load = new Load([fe[0]!.port, fe[1]!.port], `n${node}`);
    load.start(CLIENTS);
    await until('uploads under way on both front-ends', () => load.firstAckAfter(0, 0) !== null && load.firstAckAfter(1, 0) !== null, 60_000);
    await sleep(2000);
    const killedAt = Date.now();
    await g.kill(node);
    await until('both front-ends acknowledge uploads again', () => load.firstAckAfter(0, killedAt) !== null && load.firstAckAfter(1, killedAt) !== null, 60_000);
    await sleep(3000);
    await load.stop();
    const r = load.results;
    const back = [0, 1].map((i) => (load.firstAckAfter(i, killedAt)! - killedAt) / 1000);

    const rejoinStart = Date.now();
    await g.rejoin(node);
    const rejoinSeconds = (Date.now() - rejoinStart) / 1000;
    const failedCodes = [...new Set(r.failed.map((a) => a.code))].sort();
    console.log(
      `# ${label}: ${r.acked.length} uploads acknowledged, ${r.failed.length} failed (codes ${failedCodes.join(',')}), ` +
        `${r.verifiedReads} read back verified across nodes, ${r.failedReads} read-backs failed cleanly; ` +
        `front-ends acknowledged again ${back.map((s) => s.toFixed(1)).join(' s / ')} s after the kill; node ${node} rejoined and synced in ${rejoinSeconds.toFixed(1)} s`,
    );

    const samples = [...new Set(r.failed.map((a) => `${a.code} ${a.text}`))].slice(0, 5);
    if (samples.length) console.log(`# ${label}: failures such as ${samples.join(' | ')}`);
    if (process.env.MOGFTP_GALERA_DEBUG) console.log(fe.map((p) => p.output()).join('\n----\n'));
    assert.deepEqual(r.wrongReads, [], 'no read-back of an acknowledged upload gave wrong bytes or 550');
    for (const a of r.failed) assert.ok(a.code === 0 || (a.code >= 400 && a.code < 600), `${a.path}: ${a.code} ${a.text}`);

    // Every acknowledged upload, through both front-ends, byte for byte (RETR verifies checksums too).
    const readers = await Promise.all(fe.map((p) => loggedIn(p.port)));
    for (const [i, a] of r.acked.entries()) {
      const got = await readers[i % 2]!.retr(a.path);
      assert.equal(got.final.code, 226, `${a.path} (226 at ${a.at}): ${got.final.code} ${got.final.text}`);
      assert.equal(got.sha256, a.content.sha256, `${a.path}: other bytes than were acknowledged`);
    }
    // Every failed one left nothing visible.
    for (const a of r.failed) {
      const s = await readers[0]!.cmd(`SIZE ${a.path}`);
      assert.equal(s.code, 550, `${a.path} failed with ${a.code} ${a.text} but is visible: ${s.code} ${s.text}`);
    }
    for (const rd of readers) await rd.quit();

    // The rejoined node has caught up: the same files and entries as the others.
    const counts = async (n: number) => {
      const conn = await g.connect(n, dbName);
      try {
        await conn.query('SET SESSION wsrep_sync_wait = 1');
        const [rows] = await conn.query(`SELECT (SELECT COUNT(*) FROM entries WHERE kind = 'file') AS entries, (SELECT COUNT(*) FROM files) AS files, (SELECT COALESCE(SUM(fid), 0) FROM files) AS fids`);
        return JSON.stringify((rows as unknown[])[0]);
      } finally {
        await conn.end();
      }
    };
    assert.equal(await counts(node), await counts(node === 1 ? 2 : 1), `node ${node} caught up after rejoining`);

    // The jobs process (moved to another node if its own died) brings every file to 2 copies.
    const jobsStart = Date.now();
    await until('every file has its 2 copies', async () => {
      const conn = await g.connect(2, dbName);
      try {
        const [rows] = await conn.query('SELECT COUNT(*) AS n FROM files f WHERE (SELECT COUNT(*) FROM replicas r WHERE r.fid = f.fid) < 2');
        return Number((rows as Array<{ n: number }>)[0]!.n) === 0;
      } finally {
        await conn.end();
      }
    }, 120_000, 500);
    console.log(`# ${label}: all files at 2 copies ${((Date.now() - jobsStart) / 1000).toFixed(1)} s after the checks; jobs process alive: ${jobs.proc.exitCode === null}`);
    assert.equal(jobs.proc.exitCode, null, `the jobs process died:\n${jobs.out.text()}`);
    for (const p of fe) assert.ok(p.alive(), `a front-end died:\n${p.output()}`);
    assert.ok(r.acked.length >= CLIENTS, `only ${r.acked.length} uploads acknowledged`);
  }

  test('kill -9 of the node front-end 1 uses: nothing acknowledged is lost, both serve again', async () => {
    await scenario(1, 'front-end 1 node killed');
  });

  test('kill -9 of the node the jobs process uses: the same, and the jobs carry on', async () => {
    await scenario(3, 'jobs node killed');
  });
});
