// The device monitor against a real store (SQLite) and real node processes (ours and nginx).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { statfsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { startMonitor } from '../../src/jobs/monitor.ts';
import type { Monitor } from '../../src/jobs/monitor.ts';
import { StorageClient } from '../../src/storage/client.ts';
import { openStore } from '../../src/tracker/open.ts';
import type { Store } from '../../src/tracker/types.ts';
import { createSqliteTestDb } from '../harness/db.ts';
import type { TestDb } from '../harness/db.ts';
import { startNginxNode, startNodeProcess } from '../harness/nodes.ts';
import type { NodeHandle } from '../harness/nodes.ts';
import { filesUnder } from '../storage/node.conformance.ts';

describe('device monitor', () => {
  let db: TestDb;
  let store: Store;
  let client: StorageClient;
  const nodes: NodeHandle[] = [];
  const monitors: Monitor[] = [];
  const logs: string[] = [];
  let hostSeq = 0;

  before(async () => {
    db = await createSqliteTestDb();
    store = await openStore(db.url);
    await store.migrate();
    client = new StorageClient();
  });
  after(async () => {
    await Promise.all(monitors.map((m) => m.stop()));
    client?.close();
    await Promise.all(nodes.map((n) => n.stop()));
    await store?.close();
    await db?.drop();
  });

  /** A host for `port` with one device; the device directory is created on `node` unless told not to. */
  async function device(port: number, node?: NodeHandle) {
    const host = await store.createHost({ name: `host${++hostSeq}`, address: '127.0.0.1', httpPort: port });
    const dev = await store.createDevice({ hostId: host.id });
    node?.addDevice(dev.id);
    return { host, dev };
  }
  function monitor(opts: { intervalMs?: number; requestTimeoutMs?: number } = {}) {
    const m = startMonitor(store, { client, intervalMs: opts.intervalMs ?? 60_000, log: (msg) => logs.push(msg), ...opts });
    monitors.push(m);
    return m;
  }
  /** One round with a fresh monitor, stopped afterwards (its own first loop round included). */
  async function oneRound(opts: { requestTimeoutMs?: number } = {}) {
    const m = monitor(opts);
    await m.runOnce();
    await m.stop();
  }
  async function ourNode() {
    const n = await startNodeProcess();
    nodes.push(n);
    return n;
  }
  async function waitObserved(devid: number, want: string, withinMs: number) {
    const until = Date.now() + withinMs;
    let last = '';
    while (Date.now() < until) {
      last = (await store.getDevice(devid))!.observed;
      if (last === want) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`dev${devid} still ${last} after ${withinMs} ms, wanted ${want}`);
  }

  test('a round records writeable, with usage in mb_total/mb_used, and leaves no test file', async () => {
    const node = await ourNode();
    const { dev } = await device(node.port, node);
    const t0 = Date.now();
    await oneRound();
    const d = (await store.getDevice(dev.id))!;
    assert.equal(d.observed, 'writeable');
    assert.ok(d.observedAt !== null && d.observedAt >= t0);
    const fs = statfsSync(`${node.root}/dev${dev.id}`);
    const totalMb = (fs.blocks * fs.bsize) / 1024 / 1024;
    const usedMb = ((fs.blocks - fs.bfree) * fs.bsize) / 1024 / 1024;
    assert.ok(d.mbTotal !== null && Math.abs(d.mbTotal - totalMb) <= 1, `mb_total ${d.mbTotal} vs ${totalMb}`);
    assert.ok(d.mbUsed !== null && Math.abs(d.mbUsed - usedMb) <= 1024, `mb_used ${d.mbUsed} vs ${usedMb}`);
    assert.deepEqual(await filesUnder(`${node.root}/dev${dev.id}`), []);
  });

  test('a stopped node turns unreachable within 10 s and writeable again within 10 s of its restart', async () => {
    const node = await ourNode();
    const { dev } = await device(node.port, node);
    const m = monitor({ intervalMs: 3000 });
    await waitObserved(dev.id, 'writeable', 10_000);
    await node.kill();
    const stoppedAt = Date.now();
    await waitObserved(dev.id, 'unreachable', 10_000);
    const noticedIn = Date.now() - stoppedAt;
    await node.restart();
    await waitObserved(dev.id, 'writeable', 10_000);
    await m.stop(); // its rounds would otherwise overlap the other tests' checks
    const d = (await store.getDevice(dev.id))!;
    assert.equal(d.status, 'alive', "the operator's status is left alone");
    assert.ok(noticedIn < 10_000);
    assert.ok(logs.some((l) => l.includes(`dev${dev.id}`) && l.includes('unreachable')), 'state changes are logged');
  });

  test('a host that accepts connections but never answers is unreachable after the request timeout', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const { dev } = await device((silent.address() as net.AddressInfo).port);
      const started = Date.now();
      await oneRound({ requestTimeoutMs: 500 });
      assert.equal((await store.getDevice(dev.id))!.observed, 'unreachable');
      assert.ok(Date.now() - started < 4000, `two rounds took ${Date.now() - started} ms`);
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  });

  test('a node that answers but cannot write is readonly; a missing device directory is unreachable', async () => {
    const node = await ourNode();
    const broken = await device(node.port, node);
    // A file where the test-write directory should be: every test write fails, reads still work.
    writeFileSync(`${node.root}/dev${broken.dev.id}/test-write`, 'in the way');
    const missing = await device(node.port); // no directory on the node
    await oneRound();
    const b = (await store.getDevice(broken.dev.id))!;
    assert.equal(b.observed, 'readonly');
    assert.ok(b.mbTotal !== null && b.mbTotal > 0, 'usage still recorded');
    assert.equal((await store.getDevice(missing.dev.id))!.observed, 'unreachable');
  });

  test('nginx: no usage, but reachability and writes are still checked', async () => {
    const nginx = await startNginxNode();
    nodes.push(nginx);
    const { dev } = await device(nginx.port, nginx);
    await oneRound();
    const d = (await store.getDevice(dev.id))!;
    assert.equal(d.observed, 'writeable');
    assert.equal(d.mbTotal, null);
    assert.deepEqual(await filesUnder(`${nginx.root}/dev${dev.id}`), []);
  });

  test("dead hosts and dead devices are not polled; the operator's status is never changed", async () => {
    const node = await ourNode();
    const a = await device(node.port, node);
    const b = await device(node.port, node);
    const c = await device(node.port, node);
    await store.updateHost(a.host.id, { status: 'dead' });
    await store.updateDevice(b.dev.id, { status: 'dead' });
    await store.updateDevice(c.dev.id, { status: 'readonly' });
    await oneRound();
    assert.equal((await store.getDevice(a.dev.id))!.observedAt, null);
    assert.equal((await store.getDevice(b.dev.id))!.observedAt, null);
    const dc = (await store.getDevice(c.dev.id))!;
    assert.equal(dc.observed, 'writeable');
    assert.equal(dc.status, 'readonly');
  });
});
