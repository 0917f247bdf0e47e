// Two OS processes on one database at once: fids stay unique and every queue item is handled
// exactly once. Runs on MariaDB and on SQLite (two processes, one file).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/tracker/open.ts';
import type { Store } from '../../src/tracker/types.ts';
import { storeBackends } from '../harness/db.ts';
import type { TestDb } from '../harness/db.ts';

const WORKER = fileURLToPath(new URL('./fixtures/store-worker.ts', import.meta.url));

interface Worker {
  child: ChildProcess;
  ready: Promise<void>;
  result: Promise<WorkerResult>;
}

/** The fids a worker reserved or claimed; a reserving worker adds [first asked, last done] (ms). */
interface WorkerResult {
  fids: number[];
  window: [number, number] | null;
}

function startWorker(args: string[]): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let signalReady: () => void;
  const ready = new Promise<void>((ok) => (signalReady = ok));
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith('ready\n')) signalReady();
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const result = new Promise<WorkerResult>((ok, fail) => {
    child.on('error', fail);
    child.on('exit', (code) => {
      if (code !== 0) return fail(new Error(`worker ${args[1]} exited ${code}: ${err.trim()}`));
      const [, fids, window] = out.trim().split('\n');
      ok({ fids: JSON.parse(fids!) as number[], window: window ? (JSON.parse(window) as [number, number]) : null });
    });
  });
  // A worker that dies before it is ready must not leave the test waiting forever.
  result.catch(() => signalReady());
  return { child, ready, result };
}

/** Starts all workers, releases them together once every one is ready, and collects results. */
async function runTogether(argLists: string[][]): Promise<WorkerResult[]> {
  const workers = argLists.map(startWorker);
  try {
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.child.stdin!.write('go\n');
    return await Promise.all(workers.map((w) => w.result));
  } finally {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill();
  }
}

for (const backend of storeBackends) {
  describe(`two processes on one ${backend.name} database`, () => {
    let db: TestDb;
    let store: Store;
    before(async () => {
      db = await backend.create();
      store = await openStore(db.url);
      await store.migrate();
    });
    after(async () => {
      await store?.close();
      await db?.drop();
    });

    test('each reserving 1000 uploads: no fid is handed out twice', async () => {
      const domain = await store.createDomain('conc');
      const cls = (await store.getClass(domain.id, 'default'))!;
      const args = (n: number) => [db.url, 'reserve', String(domain.id), String(cls.id), String(n)];
      const [ra, rb] = await runTogether([args(1000), args(1000)]);
      const [a, b] = [ra!.fids, rb!.fids];
      assert.equal(a.length, 1000);
      assert.equal(b.length, 1000);
      const all = new Set([...a, ...b]);
      assert.equal(all.size, 2000, 'a fid was allocated twice');
      const stale = await store.staleReservations(Date.now() + 1, 5000);
      assert.equal(stale.length, 2000);
      assert.deepEqual(new Set(stale.map((r) => r.fid)), all);
      // Both processes really competed: each was asking for fids while the other was getting them.
      const [wa, wb] = [ra!.window!, rb!.window!];
      assert.ok(wa[0] < wb[1] && wb[0] < wa[1], `the workers did not overlap in time (${wa} / ${wb})`);
      if (backend.name === 'mysql') {
        // With row locks they interleave; SQLite's busy handler may let one process finish first.
        const [minA, maxA] = [Math.min(...a), Math.max(...a)];
        assert.ok(b.some((f) => f > minA && f < maxA), 'the workers did not interleave');
      }
    });

    test('claiming one queue of 500 items: every item processed exactly once', async () => {
      const now = Date.now();
      const fids = Array.from({ length: 500 }, (_, i) => 1_000_000 + i);
      for (const fid of fids) await store.enqueue('replicate', fid, { now: now - 1 });
      const [a, b] = await runTogether([
        [db.url, 'claim', 'replicate', 'worker-a'],
        [db.url, 'claim', 'replicate', 'worker-b'],
      ]);
      const done = [...a!.fids, ...b!.fids];
      assert.equal(done.length, 500, `processed ${done.length} times in total`);
      assert.deepEqual([...new Set(done)].sort((x, y) => x - y), fids);
      assert.ok(a!.fids.length > 0 && b!.fids.length > 0, `one worker did everything (${a!.fids.length}/${b!.fids.length})`);
      assert.equal(await store.queueDepth('replicate'), 0);
    });
  });
}
