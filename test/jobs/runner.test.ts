// The queue runner on a real SQLite store: concurrency bound, retry with backoff, clean stop.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { QueueRunner, processOwnerId } from '../../src/jobs/runner.ts';
import { openStore } from '../../src/tracker/open.ts';
import type { QueueItem, Store } from '../../src/tracker/types.ts';
import { createSqliteTestDb } from '../harness/db.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(10);
  }
}

describe('queue runner', () => {
  let store: Store;
  let drop: () => Promise<unknown>;
  before(async () => {
    const db = await createSqliteTestDb();
    drop = () => db.drop();
    store = await openStore(db.url, { createDatabase: true });
    await store.migrate();
  });
  after(async () => {
    await store?.close();
    await drop?.();
  });

  test('the owner id names host, pid and a random part, stable within the process', () => {
    const id = processOwnerId();
    assert.match(id, new RegExp(`^[^:]+:${process.pid}:[0-9a-f]{8}$`));
    assert.equal(processOwnerId(), id);
  });

  test('processes every item once, never more than `concurrency` at a time', async () => {
    for (let fid = 1; fid <= 12; fid++) await store.enqueue('fsck', fid, { now: Date.now() });
    let running = 0;
    let peak = 0;
    const seen: number[] = [];
    const runner = new QueueRunner(store, {
      queue: 'fsck',
      concurrency: 3,
      pollMs: 20,
      handler: async (item) => {
        running++;
        peak = Math.max(peak, running);
        seen.push(item.fid);
        await sleep(40);
        running--;
      },
    }).start();
    await until('queue empty', async () => (await store.queueDepth('fsck')) === 0);
    await runner.stop();
    assert.equal(peak, 3);
    assert.deepEqual(seen.sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i + 1));
  });

  test('a failing item is retried with growing backoff and completes once it succeeds', async () => {
    const attempts: { at: number; failcount: number }[] = [];
    const runner = new QueueRunner(store, {
      queue: 'fsck',
      pollMs: 5,
      backoffScale: 0.004, // 15 s → 60 ms, 60 s → 240 ms
      handler: async (item: QueueItem) => {
        attempts.push({ at: Date.now(), failcount: item.failcount });
        if (attempts.length < 3) throw new Error('node away');
      },
    }).start();
    await store.enqueue('fsck', 100, { now: Date.now() });
    runner.wake();
    await until('completed', async () => attempts.length === 3 && (await store.queueDepth('fsck')) === 0);
    await runner.stop();
    assert.deepEqual(attempts.map((a) => a.failcount), [0, 1, 2]);
    const gap1 = attempts[1]!.at - attempts[0]!.at;
    const gap2 = attempts[2]!.at - attempts[1]!.at;
    assert.ok(gap1 >= 60 * 0.8 - 5, `first retry after ${gap1} ms`);
    assert.ok(gap2 >= 240 * 0.8 - 5, `second retry after ${gap2} ms`);
  });

  test('stop() waits for the items in flight and then completes them', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = false;
    const runner = new QueueRunner(store, {
      queue: 'fsck',
      pollMs: 5,
      handler: async () => {
        started = true;
        await gate;
      },
    }).start();
    await store.enqueue('fsck', 200, { now: Date.now() });
    runner.wake();
    await until('started', () => started);
    let stopped = false;
    const stopping = runner.stop().then(() => (stopped = true));
    await sleep(100);
    assert.equal(stopped, false, 'stop waits for the item');
    release();
    await stopping;
    assert.equal(await store.queueDepth('fsck'), 0, 'the item was completed');
  });

  test('two runners share a queue without processing an item twice', async () => {
    for (let fid = 300; fid < 340; fid++) await store.enqueue('fsck', fid, { now: Date.now() });
    const byRunner = [new Map<number, number>(), new Map<number, number>()];
    const runners = byRunner.map(
      (seen, i) =>
        new QueueRunner(store, {
          queue: 'fsck',
          owner: `test-runner-${i}`,
          concurrency: 4,
          pollMs: 5,
          handler: async (item) => {
            seen.set(item.fid, (seen.get(item.fid) ?? 0) + 1);
            await sleep(5);
          },
        }),
    );
    runners.forEach((r) => r.start());
    await until('queue empty', async () => (await store.queueDepth('fsck')) === 0);
    await Promise.all(runners.map((r) => r.stop()));
    const all = [...byRunner[0]!.keys(), ...byRunner[1]!.keys()].sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: 40 }, (_, i) => 300 + i));
    for (const seen of byRunner) for (const n of seen.values()) assert.equal(n, 1);
  });
});
