// What the Store's role suites share: how a backend opens a fresh database for a suite, the
// stand-in a suite writes `store.x()` against, the error-code assertion, and the fixtures most
// suites start from (a domain and its class, a device on a host of its own, a file committed on
// some devices, a drained queue).
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { isMogError } from '../../src/errors.ts';
import type { ErrorCode } from '../../src/errors.ts';
import { openStore } from '../../src/tracker/open.ts';
import type { Catalog, ChecksumAlg, CommitResult, QueueItem, QueueName, Queues, Store, Uploads } from '../../src/tracker/types.ts';
import type { TestDb } from '../harness/db.ts';

/** A database server the suites run on: its name and a way to get an empty database on it. */
export interface StoreBackend {
  name: string;
  /** The kind of store its databases open as, when the name is not one (a Galera cluster is 'mysql'). */
  kind?: Store['kind'];
  create(): Promise<TestDb>;
}

/** A database of a suite's own and the stores open on it. */
export interface StoreDatabase<R> {
  /** The store a test works on: migrated unless opened with { migrate: false }; the new one after reopen(). */
  readonly store: R;
  /** One more store on the same database, as a second process opens it (not migrated by this). */
  openAnother(): Promise<R>;
  /** Closes `store` and opens a new one on the same database: what a restarted process sees. */
  reopen(): Promise<R>;
  /** Closes the stores still open on the database and drops it. */
  drop(): Promise<void>;
}

/** How a suite gets a fresh database, typed by the store roles the suite tests. */
export type OpenStore<R> = (opts?: { migrate?: boolean }) => Promise<StoreDatabase<R>>;

/** The way to open fresh databases of one backend, as every role suite takes it. */
export function storeOpener(backend: StoreBackend): OpenStore<Store> {
  return async ({ migrate = true } = {}) => {
    const db = await backend.create();
    const open: Store[] = [];
    const openOne = async () => {
      const s = await openStore(db.url);
      open.push(s);
      assert.equal(s.kind, backend.kind ?? backend.name);
      return s;
    };
    const drop = async () => {
      for (const s of open.splice(0)) await s.close();
      await db.drop();
    };
    let store: Store;
    try {
      store = await openOne();
      if (migrate) await store.migrate();
    } catch (err) {
      await drop();
      throw err;
    }
    return {
      get store() {
        return store;
      },
      openAnother: openOne,
      async reopen() {
        open.splice(open.indexOf(store), 1);
        await store.close();
        store = await openOne();
        return store;
      },
      drop,
    };
  };
}

/**
 * The store of a suite: a fresh database opened before the suite's first test and dropped after
 * its last. Call it inside a describe. It returns a stand-in that forwards to the store once
 * `before` has opened it, so suites write `store.x()` as if they held the store itself.
 */
export function suiteStore<R extends object>(open: OpenStore<R>): R {
  let db: StoreDatabase<R> | undefined;
  before(async () => {
    db = await open();
  });
  after(async () => {
    await db?.drop();
  });
  return new Proxy({} as R, {
    get(_target, prop) {
      if (!db) throw new Error("the store is used before the suite's before() opened it");
      const store = db.store;
      const v = Reflect.get(store, prop, store) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(store) : v;
    },
  });
}

export async function expectCode(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isMogError(err), `expected a MogError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    if (message) assert.match(err.message, message);
    return true;
  });
}

export const SHA_A = 'a'.repeat(64);
export const SHA_B = 'b'.repeat(64);
/** A time after every lease and delay a test sets: a claim then takes everything queued. */
export const FAR_FUTURE = 2 ** 50;

/** UTF-8 byte order, which both databases must list names in. */
export const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

let seq = 0;
/** A name not used before in this process: the tests of a suite share one database, so their names must not clash. */
export const uniq = (prefix: string) => `${prefix}${++seq}`;

/** Where a test's files go: a domain and the class they are stored in. */
export interface FileHome {
  domainId: number;
  classId: number;
}

/** Domains with a class, and devices on hosts of their own. */
export function catalogFixtures(store: Catalog) {
  return {
    /** A new domain with its 'default' class, or with a class 'c' made from `classOpts`. */
    async freshDomain(classOpts?: { mindevcount: number; writeQuorum?: number; checksum?: ChecksumAlg }) {
      const domain = await store.createDomain(uniq('dom'));
      const cls = classOpts ? await store.createClass(domain.id, 'c', classOpts) : (await store.getClass(domain.id, 'default'))!;
      return { domain, cls, domainId: domain.id, classId: cls.id };
    },
    /** An alive device (weight 100) on a new alive host; returns its devid. */
    async newDevice(): Promise<number> {
      const host = await store.createHost({ name: uniq('host'), address: '127.0.0.1', httpPort: 7500 });
      return (await store.createDevice({ hostId: host.id })).id;
    },
  };
}

/** Files stored in one go: reserved and committed with copies on the given devices. */
export function uploadFixtures(store: Uploads) {
  return {
    /** Defaults: 3 bytes, checksum SHA_A, no copies, mtime 1_700_000_000_000, the entry's default mode. */
    async upload(
      at: FileHome,
      parentId: number,
      name: string,
      o: { length?: number; devids?: number[]; mtime?: number; checksum?: string | null; mode?: number } = {},
    ): Promise<CommitResult> {
      const r = await store.reserveUpload({ domainId: at.domainId, classId: at.classId, devids: o.devids ?? [], now: Date.now() });
      return store.commitUpload({
        fid: r.fid, parentId, name, length: o.length ?? 3, checksum: o.checksum === undefined ? SHA_A : o.checksum,
        devids: o.devids ?? [], mtime: o.mtime ?? 1_700_000_000_000, ...(o.mode !== undefined && { mode: o.mode }),
      });
    },
  };
}

/** Emptying a queue, so a test sees only what it queues itself. */
export function queueFixtures(store: Queues) {
  return {
    /** Claims and completes everything in a queue (due or not), returning what was there. */
    async takeAll(queue: QueueName): Promise<QueueItem[]> {
      const out: QueueItem[] = [];
      for (;;) {
        const batch = await store.claim(queue, 'test-drain', { limit: 1000, leaseMs: 1, now: FAR_FUTURE });
        if (batch.length === 0) return out.sort((a, b) => a.fid - b.fid);
        for (const it of batch) assert.equal(await store.complete(queue, it.fid, 'test-drain'), true);
        out.push(...batch);
      }
    },
  };
}
