// Two jobs processes on one MariaDB database replicate 100 fids: each fid is copied exactly once.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { JOBS_TEST_CLUSTER, useCluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';

const WORKER = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));

interface Worker {
  proc: ChildProcessWithoutNullStreams;
  events: Array<{ type: string; fid?: number; to?: number }>;
  ready: Promise<void>;
  exited: Promise<number | null>;
  stderr: string[];
}

function startWorker(dbUrl: string): Worker {
  const proc = spawn(process.execPath, ['--import', 'tsx', WORKER], { env: { ...process.env, JOBS_DB_URL: dbUrl }, stdio: 'pipe' });
  const events: Worker['events'] = [];
  const stderr: string[] = [];
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const e = JSON.parse(line) as Worker['events'][0];
    if (e.type === 'ready') onReady();
    events.push(e);
  });
  proc.stderr.on('data', (d: Buffer) => stderr.push(d.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, events, ready, exited, stderr };
}

describe('two jobs processes on MariaDB', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, db: 'mysql', nodes: 3, mindevcount: 2 });
  const workers: Worker[] = [];
  c.onStop(() => {
    for (const w of workers) if (w.proc.exitCode === null) w.proc.kill('SIGKILL');
  });

  test('100 fids replicated, none copied twice, none missed', async () => {
    const files = new Map<number, Buffer>();
    for (let i = 0; i < 100; i++) {
      const bytes = randomBytes(20_000 + i * 100);
      const { fid } = await c.putFile(bytes, [c.nodes[i % 3]!.devid]);
      files.set(fid, bytes);
    }
    assert.equal(await c.store.queueDepth('replicate'), 100);

    workers.push(startWorker(c.dbUrl), startWorker(c.dbUrl));
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.proc.stdin.write('go\n'); // both start together

    await waitFor(
      'all fids at 2 copies, queue empty',
      async () => {
        if ((await c.store.queueDepth('replicate')) !== 0) return 'queue not empty';
        for (const fid of files.keys()) if ((await c.store.replicasOf(fid)).length !== 2) return `fid ${fid} short`;
        return true;
      },
      60_000,
    );
    for (const w of workers) w.proc.stdin.write('stop\n');
    const codes = await Promise.all(workers.map((w) => w.exited));
    assert.deepEqual(codes, [0, 0], workers.map((w) => w.stderr.join('')).join('\n'));

    const copies = workers.map((w) => w.events.filter((e) => e.type === 'copied'));
    const perFid = new Map<number, number>();
    for (const list of copies) for (const e of list) perFid.set(e.fid!, (perFid.get(e.fid!) ?? 0) + 1);
    assert.equal(perFid.size, 100, 'every fid copied');
    for (const [fid, n] of perFid) assert.equal(n, 1, `fid ${fid} copied ${n} times`);
    assert.ok(copies[0]!.length > 0 && copies[1]!.length > 0, `both processes worked: ${copies[0]!.length} / ${copies[1]!.length}`);

    // And on disk: each fid has exactly its two recorded copies, with the right bytes.
    for (const [fid, bytes] of files) {
      const on = await c.store.replicasOf(fid);
      for (const n of c.nodes) {
        const disk = await c.onDisk(n.devid, fid);
        if (on.includes(n.devid)) assert.ok(disk?.equals(bytes), `fid ${fid} on ${n.devid}`);
        else assert.equal(disk, null, `fid ${fid}: no stray copy on ${n.devid}`);
      }
    }
  });
});
