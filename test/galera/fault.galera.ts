// A Galera node failing under FTP load (issue 22): three Galera nodes, two `mogftp ftp`
// processes on different nodes, a `mogftp jobs` process on the third, 30 clients uploading and
// reading back through the other front-end, with the default login throttle (30 clients behind
// one address are told "busy" at worst, never banned). One node fails mid-run: kill -9 of the one
// front-end 1 uses, then of the one the jobs process uses, then SIGSTOP (a hung server) of the one
// front-end 1 uses. Eight uploads are paused half-way through their bytes when the node fails, so
// some are surely in flight. Every upload that got 226 is there and byte-identical afterwards;
// every other one failed cleanly and left nothing visible, no reservation once the reaper's work
// is done, no copy on a node that the database does not record once the deletions ran; the
// front-ends serve again within a bound measured here; the failed node rejoins and catches up;
// the jobs bring every file to its copies. Run by `npm run test:galera`.
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
import { holdUpload, type HeldUpload } from './lib/held.ts';
import { Load, type Attempt } from './lib/load.ts';

const unavailable = galeraUnavailable();
const CLIENTS = Number(process.env.MOGFTP_GALERA_CLIENTS ?? 30);
/** Uploads paused half-way on each front-end when the node fails. */
const HELD_PER_FE = 4;
/** The URL's statement limit here (the default is 30 s): what bounds a wait on a SIGSTOPped node. */
const QUERY_TIMEOUT = 'queryTimeout=10';
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
    fe.push(await startDaemonProcess('ftp', g.url(dbName, [1, 2, 3], QUERY_TIMEOUT)));
    fe.push(await startDaemonProcess('ftp', g.url(dbName, [2, 3, 1], QUERY_TIMEOUT)));
    jobs = await startJobsProcess(g.url(dbName, [3, 1, 2], QUERY_TIMEOUT));
  });
  after(async () => {
    if (jobs) await endProcess(jobs.proc, 'SIGKILL');
    for (const p of fe) await p.kill('SIGKILL');
    await c?.stop();
    await g?.destroy();
  });

  /** `HELD_PER_FE` uploads on each front-end, each paused half-way. */
  async function holdUploads(tag: string): Promise<HeldUpload[]> {
    const held = [];
    for (let i = 0; i < 2 * HELD_PER_FE; i++) held.push(holdUpload(fe[i % 2]!.port, i % 2, `/${tag}-held-${i}.bin`));
    return Promise.all(held);
  }

  /** Runs the load, makes `node` fail mid-run (kill -9 or SIGSTOP), checks everything. */
  async function scenario(node: number, label: string, fault: 'kill' | 'pause'): Promise<void> {
    const load = new Load([fe[0]!.port, fe[1]!.port], `n${node}${fault}`);
    load.start(CLIENTS);
    await until('uploads under way on both front-ends', () => load.firstAckAfter(0, 0) !== null && load.firstAckAfter(1, 0) !== null, 60_000);
    const held = await holdUploads(`n${node}${fault}`);
    const failedAt = Date.now();
    await (fault === 'kill' ? g.kill(node) : g.pause(node));
    // Half go on at once (their commit meets the failure), half once both front-ends serve again.
    held.forEach((h, i) => i % 2 === 0 && h.release());
    await until('both front-ends acknowledge uploads again', () => load.firstAckAfter(0, failedAt) !== null && load.firstAckAfter(1, failedAt) !== null, 120_000);
    held.forEach((h) => h.release());
    const heldEnds = await Promise.all(held.map((h) => h.done));
    await sleep(3000);
    await load.stop();
    const r = load.results;
    const back = [0, 1].map((i) => (load.firstAckAfter(i, failedAt)! - failedAt) / 1000);
    const rejoinStart = Date.now();
    await (fault === 'kill' ? g.rejoin(node) : g.resume(node));
    const rejoinSeconds = (Date.now() - rejoinStart) / 1000;

    // The held uploads join the others: acknowledged ones are checked byte for byte, failed ones for nothing visible.
    const heldAttempts: Attempt[] = held.map((h, i) => ({ path: h.path, content: h.content, fe: h.fe, at: h.pausedAt, doneAt: heldEnds[i]!.at, code: heldEnds[i]!.code, text: heldEnds[i]!.text }));
    const inFlight = held.filter((h, i) => h.paused && h.pausedAt <= failedAt && heldEnds[i]!.at > failedAt);
    // Front-end 1 works on node 1 first, front-end 2 on node 2; the jobs process on node 3.
    const feOnNode = node === 1 ? 0 : node === 2 ? 1 : null;
    const heldAcked = heldAttempts.filter((a) => a.code === 226);
    const failedCodes = [...new Set(r.failed.map((a) => a.code))].sort();
    console.log(
      `# ${label}: ${r.acked.length} uploads acknowledged, ${r.failed.length} failed (codes ${failedCodes.join(',')}), ` +
        `${r.verifiedReads} read back verified across nodes, ${r.failedReads} read-backs failed cleanly; ` +
        `front-ends acknowledged again ${back.map((s) => s.toFixed(1)).join(' s / ')} s after the ${fault}; node ${node} back and synced in ${rejoinSeconds.toFixed(1)} s; ` +
        `${inFlight.length} uploads mid-stream at the ${fault} (${inFlight.filter((h) => h.fe === feOnNode).length} through the front-end on node ${node}): ` +
        `${heldAcked.length} got 226, the others ${heldAttempts.filter((a) => a.code !== 226).map((a) => `${a.code} ${a.text}`.trim()).join(' | ') || '(none)'}`,
    );
    const samples = [...new Set(r.failed.map((a) => `${a.code} ${a.text}`))].slice(0, 5);
    if (samples.length) console.log(`# ${label}: failures such as ${samples.join(' | ')}`);
    if (process.env.MOGFTP_GALERA_DEBUG) console.log(fe.map((p) => p.output()).join('\n----\n'));

    assert.equal(inFlight.length, held.length, 'every held upload was mid-stream when the node failed');
    if (feOnNode !== null) assert.ok(inFlight.some((h) => h.fe === feOnNode), `an upload through the front-end on node ${node} was in flight`);
    assert.deepEqual(r.wrongReads, [], 'no read-back of an acknowledged upload gave wrong bytes or 550');
    await checkAnswers([...r.acked, ...heldAcked], [...r.failed, ...heldAttempts.filter((a) => a.code !== 226)]);
    await checkCaughtUp(node);
    await checkCopies(label);
    await checkNothingLeft(label);
    for (const p of fe) assert.ok(p.alive(), `a front-end died:\n${p.output()}`);
    assert.ok(r.acked.length >= CLIENTS, `only ${r.acked.length} uploads acknowledged`);
  }

  /** Every acknowledged upload is there byte for byte through both front-ends; every failed one left nothing visible. */
  async function checkAnswers(acked: Attempt[], failed: Attempt[]): Promise<void> {
    for (const a of failed) assert.ok(a.code === 0 || (a.code >= 400 && a.code < 600), `${a.path}: ${a.code} ${a.text}`);
    const readers = await Promise.all(fe.map((p) => loggedIn(p.port)));
    for (const [i, a] of acked.entries()) {
      const got = await readers[i % 2]!.retr(a.path);
      assert.equal(got.final.code, 226, `${a.path} (226 at ${a.at}): ${got.final.code} ${got.final.text}`);
      assert.equal(got.sha256, a.content.sha256, `${a.path}: other bytes than were acknowledged`);
    }
    for (const a of failed) {
      const s = await readers[0]!.cmd(`SIZE ${a.path}`);
      assert.equal(s.code, 550, `${a.path} failed with ${a.code} ${a.text} but is visible: ${s.code} ${s.text}`);
    }
    for (const rd of readers) await rd.quit();
  }

  async function query(n: number, sql: string): Promise<Record<string, unknown>> {
    const conn = await g.connect(n, dbName);
    try {
      await conn.query('SET SESSION wsrep_sync_wait = 1');
      const [rows] = await conn.query(sql);
      return (rows as Array<Record<string, unknown>>)[0]!;
    } finally {
      await conn.end();
    }
  }

  /** The node that failed has the same files and entries as another. */
  async function checkCaughtUp(node: number): Promise<void> {
    const sql = `SELECT (SELECT COUNT(*) FROM entries WHERE kind = 'file') AS entries, (SELECT COUNT(*) FROM files) AS files, (SELECT COALESCE(SUM(fid), 0) FROM files) AS fids`;
    assert.equal(JSON.stringify(await query(node, sql)), JSON.stringify(await query(node === 1 ? 2 : 1, sql)), `node ${node} caught up after coming back`);
  }

  /** The jobs process (moved to another node if its own failed) brings every file to 2 copies. */
  async function checkCopies(label: string): Promise<void> {
    const jobsStart = Date.now();
    const short = 'SELECT COUNT(*) AS n FROM files f WHERE (SELECT COUNT(*) FROM replicas r WHERE r.fid = f.fid) < 2';
    await until('every file has its 2 copies', async () => Number((await query(2, short)).n) === 0, 120_000, 500);
    console.log(`# ${label}: all files at 2 copies ${((Date.now() - jobsStart) / 1000).toFixed(1)} s after the checks; jobs process alive: ${jobs.proc.exitCode === null}`);
    assert.equal(jobs.proc.exitCode, null, `the jobs process died:\n${jobs.out.text()}`);
  }

  /**
   * What failed uploads leave: their reservations go (released by the front-end as soon as the
   * database answers; any still there is what the reaper aborts after its timeout, done here at
   * once), the deletions that queues run, and then no copy on a node lacks its database record.
   */
  async function checkNothingLeft(label: string): Promise<void> {
    const reservations = async () => Number((await query(2, 'SELECT COUNT(*) AS n FROM reservations')).n);
    const released = await until('the front-ends release the failed uploads\' reservations', async () => (await reservations()) === 0, 90_000, 500).then(() => true, () => false);
    const stale = await c.store.staleReservations(Date.now() + 1, 1000);
    for (const res of stale) await c.store.abortUpload(res.fid);
    await until('no deletion or replication left to do', async () => Number((await query(2, "SELECT COUNT(*) AS n FROM queue WHERE queue IN ('delete', 'replicate')")).n) === 0, 120_000, 500);
    const { replicas } = await c.filesOnDisk();
    const orphans = [];
    for (const rep of replicas) if (!(await c.store.replicasOf(rep.fid)).includes(rep.devid)) orphans.push(`fid ${rep.fid} on dev${rep.devid}`);
    console.log(`# ${label}: reservations all released by the front-ends: ${released} (${stale.length} left for the reaper); ${replicas.length} copies on the nodes, ${orphans.length} without a record`);
    assert.deepEqual(orphans, [], 'every copy on the nodes is recorded');
  }

  test('kill -9 of the node front-end 1 uses: nothing acknowledged is lost, both serve again', async () => {
    await scenario(1, 'front-end 1 node killed', 'kill');
  });

  test('kill -9 of the node the jobs process uses: the same, and the jobs carry on', async () => {
    await scenario(3, 'jobs node killed', 'kill');
  });

  test('SIGSTOP of the node front-end 1 uses (a hung server): requests wait at most the query timeout, then go on elsewhere', async () => {
    await scenario(1, 'front-end 1 node hung', 'pause');
  });
});
