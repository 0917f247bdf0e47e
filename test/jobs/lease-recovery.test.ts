// Lease recovery with real `mogftp jobs` processes (issue 16 item 3): a jobs process SIGKILLed
// while it holds replicate items used to strand them for the 30 min lease; a restarted process
// now takes them over at once. A process that was only paused loses its items to another after
// the stale bound (15 s) and, when it runs again, does none of them a second time.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { JOBS_TEST_CLUSTER, useCluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';

const BIN = fileURLToPath(new URL('../../bin/mogftp.js', import.meta.url));

interface JobsProc {
  proc: ChildProcess;
  log(): string;
  exited: Promise<number | null>;
}

function startJobsProcess(dbUrl: string): JobsProc {
  const proc = spawn(process.execPath, [BIN, 'jobs', '--db', dbUrl, '--no-monitor', '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  proc.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, log: () => text, exited };
}

async function end(p: JobsProc | null): Promise<void> {
  if (!p || p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  p.proc.kill('SIGCONT');
  p.proc.kill('SIGKILL');
  await p.exited;
}

/** Lines of `log` saying fid was copied. */
function copiesLogged(log: string, fid: number): number {
  return log.split('\n').filter((l) => l.includes(`fid ${fid}: copied from device`)).length;
}

describe('lease recovery (mogftp jobs processes)', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 3, mindevcount: 2 });

  /** Files with one copy on the first node, whose process is stopped so copies from it hang. */
  async function strandedFiles(n: number): Promise<number[]> {
    const fids: number[] = [];
    for (let i = 0; i < n; i++) fids.push((await c.putFile(randomBytes(50_000), [c.nodes[0]!.devid])).fid);
    return fids;
  }

  /**
   * Waits until the jobs process holds every item: a probe claim finds none of them free (one it
   * does find it held for 1 ms only, so the jobs process can still take it).
   */
  async function allLeased(fids: number[]): Promise<void> {
    await waitFor(
      'the jobs process to lease every item',
      async () => {
        const free = await c.store.claim('replicate', 'test-probe', { limit: 100, leaseMs: 1, now: Date.now() });
        return free.filter((i) => fids.includes(i.fid)).length === 0;
      },
      20_000,
    );
  }

  test('SIGKILLed while holding leases: a restarted process does the items within seconds', async () => {
    const source = c.nodes[0]!;
    const fids = await strandedFiles(4);
    source.proc.kill('SIGSTOP'); // every copy from it hangs: the items stay leased
    let a: JobsProc | null = startJobsProcess(c.dbUrl);
    let b: JobsProc | null = null;
    try {
      await allLeased(fids);
      a.proc.kill('SIGKILL');
      await a.exited;
      source.proc.kill('SIGCONT');
      const started = Date.now();
      b = startJobsProcess(c.dbUrl);
      await waitFor(
        'every file at 2 copies after the restart',
        async () => (await Promise.all(fids.map((f) => c.store.replicasOf(f)))).every((r) => r.length === 2),
        120_000,
      );
      const seconds = (Date.now() - started) / 1000;
      console.log(`# figure: 4 replicate items leased by a SIGKILLed jobs process done ${seconds.toFixed(1)} s after the restart (lease 30 min)`);
      assert.match(b.log(), /jobs process \S+ is dead \(its pid \d+ is gone\)/);
      // (the log is written asynchronously: wait for its lines rather than read it at once)
      await waitFor('the restarted process to log each copy', async () => fids.every((f) => copiesLogged(b!.log(), f) >= 1), 10_000);
      for (const f of fids) assert.equal(copiesLogged(b.log(), f), 1, `fid ${f} copied once: ${b.log()}`);
    } finally {
      source.proc.kill('SIGCONT');
      await end(a);
      await end(b);
      a = null;
    }
  });

  test('paused past the stale bound: another process takes the items over, the paused one does none of them again', async () => {
    const source = c.nodes[0]!;
    const fids = await strandedFiles(3);
    source.proc.kill('SIGSTOP');
    const a = startJobsProcess(c.dbUrl);
    let b: JobsProc | null = null;
    try {
      await allLeased(fids);
      a.proc.kill('SIGSTOP'); // alive (its pid runs), but silent: only the stale bound gives its items away
      source.proc.kill('SIGCONT');
      const started = Date.now();
      b = startJobsProcess(c.dbUrl);
      await waitFor(
        'every file at 2 copies, made by the second process',
        async () => (await Promise.all(fids.map((f) => c.store.replicasOf(f)))).every((r) => r.length === 2),
        120_000,
      );
      const seconds = (Date.now() - started) / 1000;
      console.log(`# figure: items of a paused (SIGSTOPped) jobs process taken over after ${seconds.toFixed(1)} s (stale bound 15 s)`);
      assert.ok(seconds >= 14, `taken over only once the owner was silent for the stale bound (${seconds} s)`);
      // The paused process runs again: its copies in flight must not be recorded or counted.
      a.proc.kill('SIGCONT');
      await waitFor('the first process to give up its items', async () => /taken over by another jobs process/.test(a.log()) || a.log(), 30_000);
      await waitFor('the second process to log each copy', async () => fids.every((f) => copiesLogged(b!.log(), f) >= 1), 10_000);
      await waitFor('both queues empty', async () => (await c.store.queueDepth('replicate')) === 0 && (await c.store.queueDepth('delete')) === 0, 60_000);
      for (const f of fids) {
        assert.equal(copiesLogged(a.log(), f), 0, `the paused process recorded no copy of fid ${f}: ${a.log()}`);
        assert.equal(copiesLogged(b.log(), f), 1, `fid ${f} copied once by the second process`);
        const recorded = await c.store.replicasOf(f);
        assert.equal(recorded.length, 2, `fid ${f}: 2 copies recorded`);
        // Nothing unrecorded stays on disk: a copy the paused process wrote was handed to the delete queue.
        for (const n of c.nodes) {
          const there = (await c.onDisk(n.devid, f)) !== null;
          assert.equal(there, recorded.includes(n.devid), `fid ${f} on device ${n.devid}: on disk iff recorded`);
        }
      }
    } finally {
      source.proc.kill('SIGCONT');
      await end(a);
      await end(b);
    }
  });
});
