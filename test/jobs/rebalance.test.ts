// Rebalance on real nodes: two full devices, two empty ones. Moves are verified copies (the old
// copy goes only after), never onto a host that already holds the file, bounded in number and
// in pace; a full run ends with every device near its share.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parseRate } from '../../src/cli/admin/rebalance.ts';
import { rebalance } from '../../src/jobs/rebalance.ts';
import { silentLog } from '../../src/jobs/runner.ts';
import { adminCli } from '../harness/admin-cli.ts';
import { JOBS_TEST_CLUSTER, useCluster } from '../harness/cluster.ts';

test('--rate values', () => {
  assert.equal(parseRate('50MB/s'), 50 * 2 ** 20);
  assert.equal(parseRate('1.5G'), 1.5 * 2 ** 30);
  assert.equal(parseRate('800K/s'), 800 * 1024);
  assert.equal(parseRate('1048576'), 1048576);
  assert.equal(parseRate('none'), null);
  assert.throws(() => parseRate('fast'), /--rate takes bytes per second/);
  assert.throws(() => parseRate('0'), /--rate/);
});

describe('rebalance', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 4, mindevcount: 2 });
  let d1: number, d2: number, d3: number, d4: number;
  const files = new Map<number, Buffer>();
  before(async () => {
    [d1, d2, d3, d4] = c.nodes.map((n) => n.devid) as [number, number, number, number];
    for (let i = 0; i < 48; i++) {
      const bytes = randomBytes(4000 + i * 100);
      files.set((await c.putFile(bytes, [d1, d2])).fid, bytes);
    }
  });

  /** Every file: 2 copies on 2 hosts, intact; no copy on a disk without a record. */
  const allIntact = async () => {
    const host = new Map(c.nodes.map((n) => [n.devid, n.hostId]));
    for (const [fid, bytes] of files) {
      const on = await c.store.replicasOf(fid);
      assert.equal(on.length, 2, `fid ${fid} on ${on}`);
      assert.equal(new Set(on.map((d) => host.get(d))).size, 2, `fid ${fid}: two hosts`);
      for (const n of c.nodes) {
        const disk = await c.onDisk(n.devid, fid);
        if (on.includes(n.devid)) assert.ok(disk?.equals(bytes), `fid ${fid} on ${n.devid}`);
        else assert.equal(disk, null, `fid ${fid}: no stray copy on ${n.devid}`);
      }
    }
  };
  const usage = async () => new Map((await c.store.deviceUsage()).map((u) => [u.devid, u.bytes]));

  test('--dry-run plans moves and changes nothing', async () => {
    const before = await usage();
    const r = await adminCli(c.dbUrl, ['rebalance', '--dry-run', '--json', '--max-moves', '4']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { moves: Array<{ from: number; to: number }>; end: string };
    assert.equal(out.moves.length, 4);
    assert.equal(out.end, 'max-moves');
    for (const m of out.moves) {
      assert.ok([d1, d2].includes(m.from) && [d3, d4].includes(m.to), JSON.stringify(m));
    }
    // A whole dry run: the plan never puts two copies of a file on one host.
    const full = JSON.parse((await adminCli(c.dbUrl, ['rebalance', '--dry-run', '--json'])).stdout) as { moves: Array<{ fid: number; from: number; to: number }>; end: string };
    assert.equal(full.end, 'balanced');
    const placed = new Map<number, number[]>();
    for (const m of full.moves) {
      const on = placed.get(m.fid) ?? [d1, d2];
      assert.ok(on.includes(m.from) && !on.includes(m.to), `fid ${m.fid}: ${m.from} → ${m.to} with copies on ${on}`);
      placed.set(m.fid, [...on.filter((d) => d !== m.from), m.to]);
    }
    assert.deepEqual(await usage(), before);
    await allIntact();
  });

  test('--max-moves 5 makes exactly 5 verified moves', async () => {
    const r = await adminCli(c.dbUrl, ['rebalance', '--max-moves', '5', '--rate', 'none', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { moves: Array<{ fid: number; from: number; to: number; bytes: number }>; failed: number; end: string };
    assert.deepEqual([out.moves.length, out.failed, out.end], [5, 0, 'max-moves']);
    for (const m of out.moves) {
      const on = await c.store.replicasOf(m.fid);
      assert.ok(on.includes(m.to) && !on.includes(m.from), `fid ${m.fid} moved ${m.from} → ${m.to}: now on ${on}`);
      assert.equal(m.bytes, files.get(m.fid)!.length);
    }
    await allIntact();
  });

  test('the pace is bounded: moves at a low rate take at least bytes/rate', async () => {
    const ctx = { store: c.store, client: c.client, log: silentLog };
    const started = Date.now();
    const r = await rebalance(ctx, { maxMoves: 3, bytesPerSecond: 12_000 });
    const elapsed = Date.now() - started;
    const bytes = r.moves.reduce((s, m) => s + m.bytes, 0);
    assert.equal(r.moves.length, 3);
    assert.ok(elapsed >= (bytes / 12_000) * 1000 - 50, `${bytes} bytes in ${elapsed} ms at 12000 B/s`);
    await allIntact();
  });

  test('a full run ends balanced: every device near its share', async () => {
    const r = await adminCli(c.dbUrl, ['rebalance', '--rate', 'none', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { end: string; failed: number; after: Array<{ devid: number; bytes: number; shareBytes: number }> };
    assert.equal(out.end, 'balanced');
    assert.equal(out.failed, 0);
    const now = await usage();
    for (const s of out.after) {
      assert.equal(now.get(s.devid) ?? 0, s.bytes, 'the report matches the records');
      assert.ok(s.bytes - s.shareBytes <= s.shareBytes * 0.05, `device ${s.devid}: ${s.bytes} bytes, share ${s.shareBytes}`);
    }
    assert.ok((now.get(d3) ?? 0) > 0 && (now.get(d4) ?? 0) > 0, 'the empty devices took their part');
    await allIntact();
    // Balanced already: another run moves nothing.
    const again = JSON.parse((await adminCli(c.dbUrl, ['rebalance', '--json'])).stdout) as { moves: unknown[]; end: string };
    assert.deepEqual([again.moves.length, again.end], [0, 'balanced']);
  });
});
