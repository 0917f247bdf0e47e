// Counts the database work one small STOR costs. A front-end is started inside this process
// on the cluster's database and storage nodes, with two counters:
// - store calls: a Proxy around the Store counts each method call (what the tracker asks for);
// - SQL statements: the drivers' own entry points are wrapped (mysql2's Connection#query, which
//   every statement, START TRANSACTION and COMMIT goes through: one network round trip each;
//   better-sqlite3's Statement#run/get/all, through which it also runs BEGIN and COMMIT).
// Then N files are stored one after another on one logged-in connection.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startFtpServer } from '../../src/ftp/server.ts';
import { readStorageKeyFile } from '../../src/storage/auth.ts';
import { StorageClient } from '../../src/storage/client.ts';
import { openStore } from '../../src/tracker/open.ts';
import { Tracker } from '../../src/tracker/tracker.ts';
import type { Store } from '../../src/tracker/types.ts';
import { MiniFtp } from './ftp-client.ts';
import type { MogCluster } from './mogftp.ts';
import { REPO } from './servers.ts';
import { spread, type Spread } from './stats.ts';

const require = createRequire(import.meta.url);

export interface RoundTrips {
  files: number;
  /** SQL statements per STOR (MySQL: network round trips, START TRANSACTION/COMMIT included). */
  statementsPerStor: number;
  /** SQL statements per RETR, counted the same way. */
  statementsPerRetr: number;
  storeCallsPerStor: number;
  /** Store method → calls per STOR. */
  byMethod: Record<string, number>;
  /** EPSV + STOR + 226 latency of each file, in-process front-end. */
  latencyMs: Spread;
  /** STOR sent → 226 received. */
  storMs: Spread;
  /** Median timeline of one STOR: each store call and PUT, ms after STOR was sent. */
  timeline: Array<{ name: string; start: number; end: number; n: number }>;
  /** The same for RETR of those files: RETR sent → 226 received, and its timeline. */
  retrMs: Spread;
  retrTimeline: Array<{ name: string; start: number; end: number; n: number }>;
  /** STORs slower than 45 ms (ftp-srv polls for the data connection every 50 ms). */
  slowStors: number;
  /** New TCP connections to the storage nodes during the measured STORs and RETRs. */
  nodeConnections: number;
}

let sqlCount = 0;
let patched = false;

/** Wraps the two drivers' statement entry points once per process. */
function patchDrivers(): void {
  if (patched) return;
  patched = true;
  const Base = require(join(REPO, 'node_modules/mysql2/lib/base/connection.js')) as { prototype: Record<string, (...a: unknown[]) => unknown> };
  for (const m of ['query', 'execute']) {
    const orig = Base.prototype[m]!;
    Base.prototype[m] = function (this: unknown, ...args: unknown[]) {
      sqlCount++;
      return orig.apply(this, args);
    };
  }
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, (...a: unknown[]) => unknown>;
  probe.close();
  for (const m of ['run', 'get', 'all']) {
    const orig = proto[m]!;
    proto[m] = function (this: unknown, ...args: unknown[]) {
      sqlCount++;
      return orig.apply(this, args);
    };
  }
  // better-sqlite3 runs BEGIN and COMMIT as prepared statements too, so they are counted above.
}

/** What happened during one STOR, in ms from the moment the client sent STOR (same clock). */
interface Span {
  name: string;
  start: number;
  end: number;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
let spans: Span[] = [];
let storSentAt = 0;
let newConnections = 0;

function track<T>(name: string, p: Promise<T>, startedAt = now()): Promise<T> {
  const span = { name, start: startedAt - storSentAt, end: NaN };
  spans.push(span);
  const done = () => (span.end = now() - storSentAt);
  p.then(done, done);
  return p;
}

function countingStore(store: Store, calls: Map<string, number>): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function' || typeof prop !== 'string') return v;
      return (...args: unknown[]) => {
        calls.set(prop, (calls.get(prop) ?? 0) + 1);
        // SQLite does its work synchronously inside the call: take the start time before it.
        const startedAt = now();
        const r = (v as (...a: unknown[]) => unknown).apply(target, args);
        return r instanceof Promise ? track(`db ${prop}`, r, startedAt) : r;
      };
    },
  });
}

