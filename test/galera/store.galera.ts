// The store on a real three-node Galera cluster, with writers attached to different nodes at
// once: `admin init` run on every node at the same moment, two job runners claiming one queue
// from two nodes, ids made on three nodes, and a process whose node dies moving to the next
// address. Run by `npm run test:galera` (scripts/galera-local.sh starts the cluster).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminCli } from '../harness/admin-cli.ts';
import { openStore } from '../../src/tracker/open.ts';
import { LATEST_SCHEMA_VERSION } from '../../src/tracker/store/migrations.ts';
import type { Store } from '../../src/tracker/types.ts';
import { Galera, galeraUnavailable } from './lib/galera.ts';

const unavailable = galeraUnavailable();

/** Certification failures and brute-force aborts so far on nodes 1-3 (how often writers collided). */
async function conflicts(g: Galera): Promise<number> {
  let n = 0;
  for (const node of [1, 2, 3]) {
    n += Number(await g.status(node, 'wsrep_local_cert_failures')) + Number(await g.status(node, 'wsrep_local_bf_aborts'));
  }
  return n;
}

describe('the store on a three-node Galera cluster', { skip: unavailable ? `skipped: ${unavailable}` : false }, () => {
  let g: Galera;
  const stores: Store[] = [];
  const open = async (url: string) => {
    const s = await openStore(url);
    stores.push(s);
    return s;
  };
  before(async () => {
    g = await Galera.start();
  });
  after(async () => {
    for (const s of stores) await s.close().catch(() => undefined);
    await g?.destroy();
  });

  test('admin init run on all three nodes at the same moment migrates once', async () => {
    const db = await g.createDb();
    try {
      const runs = await Promise.all([1, 2, 3].map((n) => adminCli(g.url(db.name, [n]), ['init'])));
      for (const [i, r] of runs.entries()) assert.equal(r.code, 0, `init on node ${i + 1}: ${r.stderr}`);
      for (const n of [1, 2, 3]) {
        const c = await g.connect(n, db.name);
        try {
          const [rows] = await c.query('SELECT COUNT(*) AS n, MAX(version) AS v FROM schema_version');
          const row = (rows as Array<{ n: number; v: number }>)[0]!;
          assert.deepEqual([Number(row.n), Number(row.v)], [LATEST_SCHEMA_VERSION, LATEST_SCHEMA_VERSION], `node ${n}`);
          const [lock] = await c.query('SELECT COUNT(*) AS n FROM schema_lock');
          assert.equal(Number((lock as Array<{ n: number }>)[0]!.n), 0, 'the migration lock row is released');
        } finally {
          await c.end();
        }
      }
    } finally {
      await db.drop();
    }
  });

  test('two job runners on two nodes never hold one queue item at once, and every item is done once', async () => {
    const db = await g.createDb();
    try {
      const feeder = await open(g.url(db.name, [1]));
      await feeder.migrate();
      const N = 400;
      const fids = Array.from({ length: N }, (_, i) => i + 1);
      for (let i = 0; i < N; i += 200) await feeder.enqueueMany('replicate', fids.slice(i, i + 200), { now: 0 });
      const before = await conflicts(g);
      const claimedBy = new Map<number, string>();
      const doubles: number[] = [];
      let completions = 0;
      const runner = async (owner: string, node: number) => {
        const s = await open(g.url(db.name, [node]));
        for (let idle = 0; idle < 3; ) {
          const items = await s.claim('replicate', owner, { limit: 8, leaseMs: 600_000, now: Date.now() });
          if (items.length === 0) {
            idle++;
            continue;
          }
          idle = 0;
          for (const it of items) {
            if (claimedBy.has(it.fid)) doubles.push(it.fid);
            claimedBy.set(it.fid, owner);
          }
          for (const it of items) if (await s.complete('replicate', it.fid, owner)) completions++;
        }
      };
      await Promise.all([runner('runner-a', 2), runner('runner-b', 3), runner('runner-c', 2), runner('runner-d', 3)]);
      const collided = (await conflicts(g)) - before;
      console.log(`# claims: ${N} items, 4 runners on nodes 2 and 3, ${collided} certification conflicts retried`);
      assert.deepEqual(doubles, [], 'no item was claimed twice');
      assert.equal(claimedBy.size, N);
      assert.equal(completions, N, 'each item completed exactly once (complete checks the owner)');
      assert.equal(await feeder.queueDepth('replicate'), 0);
      // Not a test that passes without contention: the runners did collide across nodes.
      assert.ok(collided > 0, 'the runners never collided; the test proved nothing');
    } finally {
      await db.drop();
    }
  });

  test('fids and auto-increment ids made on three nodes at once are all distinct', async () => {
    const db = await g.createDb();
    try {
      const s = await Promise.all([1, 2, 3].map((n) => open(g.url(db.name, [n]))));
      await s[0]!.migrate();
      const { id: domainId } = await s[0]!.createDomain('d');
      const cls = await s[0]!.createClass(domainId, 'two', { mindevcount: 2 });
      const fids: number[] = [];
      const classIds: number[] = [];
      await Promise.all(
        s.flatMap((store, node) =>
          Array.from({ length: 4 }, async (_, w) => {
            for (let i = 0; i < 25; i++) {
              fids.push((await store.reserveUpload({ domainId, classId: cls.id, devids: [], now: Date.now() })).fid);
              if (i % 5 === 0) classIds.push((await store.createClass(domainId, `c${node}-${w}-${i}`, { mindevcount: 1 })).id);
            }
          }),
        ),
      );
      assert.equal(new Set(fids).size, fids.length, 'fids are never handed out twice');
      assert.equal(fids.length, 300);
      assert.equal(new Set(classIds).size, classIds.length, 'auto-increment ids are distinct across nodes');
    } finally {
      await db.drop();
    }
  });

  test('a process whose database node dies moves to the next address without a restart', async () => {
    const db = await g.createDb();
    try {
      const s = await open(g.url(db.name, [1, 2, 3]));
      await s.migrate();
      const { id: domainId } = await s.createDomain('before');
      await g.kill(1);
      const t0 = Date.now();
      // The first call after the death already succeeds: the dead connection is retried on node 2.
      const d2 = await s.createDomain('after');
      const seconds = (Date.now() - t0) / 1000;
      console.log(`# store failover: first write after kill -9 of its node took ${seconds.toFixed(2)} s`);
      assert.ok(d2.id !== domainId);
      assert.equal((await s.getDomain('before'))?.id, domainId);
      await g.rejoin(1);
      const c = await g.connect(1, db.name);
      try {
        const [rows] = await c.query('SELECT name FROM domains ORDER BY name');
        assert.deepEqual((rows as Array<{ name: Buffer | string }>).map((r) => String(r.name)), ['after', 'before'], 'node 1 caught up after it rejoined');
      } finally {
        await c.end();
      }
    } finally {
      await db.drop();
    }
  });
});