/** Times each PUT to a storage node from request to verified answer. */
function trackingClient(client: StorageClient): StorageClient {
  const orig = client.openPut.bind(client);
  client.openPut = (url, opts, call) => {
    const r = orig(url, opts, call);
    track(`PUT ${new URL(url).port}`, r.result).catch(() => undefined);
    return r;
  };
  // Keep-alive check: every new TCP connection to a node goes through createConnection.
  const agent = client.agent as unknown as { createConnection: (...a: unknown[]) => unknown };
  const origConnect = agent.createConnection.bind(agent);
  agent.createConnection = (...a: unknown[]) => {
    newConnections++;
    return origConnect(...a);
  };
  const origGet = client.get.bind(client);
  client.get = (url, opts, call) => track('GET (to headers)', origGet(url, opts, call));
  return client;
}

/** Median start/end of each kind of span (n-th occurrence of a name kept apart) over many STORs. */
function timeline(all: Span[][]): Array<{ name: string; start: number; end: number; n: number }> {
  const byKey = new Map<string, Span[]>();
  for (const one of all) {
    const seen = new Map<string, number>();
    for (const sp of one) {
      const k = sp.name.startsWith('PUT') ? 'PUT' : sp.name;
      const i = (seen.get(k) ?? 0) + 1;
      seen.set(k, i);
      const key = `${k} #${i}`;
      byKey.set(key, [...(byKey.get(key) ?? []), sp]);
    }
  }
  return [...byKey]
    .map(([name, sps]) => ({ name, start: spread(sps.map((s) => s.start)).median, end: spread(sps.map((s) => s.end)).median, n: sps.length }))
    .filter((x) => x.n >= all.length / 2)
    .sort((a, b) => a.start - b.start);
}

export async function measureRoundTrips(cluster: MogCluster, files: number): Promise<RoundTrips> {
  patchDrivers();
  const calls = new Map<string, number>();
  const store = await openStore(cluster.dbUrl);
  const counted = countingStore(store, calls);
  const tracker = new Tracker(counted);
  const client = trackingClient(new StorageClient({ key: readStorageKeyFile(cluster.keyFile) }));
  const ftp = await startFtpServer({ store: counted, tracker, client, host: '127.0.0.1', port: 0, pasvPorts: [0, 0] });
  const dir = `rt-${Date.now()}`;
  const body = Buffer.alloc(4096, 7);
  try {
    const c = await MiniFtp.connect(ftp.port, cluster.user, cluster.password);
    await c.expect(await c.send(`MKD ${dir}`), 257);
    // One untimed STOR first: warms the device cache and the keep-alive sockets to the nodes.
    await c.stor(`${dir}/warm`, body);
    calls.clear();
    sqlCount = 0;
    newConnections = 0;
    const lat: number[] = [];
    const storLat: number[] = [];
    const perStor: Span[][] = [];
    for (let i = 0; i < files; i++) {
      const t0 = now();
      spans = [];
      await c.stor(`${dir}/f${i}`, body, () => (storSentAt = now()));
      const t1 = now();
      lat.push(t1 - t0);
      storLat.push(t1 - storSentAt);
      perStor.push(spans);
    }
    const statements = sqlCount;
    const byMethod: Record<string, number> = {};
    let total = 0;
    for (const [k, v] of [...calls].sort((a, b) => b[1] - a[1])) {
      byMethod[k] = v / files;
      total += v;
    }
    const retrLat: number[] = [];
    const perRetr: Span[][] = [];
    sqlCount = 0;
    for (let i = 0; i < files; i++) {
      spans = [];
      await c.retr(`${dir}/f${i}`, () => (storSentAt = now()));
      retrLat.push(now() - storSentAt);
      perRetr.push(spans);
    }
    await c.quit();
    return {
      nodeConnections: newConnections,
      slowStors: storLat.filter((x) => x > 45).length,
      retrMs: spread(retrLat),
      retrTimeline: timeline(perRetr), statementsPerRetr: sqlCount / files, files, statementsPerStor: statements / files, storeCallsPerStor: total / files, byMethod, latencyMs: spread(lat), storMs: spread(storLat), timeline: timeline(perStor) };
  } finally {
    await ftp.close();
    client.close();
    await store.close();
  }
}
