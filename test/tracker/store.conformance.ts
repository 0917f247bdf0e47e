// The Store contract, run unchanged against every backend (store.test.ts runs it on SQLite
// and MariaDB). Each describe block covers one section of src/tracker/types.ts.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isMogError } from '../../src/errors.ts';
import type { ErrorCode } from '../../src/errors.ts';
import { openStore } from '../../src/tracker/open.ts';
import { ROOT_ID } from '../../src/tracker/types.ts';
import type { NewDavLock, QueueItem, QueueName, Store } from '../../src/tracker/types.ts';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/tracker/store/migrations.ts';
import type { SqlStore } from '../../src/tracker/store/sql-store.ts';
import type { TestDb } from '../harness/db.ts';

export interface StoreBackend {
  name: 'sqlite' | 'mysql';
  create(): Promise<TestDb>;
}

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const FAR_FUTURE = 2 ** 50;

export async function expectCode(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isMogError(err), `expected a MogError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** UTF-8 byte order, which both databases must list names in. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

export function runStoreConformance(backend: StoreBackend): void {
  describe(`Store conformance: ${backend.name}`, () => {
    let db: TestDb;
    let store: Store;
    let seq = 0;
    const uniq = (prefix: string) => `${prefix}${++seq}`;

    before(async () => {
      db = await backend.create();
      store = await openStore(db.url);
      assert.equal(store.kind, backend.name);
      await store.migrate();
    });
    after(async () => {
      await store?.close();
      await db?.drop();
    });

    async function freshDomain(classOpts?: { mindevcount: number; writeQuorum?: number; checksum?: 'sha256' | 'md5' | 'none' }) {
      const domain = await store.createDomain(uniq('dom'));
      const cls = classOpts
        ? await store.createClass(domain.id, 'c', classOpts)
        : (await store.getClass(domain.id, 'default'))!;
      return { domain, cls, domainId: domain.id, classId: cls.id };
    }

    async function newDevice(): Promise<number> {
      const host = await store.createHost({ name: uniq('host'), address: '127.0.0.1', httpPort: 7500 });
      return (await store.createDevice({ hostId: host.id })).id;
    }

    async function upload(
      at: { domainId: number; classId: number },
      parentId: number,
      name: string,
      o: { length?: number; devids?: number[]; mtime?: number; checksum?: string | null; mode?: number } = {},
    ) {
      const r = await store.reserveUpload({ domainId: at.domainId, classId: at.classId, devids: o.devids ?? [], now: Date.now() });
      return store.commitUpload({
        fid: r.fid, parentId, name, length: o.length ?? 3, checksum: o.checksum === undefined ? SHA_A : o.checksum,
        devids: o.devids ?? [], mtime: o.mtime ?? 1_700_000_000_000, ...(o.mode !== undefined && { mode: o.mode }),
      });
    }

    /** Claims and completes everything in a queue (due or not), returning what was there. */
    async function takeAll(queue: QueueName): Promise<QueueItem[]> {
      const out: QueueItem[] = [];
      for (;;) {
        const batch = await store.claim(queue, 'test-drain', { limit: 1000, leaseMs: 1, now: FAR_FUTURE });
        if (batch.length === 0) return out.sort((a, b) => a.fid - b.fid);
        for (const it of batch) assert.equal(await store.complete(queue, it.fid, 'test-drain'), true);
        out.push(...batch);
      }
    }

    // --- schema ---------------------------------------------------------------------------

    describe('schema and migrations', () => {
      test('an empty database has version 0; migrate() creates the schema and is idempotent', async () => {
        const fresh = await backend.create();
        const s = await openStore(fresh.url);
        try {
          assert.equal(await s.schemaVersion(), 0);
          assert.equal(await s.migrate(), LATEST_SCHEMA_VERSION);
          assert.equal(await s.migrate(), LATEST_SCHEMA_VERSION);
          assert.equal(await s.schemaVersion(), LATEST_SCHEMA_VERSION);
          assert.deepEqual(await s.listDomains(), []);
        } finally {
          await s.close();
          await fresh.drop();
        }
      });

      test('two stores migrating one empty database at once both succeed', async () => {
        const fresh = await backend.create();
        const a = await openStore(fresh.url);
        const b = await openStore(fresh.url);
        try {
          assert.deepEqual(await Promise.all([a.migrate(), b.migrate()]), [LATEST_SCHEMA_VERSION, LATEST_SCHEMA_VERSION]);
          await a.createDomain('after-race');
          assert.equal((await b.getDomain('after-race'))?.name, 'after-race');
        } finally {
          await a.close();
          await b.close();
          await fresh.drop();
        }
      });

      test('upgrades an older schema, keeping data; refuses a newer one with SCHEMA_TOO_NEW', async () => {
        const fresh = await backend.create();
        const s = (await openStore(fresh.url)) as SqlStore;
        const next = LATEST_SCHEMA_VERSION + 1;
        const upgrade = {
          version: next,
          description: 'test step',
          sqlite: ["INSERT INTO settings (`key`, value) VALUES ('upgraded', 'yes')"],
          mysql: ["INSERT INTO settings (`key`, value) VALUES ('upgraded', 'yes')"],
        };
        try {
          assert.equal(await s.migrateWith(MIGRATIONS), LATEST_SCHEMA_VERSION);
          const d = await s.createDomain('kept');
          assert.equal(await s.migrateWith([...MIGRATIONS, upgrade]), next);
          assert.equal(await s.schemaVersion(), next);
          assert.equal(await s.getSetting('upgraded'), 'yes');
          assert.deepEqual(await s.getDomain('kept'), d);
          // Idempotent at the new version: the step is not applied twice.
          assert.equal(await s.migrateWith([...MIGRATIONS, upgrade]), next);
          // This build knows only LATEST_SCHEMA_VERSION: it must not touch the newer schema.
          await expectCode(s.migrate(), ErrorCodes.SCHEMA_TOO_NEW, new RegExp(`version ${next}`));
          const other = await openStore(fresh.url);
          try {
            await expectCode(other.migrate(), ErrorCodes.SCHEMA_TOO_NEW);
          } finally {
            await other.close();
          }
        } finally {
          await s.close();
          await fresh.drop();
        }
      });
    });

    // --- domains and classes --------------------------------------------------------------

    describe('domains', () => {
      test('createDomain makes the default class (mindevcount 2, quorum 2, sha256)', async () => {
        const name = uniq('media');
        const d = await store.createDomain(name);
        assert.ok(d.id > 0);
        assert.deepEqual(await store.getDomain(name), d);
        const classes = await store.listClasses(d.id);
        assert.deepEqual(classes.map(({ id: _id, ...rest }) => rest), [
          { domainId: d.id, name: 'default', mindevcount: 2, writeQuorum: 2, checksum: 'sha256' },
        ]);
      });

      test('names are case-sensitive and exact; duplicates are EXISTS; bad names INVALID_ARGUMENT', async () => {
        const base = uniq('Photos');
        await store.createDomain(base);
        await store.createDomain(base.toLowerCase());
        await store.createDomain(`${base} `);
        await expectCode(store.createDomain(base), ErrorCodes.EXISTS, /already exists/);
        await expectCode(store.createDomain(''), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(store.createDomain('a\nb'), ErrorCodes.INVALID_ARGUMENT);
        assert.equal(await store.getDomain(base.toUpperCase()), null);
        const names = (await store.listDomains()).map((d) => d.name);
        for (const n of [base, base.toLowerCase(), `${base} `]) assert.ok(names.includes(n), n);
        assert.deepEqual(names, [...names].sort(byteOrder), 'listDomains is ordered by name');
      });

      test('removeDomain: NOT_FOUND, IN_USE while it has entries, files, uploads or users; then removes its classes', async () => {
        await expectCode(store.removeDomain(uniq('nope')), ErrorCodes.NOT_FOUND);
        const { domain, cls } = await freshDomain();
        const dir = await store.mkdir(domain.id, ROOT_ID, 'd', { mtime: 1 });
        await expectCode(store.removeDomain(domain.name), ErrorCodes.IN_USE, /still has/);
        await store.rmdir(dir.id);

        const r = await store.reserveUpload({ domainId: domain.id, classId: cls.id, devids: [], now: 1 });
        await expectCode(store.removeDomain(domain.name), ErrorCodes.IN_USE);
        await store.abortUpload(r.fid);

        await store.createUser({ name: uniq('u'), passwordHash: 'x', domainId: domain.id, homeDir: '/', readOnly: false, quotaBytes: null });
        await expectCode(store.removeDomain(domain.name), ErrorCodes.IN_USE, /users/);
        for (const u of await store.listUsers()) if (u.domainId === domain.id) await store.removeUser(u.name);

        await store.removeDomain(domain.name);
        assert.equal(await store.getDomain(domain.name), null);
        assert.equal(await store.getClassById(cls.id), null);
        assert.deepEqual(await store.listClasses(domain.id), []);
      });

      test('removeDomain is IN_USE while a file row exists even without its entry', async () => {
        const at = await freshDomain();
        const f = await upload(at, ROOT_ID, 'x');
        await expectCode(store.removeDomain(at.domain.name), ErrorCodes.IN_USE);
        await store.removeFile(f.entry.id);
        await store.removeDomain(at.domain.name);
      });
    });

    describe('classes', () => {
      test('createClass: quorum defaults to mindevcount, checksum to sha256; explicit values kept', async () => {
        const { domainId } = await freshDomain();
        const a = await store.createClass(domainId, 'three', { mindevcount: 3 });
        assert.deepEqual({ ...a, id: 0 }, { id: 0, domainId, name: 'three', mindevcount: 3, writeQuorum: 3, checksum: 'sha256' });
        const b = await store.createClass(domainId, 'loose', { mindevcount: 3, writeQuorum: 1, checksum: 'md5' });
        assert.equal(b.writeQuorum, 1);
        assert.equal(b.checksum, 'md5');
        const c = await store.createClass(domainId, 'nosum', { mindevcount: 1, checksum: 'none' });
        assert.equal(c.checksum, 'none');
        assert.deepEqual(await store.getClass(domainId, 'loose'), b);
        assert.deepEqual(await store.getClassById(a.id), a);
        assert.deepEqual((await store.listClasses(domainId)).map((x) => x.name), ['default', 'loose', 'nosum', 'three']);
        const everywhere = await store.listClasses();
        for (const x of [a, b, c]) assert.ok(everywhere.some((y) => y.id === x.id));
        assert.equal(await store.getClass(domainId, 'Three'), null);
        assert.equal(await store.getClassById(999_999), null);
      });

      test('createClass validation: counts, checksum, duplicates, unknown domain', async () => {
        const { domainId } = await freshDomain();
        await expectCode(store.createClass(domainId, 'z', { mindevcount: 0 }), ErrorCodes.INVALID_ARGUMENT, /mindevcount/);
        await expectCode(store.createClass(domainId, 'z', { mindevcount: 1.5 }), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(store.createClass(domainId, 'z', { mindevcount: 2, writeQuorum: 3 }), ErrorCodes.INVALID_ARGUMENT, /quorum/i);
        await expectCode(store.createClass(domainId, 'z', { mindevcount: 2, writeQuorum: 0 }), ErrorCodes.INVALID_ARGUMENT, /quorum/i);
        await expectCode(store.createClass(domainId, 'z', { mindevcount: 2, checksum: 'sha1' as never }), ErrorCodes.INVALID_ARGUMENT, /sha256/);
        await expectCode(store.createClass(domainId, 'default', { mindevcount: 2 }), ErrorCodes.EXISTS);
        await expectCode(store.createClass(987_654, 'z', { mindevcount: 2 }), ErrorCodes.NOT_FOUND);
        assert.equal(await store.getClass(domainId, 'z'), null);
      });

      test('updateClass: changes apply; an all-copies quorum follows mindevcount; invalid changes leave it as it was', async () => {
        const { domainId } = await freshDomain();
        const c = await store.createClass(domainId, 'x', { mindevcount: 2 });
        const up = await store.updateClass(c.id, { mindevcount: 3 });
        assert.deepEqual([up.mindevcount, up.writeQuorum], [3, 3]);
        const q = await store.updateClass(c.id, { writeQuorum: 2, checksum: 'md5' });
        assert.deepEqual([q.mindevcount, q.writeQuorum, q.checksum], [3, 2, 'md5']);
        const shrunk = await store.updateClass(c.id, { mindevcount: 1 });
        assert.deepEqual([shrunk.mindevcount, shrunk.writeQuorum], [1, 1]);
        await expectCode(store.updateClass(c.id, { writeQuorum: 2 }), ErrorCodes.INVALID_ARGUMENT, /quorum/i);
        await expectCode(store.updateClass(c.id, { mindevcount: 0 }), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(store.updateClass(c.id, { checksum: 'crc' as never }), ErrorCodes.INVALID_ARGUMENT);
        assert.deepEqual(await store.getClassById(c.id), shrunk);
        await expectCode(store.updateClass(999_999, { mindevcount: 2 }), ErrorCodes.NOT_FOUND);
      });

      test('removeClass: IN_USE while files or uploads use it; NOT_FOUND when unknown', async () => {
        const { domainId } = await freshDomain();
        const c = await store.createClass(domainId, 'gone', { mindevcount: 1 });
        const f = await upload({ domainId, classId: c.id }, ROOT_ID, 'f');
        await expectCode(store.removeClass(c.id), ErrorCodes.IN_USE, /gone/);
        await store.removeFile(f.entry.id);
        const r = await store.reserveUpload({ domainId, classId: c.id, devids: [], now: 1 });
        await expectCode(store.removeClass(c.id), ErrorCodes.IN_USE);
        await store.abortUpload(r.fid);
        await store.removeClass(c.id);
        assert.equal(await store.getClassById(c.id), null);
        await expectCode(store.removeClass(c.id), ErrorCodes.NOT_FOUND);
      });
    });

    // --- hosts and devices ----------------------------------------------------------------

    describe('hosts', () => {
      test('createHost accepts IPv4, IPv6 and host names; defaults to alive; getHost by name or id', async () => {
        const v4 = await store.createHost({ name: uniq('h'), address: '10.0.0.1', httpPort: 7500 });
        assert.equal(v4.status, 'alive');
        const v6 = await store.createHost({ name: uniq('h'), address: '::1', httpPort: 7501, status: 'down' });
        assert.deepEqual([v6.address, v6.status], ['::1', 'down']);
        const named = await store.createHost({ name: uniq('h'), address: 'node-3.example.org', httpPort: 80 });
        assert.deepEqual(await store.getHost(named.name), named);
        assert.deepEqual(await store.getHost(v6.id), v6);
        assert.equal(await store.getHost(uniq('none')), null);
        assert.equal(await store.getHost(999_999), null);
        const ids = (await store.listHosts()).map((h) => h.id);
        for (const h of [v4, v6, named]) assert.ok(ids.includes(h.id));
        assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
      });

      test('createHost validation and duplicates', async () => {
        const name = uniq('h');
        await store.createHost({ name, address: '127.0.0.1', httpPort: 1 });
        await expectCode(store.createHost({ name, address: '127.0.0.2', httpPort: 2 }), ErrorCodes.EXISTS);
        await expectCode(store.createHost({ name: uniq('h'), address: 'not an address!', httpPort: 2 }), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(store.createHost({ name: uniq('h'), address: '127.0.0.1', httpPort: 70000 }), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(store.createHost({ name: uniq('h'), address: '127.0.0.1', httpPort: 1, status: 'gone' as never }), ErrorCodes.INVALID_ARGUMENT);
      });

      test('updateHost changes fields and name; a taken name is EXISTS; unknown is NOT_FOUND', async () => {
        const h = await store.createHost({ name: uniq('h'), address: '127.0.0.1', httpPort: 7500 });
        const other = await store.createHost({ name: uniq('h'), address: '127.0.0.1', httpPort: 7501 });
        const newName = uniq('renamed');
        const up = await store.updateHost(h.id, { address: 'fe80::1', httpPort: 8080, status: 'dead', name: newName });
        assert.deepEqual(up, { id: h.id, name: newName, address: 'fe80::1', httpPort: 8080, status: 'dead' });
        assert.deepEqual(await store.getHost(h.id), up);
        await expectCode(store.updateHost(h.id, { name: other.name }), ErrorCodes.EXISTS);
        await expectCode(store.updateHost(h.id, { status: 'sleepy' as never }), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(store.updateHost(999_999, { httpPort: 1 }), ErrorCodes.NOT_FOUND);
      });

      test('removeHost: IN_USE while a device is not dead; then removes it and retires its dead devices', async () => {
        const h = await store.createHost({ name: uniq('h'), address: '127.0.0.1', httpPort: 7500 });
        const dev = await store.createDevice({ hostId: h.id });
        await expectCode(store.removeHost(h.id), ErrorCodes.IN_USE, new RegExp(`dev${dev.id}`));
        await store.updateDevice(dev.id, { status: 'dead' });
        await store.removeHost(h.id);
        assert.equal(await store.getHost(h.id), null);
        assert.equal(await store.getDevice(dev.id), null);
        const h2 = await store.createHost({ name: uniq('h'), address: '127.0.0.1', httpPort: 7500 });
        await expectCode(store.createDevice({ hostId: h2.id, devid: dev.id }), ErrorCodes.EXISTS, /never reused/);
        await expectCode(store.removeHost(h.id), ErrorCodes.NOT_FOUND);
      });

      test('removeHost is IN_USE while a dead device still lists replicas', async () => {
        const at = await freshDomain({ mindevcount: 1 });
        const h = await store.createHost({ name: uniq('h'), address: '127.0.0.1', httpPort: 7500 });
        const dev = await store.createDevice({ hostId: h.id });
        const f = await upload(at, ROOT_ID, 'on-dead', { devids: [dev.id] });
        await store.updateDevice(dev.id, { status: 'dead' });
        await expectCode(store.removeHost(h.id), ErrorCodes.IN_USE);
        await store.removeReplica(f.entry.fid!, dev.id);
        await store.removeHost(h.id);
      });
    });

    describe('devices', () => {
      test('createDevice: automatic devids ascend, a chosen devid is kept, defaults alive/100/unknown', async () => {
        const h = await store.createHost({ name: uniq('h'), address: '127.0.0.1', httpPort: 7500 });
        const a = await store.createDevice({ hostId: h.id });
        const b = await store.createDevice({ hostId: h.id, status: 'readonly', weight: 50 });
        assert.ok(b.id > a.id);
        assert.deepEqual({ ...a, id: 0 }, {
          id: 0, hostId: h.id, status: 'alive', weight: 100, mbTotal: null, mbUsed: null,
          observed: 'unknown', observedAt: null, observedSince: null,
        });
        assert.deepEqual([b.status, b.weight], ['readonly', 50]);
        const chosen = b.id + 1000;
        const c = await store.createDevice({ hostId: h.id, devid: chosen });
        assert.equal(c.id, chosen);
        const d = await store.createDevice({ hostId: h.id });
        assert.ok(d.id > chosen, 'automatic devids continue above a chosen one');
        await expectCode(store.createDevice({ hostId: h.id, devid: chosen }), ErrorCodes.EXISTS);
        await expectCode(store.createDevice({ hostId: 999_999 }), ErrorCodes.NOT_FOUND);
        await expectCode(store.createDevice({ hostId: h.id, status: 'broken' as never }), ErrorCodes.INVALID_ARGUMENT);
      });

      test('getDevice and listDevices join the host', async () => {
        const h = await store.createHost({ name: uniq('h'), address: '::1', httpPort: 7600, status: 'down' });
        const dev = await store.createDevice({ hostId: h.id });
        const view = await store.getDevice(dev.id);
        assert.deepEqual(view, { ...dev, hostName: h.name, hostAddress: '::1', hostPort: 7600, hostStatus: 'down' });
        const all = await store.listDevices();
        assert.deepEqual(all.find((x) => x.id === dev.id), view);
        assert.deepEqual(all.map((x) => x.id), [...all.map((x) => x.id)].sort((a, b) => a - b));
        assert.equal(await store.getDevice(999_999), null);
      });

      test('updateDevice changes status and weight', async () => {
        const devid = await newDevice();
        const up = await store.updateDevice(devid, { status: 'drain', weight: 7 });
        assert.deepEqual([up.status, up.weight], ['drain', 7]);
        assert.deepEqual([(await store.getDevice(devid))!.status, (await store.getDevice(devid))!.weight], ['drain', 7]);
        assert.equal((await store.updateDevice(devid, { weight: 9 })).status, 'drain');
        await expectCode(store.updateDevice(devid, { status: 'zombie' as never }), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(store.updateDevice(devid, { weight: -1 }), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(store.updateDevice(999_999, { weight: 1 }), ErrorCodes.NOT_FOUND);
      });

      test('observeDevice records observations; observedSince moves only when the state changes', async () => {
        const devid = await newDevice();
        await store.observeDevice(devid, { observed: 'writeable', mbTotal: 1000, mbUsed: 10, at: 1000 });
        let d = (await store.getDevice(devid))!;
        assert.deepEqual([d.observed, d.observedAt, d.observedSince, d.mbTotal, d.mbUsed], ['writeable', 1000, 1000, 1000, 10]);
        await store.observeDevice(devid, { observed: 'writeable', mbUsed: 20, at: 2000 });
        d = (await store.getDevice(devid))!;
        assert.deepEqual([d.observed, d.observedAt, d.observedSince, d.mbTotal, d.mbUsed], ['writeable', 2000, 1000, 1000, 20]);
        await store.observeDevice(devid, { observed: 'unreachable', at: 3000 });
        d = (await store.getDevice(devid))!;
        assert.deepEqual([d.observed, d.observedAt, d.observedSince, d.mbTotal, d.mbUsed], ['unreachable', 3000, 3000, 1000, 20]);
        await store.observeDevice(devid, { observed: 'unreachable', mbTotal: null, mbUsed: null, at: 4000 });
        d = (await store.getDevice(devid))!;
        assert.deepEqual([d.observedAt, d.observedSince, d.mbTotal, d.mbUsed], [4000, 3000, null, null]);
        await expectCode(store.observeDevice(devid, { observed: 'happy' as never, at: 1 }), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(store.observeDevice(999_999, { observed: 'readonly', at: 1 }), ErrorCodes.NOT_FOUND);
      });

      test('removeDevice: IN_USE while replicas reference it; its devid is never handed out again', async () => {
        const at = await freshDomain({ mindevcount: 1 });
        const h = await store.createHost({ name: uniq('h'), address: '127.0.0.1', httpPort: 7500 });
        const dev = await store.createDevice({ hostId: h.id });
        const f = await upload(at, ROOT_ID, 'f', { devids: [dev.id] });
        await expectCode(store.removeDevice(dev.id), ErrorCodes.IN_USE);
        await store.removeReplica(f.entry.fid!, dev.id);
        await store.removeDevice(dev.id);
        assert.equal(await store.getDevice(dev.id), null);
        assert.ok(!(await store.listDevices()).some((x) => x.id === dev.id));
        await expectCode(store.removeDevice(dev.id), ErrorCodes.NOT_FOUND);
        // The highest devid was removed, and still the next one is above it.
        const next = await store.createDevice({ hostId: h.id });
        assert.ok(next.id > dev.id);
        await expectCode(store.createDevice({ hostId: h.id, devid: dev.id }), ErrorCodes.EXISTS);
      });
    });

    // --- files and replicas ---------------------------------------------------------------

    describe('files and replicas', () => {
      test('getFile returns the committed file; null for unknown fids', async () => {
        const at = await freshDomain({ mindevcount: 2 });
        const [d1, d2] = [await newDevice(), await newDevice()];
        const big = 2 ** 40 + 7; // needs 64 bits in the database, fits a JS number
        const { entry } = await upload(at, ROOT_ID, 'big.bin', { length: big, devids: [d2, d1] });
        const f = (await store.getFile(entry.fid!))!;
        assert.equal(typeof f.length, 'number');
        assert.deepEqual({ ...f, createdAt: 0 }, {
          fid: entry.fid, domainId: at.domainId, classId: at.classId, length: big, checksum: SHA_A,
          checksumAlg: 'sha256', devcount: 2, createdAt: 0,
        });
        assert.ok(Math.abs(f.createdAt - Date.now()) < 60_000);
        assert.equal(await store.getFile(entry.fid! + 1_000_000), null);
        assert.deepEqual(await store.replicasOf(entry.fid!), [d1, d2].sort((a, b) => a - b));
      });

      test('addReplica and removeReplica are idempotent and keep devcount in step', async () => {
        const at = await freshDomain({ mindevcount: 1 });
        const [d1, d2, d3] = [await newDevice(), await newDevice(), await newDevice()];
        const fid = (await upload(at, ROOT_ID, 'r', { devids: [d1] })).entry.fid!;
        await store.addReplica(fid, d3);
        await store.addReplica(fid, d2);
        await store.addReplica(fid, d2);
        assert.deepEqual(await store.replicasOf(fid), [d1, d2, d3]);
        assert.equal((await store.getFile(fid))!.devcount, 3);
        await store.removeReplica(fid, d1);
        await store.removeReplica(fid, d1);
        assert.deepEqual(await store.replicasOf(fid), [d2, d3]);
        assert.equal((await store.getFile(fid))!.devcount, 2);
        await expectCode(store.addReplica(fid + 1_000_000, d1), ErrorCodes.NOT_FOUND);
        await expectCode(store.addReplica(fid, 999_999), ErrorCodes.NOT_FOUND);
        assert.deepEqual(await store.replicasOf(fid + 1_000_000), []);
      });

      test('fidsOnDevice and listFids page in fid order', async () => {
        const at = await freshDomain({ mindevcount: 1 });
        const [dA, dB] = [await newDevice(), await newDevice()];
        const fids: number[] = [];
        for (let i = 0; i < 7; i++) fids.push((await upload(at, ROOT_ID, `p${i}`, { devids: i % 2 ? [dA, dB] : [dA] })).entry.fid!);
        const pages: number[][] = [];
        for (let after = 0; ; ) {
          const page = await store.fidsOnDevice(dA, after, 3);
          if (page.length === 0) break;
          assert.ok(page.length <= 3);
          pages.push(page);
          after = page[page.length - 1]!;
        }
        assert.deepEqual(pages.flat(), fids);
        assert.deepEqual(await store.fidsOnDevice(dB, 0, 100), fids.filter((_, i) => i % 2));
        assert.deepEqual(await store.fidsOnDevice(dB, fids[3]!, 1), [fids[5]]);

        const listed: number[] = [];
        for (let after = fids[0]! - 1; ; ) {
          const page = await store.listFids(after, 2);
          if (page.length === 0) break;
          listed.push(...page.map((f) => f.fid));
          after = page[page.length - 1]!.fid;
        }
        for (const fid of fids) assert.ok(listed.includes(fid));
        assert.deepEqual(listed, [...listed].sort((a, b) => a - b));
        // A deleted file is no longer live.
        await store.removeFile((await store.lookup(at.domainId, ROOT_ID, 'p0'))!.id);
        assert.ok(!(await store.listFids(fids[0]! - 1, 1000)).some((f) => f.fid === fids[0]));
      });
    });

    // --- uploads --------------------------------------------------------------------------

    describe('uploads', () => {
      test('reserveUpload hands out distinct, increasing fids and records the reservation', async () => {
        const at = await freshDomain();
        const dev = await newDevice();
        const rs = [];
        for (let i = 0; i < 5; i++) rs.push(await store.reserveUpload({ domainId: at.domainId, classId: at.classId, devids: [dev], now: 1234 + i }));
        const fids = rs.map((r) => r.fid);
        assert.deepEqual(fids, [...fids].sort((a, b) => a - b));
        assert.equal(new Set(fids).size, 5);
        assert.deepEqual(await store.getReservation(fids[2]!), { fid: fids[2], domainId: at.domainId, classId: at.classId, devids: [dev], createdAt: 1236, quota: null });
        assert.equal(await store.getReservation(fids[4]! + 1000), null);
        const parallel = await Promise.all(Array.from({ length: 40 }, () => store.reserveUpload({ domainId: at.domainId, classId: at.classId, devids: [], now: 1 })));
        assert.equal(new Set([...fids, ...parallel.map((r) => r.fid)]).size, 45);
      });

      test('reserveUpload: NOT_FOUND for a class of another domain', async () => {
        const a = await freshDomain();
        const b = await freshDomain();
        await expectCode(store.reserveUpload({ domainId: a.domainId, classId: b.classId, devids: [], now: 1 }), ErrorCodes.NOT_FOUND);
      });

      test('fids are never reused: not after the highest reservation is gone, nor after reopening', async () => {
        const fresh = await backend.create();
        let s = await openStore(fresh.url);
        try {
          await s.migrate();
          const d = await s.createDomain('d');
          const c = (await s.getClass(d.id, 'default'))!;
          const r1 = await s.reserveUpload({ domainId: d.id, classId: c.id, devids: [], now: 1 });
          const r2 = await s.reserveUpload({ domainId: d.id, classId: c.id, devids: [], now: 1 });
          await s.abortUpload(r2.fid);
          const r3 = await s.reserveUpload({ domainId: d.id, classId: c.id, devids: [], now: 1 });
          assert.ok(r3.fid > r2.fid && r2.fid > r1.fid);
          await s.abortUpload(r3.fid);
          await s.close();
          s = await openStore(fresh.url);
          const r4 = await s.reserveUpload({ domainId: d.id, classId: c.id, devids: [], now: 1 });
          assert.ok(r4.fid > r3.fid, `fid ${r4.fid} after reopen must exceed ${r3.fid}`);
        } finally {
          await s.close();
          await fresh.drop();
        }
      });

      test('staleReservations lists the old ones, oldest first, up to the limit', async () => {
        const at = await freshDomain();
        const base = 5_000_000;
        const old1 = await store.reserveUpload({ domainId: at.domainId, classId: at.classId, devids: [], now: base + 2 });
        const old0 = await store.reserveUpload({ domainId: at.domainId, classId: at.classId, devids: [], now: base + 1 });
        const young = await store.reserveUpload({ domainId: at.domainId, classId: at.classId, devids: [], now: base + 10 });
        const stale = (await store.staleReservations(base + 10, 100)).filter((r) => r.createdAt > base);
        assert.deepEqual(stale.map((r) => r.fid), [old0.fid, old1.fid]);
        assert.ok((await store.staleReservations(base + 10, 1)).length === 1);
        for (const r of [old0, old1, young]) await store.abortUpload(r.fid);
        assert.deepEqual((await store.staleReservations(base + 100, 100)).filter((r) => r.createdAt > base), []);
      });

      test('commitUpload creates file, replicas and entry, drops the reservation, queues replication when short', async () => {
        const at = await freshDomain({ mindevcount: 2 });
        const [d1, d2] = [await newDevice(), await newDevice()];
        await takeAll('replicate');
        const dir = await store.mkdir(at.domainId, ROOT_ID, 'in', { mtime: 1 });
        const r = await store.reserveUpload({ domainId: at.domainId, classId: at.classId, devids: [d1, d2], now: 1 });
        const res = await store.commitUpload({ fid: r.fid, parentId: dir.id, name: 'one.txt', length: 11, checksum: SHA_A.toUpperCase(), devids: [d1, d1], mtime: 1_700_000_000_123 });
        assert.equal(res.replacedFid, null);
        assert.deepEqual({ ...res.entry, id: 0 }, {
          id: 0, domainId: at.domainId, parentId: dir.id, name: 'one.txt', kind: 'file', fid: r.fid, size: 11, mtime: 1_700_000_000_123, mode: 0o644,
        });
        assert.deepEqual(await store.getEntry(res.entry.id), res.entry);
        assert.equal(await store.getReservation(r.fid), null);
        assert.deepEqual(await store.replicasOf(r.fid), [d1]);
        const f = (await store.getFile(r.fid))!;
        assert.deepEqual([f.devcount, f.checksum, f.length], [1, SHA_A, 11]);
        assert.deepEqual((await takeAll('replicate')).map((i) => i.fid), [r.fid]);

        // Enough copies: nothing to replicate; a mode given for a new entry is kept.
        const full = await upload(at, dir.id, 'two.txt', { devids: [d1, d2], mode: 0o600 });
        assert.equal(full.entry.mode, 0o600);
        assert.deepEqual(await takeAll('replicate'), []);
      });

      test('commitUpload over an existing file swaps the fid, keeps id and mode, queues the old fid for deletion', async () => {
        const at = await freshDomain({ mindevcount: 1 });
        const [d1, d2] = [await newDevice(), await newDevice()];
        const first = await upload(at, ROOT_ID, 'doc', { devids: [d1, d2], length: 5, mode: 0o640 });
        await takeAll('delete');
        const second = await upload(at, ROOT_ID, 'doc', { devids: [d1], length: 9, checksum: SHA_B, mtime: 1_800_000_000_000, mode: 0o777 });
        assert.equal(second.replacedFid, first.entry.fid);
        assert.equal(second.entry.id, first.entry.id);
        assert.deepEqual([second.entry.fid, second.entry.size, second.entry.mode, second.entry.mtime], [second.entry.fid, 9, 0o640, 1_800_000_000_000]);
        assert.deepEqual(await store.lookup(at.domainId, ROOT_ID, 'doc'), second.entry);
        assert.equal(await store.getFile(first.entry.fid!), null, 'the old version is no longer a live file');
        // The old copies stay listed until the delete job removes them, and the queue item names them too.
        assert.deepEqual(await store.replicasOf(first.entry.fid!), [d1, d2].sort((a, b) => a - b));
        const del = await takeAll('delete');
        assert.deepEqual(del.map((i) => [i.fid, i.devids]), [[first.entry.fid, [d1, d2].sort((a, b) => a - b)]]);
      });

      test('commitUpload failures: directory in the way, gone reservation or parent, bad name or checksum; nothing half-done', async () => {
        const at = await freshDomain({ mindevcount: 1 });
        const dir = await store.mkdir(at.domainId, ROOT_ID, 'taken', { mtime: 1 });
        const file = await upload(at, ROOT_ID, 'plain');
        const r = await store.reserveUpload({ domainId: at.domainId, classId: at.classId, devids: [], now: 1 });
        const input = { fid: r.fid, parentId: ROOT_ID, name: 'taken', length: 1, checksum: SHA_A, devids: [], mtime: 1 };
        await expectCode(store.commitUpload(input), ErrorCodes.IS_A_DIRECTORY);
        await expectCode(store.commitUpload({ ...input, name: 'x', parentId: 999_999 }), ErrorCodes.NOT_FOUND);
        await expectCode(store.commitUpload({ ...input, name: 'x', parentId: file.entry.id }), ErrorCodes.NOT_A_DIRECTORY);
        await expectCode(store.commitUpload({ ...input, name: 'a/b' }), ErrorCodes.INVALID_NAME);
        await expectCode(store.commitUpload({ ...input, name: '..' }), ErrorCodes.INVALID_NAME);
        await expectCode(store.commitUpload({ ...input, name: 'x', checksum: 'abc' }), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(store.commitUpload({ ...input, name: 'x', checksum: null }), ErrorCodes.INVALID_ARGUMENT);
        // Every failure rolled back: the reservation is still there and no file row appeared.
        assert.ok(await store.getReservation(r.fid));
        assert.equal(await store.getFile(r.fid), null);
        assert.equal((await store.lookup(at.domainId, ROOT_ID, 'taken'))!.id, dir.id);
        await store.commitUpload({ ...input, name: 'ok' });
        await expectCode(store.commitUpload({ ...input, name: 'ok2' }), ErrorCodes.NOT_FOUND, /reserved/);
        await expectCode(store.commitUpload({ ...input, fid: r.fid + 1_000_000, name: 'z' }), ErrorCodes.NOT_FOUND);
        const other = await freshDomain();
        const r2 = await store.reserveUpload({ domainId: other.domainId, classId: other.classId, devids: [], now: 1 });
        await expectCode(store.commitUpload({ ...input, fid: r2.fid, name: 'cross', parentId: dir.id }), ErrorCodes.NOT_FOUND);
      });

      test('checksums follow the class: md5 digests, none stores null', async () => {
        const md5 = await freshDomain({ mindevcount: 1, checksum: 'md5' });
        const f = await upload(md5, ROOT_ID, 'm', { checksum: 'D41D8CD98F00B204E9800998ECF8427E' });
        assert.deepEqual([(await store.getFile(f.entry.fid!))!.checksum, (await store.getFile(f.entry.fid!))!.checksumAlg], ['d41d8cd98f00b204e9800998ecf8427e', 'md5']);
        await expectCode(upload(md5, ROOT_ID, 'm2', { checksum: SHA_A }), ErrorCodes.INVALID_ARGUMENT, /md5/);
        const none = await freshDomain({ mindevcount: 1, checksum: 'none' });
        const n = await upload(none, ROOT_ID, 'n', { checksum: null });
        assert.deepEqual([(await store.getFile(n.entry.fid!))!.checksum, (await store.getFile(n.entry.fid!))!.checksumAlg], [null, 'none']);
      });

      test('abortUpload drops the reservation and queues a delete on the reserved devices; again is a no-op', async () => {
        const at = await freshDomain();
        const [d1, d2] = [await newDevice(), await newDevice()];
        await takeAll('delete');
        const r = await store.reserveUpload({ domainId: at.domainId, classId: at.classId, devids: [d2, d1], now: 1 });
        await store.abortUpload(r.fid);
        await store.abortUpload(r.fid);
        assert.equal(await store.getReservation(r.fid), null);
        const items = await takeAll('delete');
        assert.deepEqual(items.map((i) => [i.fid, i.devids]), [[r.fid, [d1, d2].sort((a, b) => a - b)]]);
        await expectCode(store.commitUpload({ fid: r.fid, parentId: ROOT_ID, name: 'late', length: 0, checksum: SHA_A, devids: [], mtime: 1 }), ErrorCodes.NOT_FOUND);
      });

      test('concurrent commits of one new name: both succeed, the later replaces the earlier', async () => {
        const at = await freshDomain({ mindevcount: 1 });
        for (let round = 0; round < 3; round++) {
          const name = `race${round}`;
          const [a, b] = await Promise.all([upload(at, ROOT_ID, name), upload(at, ROOT_ID, name)]);
          const replaced = [a.replacedFid, b.replacedFid].filter((x) => x !== null);
          assert.equal(replaced.length, 1, 'exactly one commit replaced the other');
          const live = (await store.lookup(at.domainId, ROOT_ID, name))!;
          assert.equal(live.fid, a.replacedFid === null ? b.entry.fid : a.entry.fid);
          assert.equal(replaced[0], live.fid === a.entry.fid ? b.entry.fid : a.entry.fid);
        }
      });
    });

    // --- namespace ------------------------------------------------------------------------

    describe('namespace', () => {
      test('mkdir, lookup, getEntry; defaults 0755; EXISTS; NOT_FOUND parent; NOT_A_DIRECTORY parent', async () => {
        const { domainId, classId } = await freshDomain({ mindevcount: 1 });
        const a = await store.mkdir(domainId, ROOT_ID, 'a', { mtime: 42 });
        assert.deepEqual({ ...a, id: 0 }, { id: 0, domainId, parentId: ROOT_ID, name: 'a', kind: 'dir', fid: null, size: 0, mtime: 42, mode: 0o755 });
        const b = await store.mkdir(domainId, a.id, 'b', { mtime: 43, mode: 0o700 });
        assert.equal(b.mode, 0o700);
        assert.deepEqual(await store.lookup(domainId, a.id, 'b'), b);
        assert.deepEqual(await store.getEntry(a.id), a);
        assert.equal(await store.getEntry(999_999_999), null);
        assert.equal(await store.lookup(domainId, a.id, 'B'), null);
        await expectCode(store.mkdir(domainId, ROOT_ID, 'a', { mtime: 1 }), ErrorCodes.EXISTS, /already exists/);
        await expectCode(store.mkdir(domainId, 999_999_999, 'x', { mtime: 1 }), ErrorCodes.NOT_FOUND);
        const f = await upload({ domainId, classId }, ROOT_ID, 'file');
        await expectCode(store.mkdir(domainId, f.entry.id, 'x', { mtime: 1 }), ErrorCodes.NOT_A_DIRECTORY);
        await expectCode(store.mkdir(domainId, ROOT_ID, 'file', { mtime: 1 }), ErrorCodes.EXISTS);
        await expectCode(store.mkdir(999_999, ROOT_ID, 'x', { mtime: 1 }), ErrorCodes.NOT_FOUND);
        const other = await freshDomain();
        await expectCode(store.mkdir(other.domainId, a.id, 'x', { mtime: 1 }), ErrorCodes.NOT_FOUND, /parent/);
        const concurrent = await Promise.allSettled([1, 2, 3].map(() => store.mkdir(domainId, ROOT_ID, 'same', { mtime: 1 })));
        assert.equal(concurrent.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of concurrent) if (r.status === 'rejected') assert.equal((r.reason as { code?: string }).code, ErrorCodes.EXISTS);
      });

      test('names are validated', async () => {
        const { domainId } = await freshDomain();
        for (const bad of ['', '.', '..', 'a/b', 'nul\0', 'cr\r', 'x'.repeat(256), 'é'.repeat(128)])
          await expectCode(store.mkdir(domainId, ROOT_ID, bad, { mtime: 1 }), ErrorCodes.INVALID_NAME);
        await store.mkdir(domainId, ROOT_ID, 'x'.repeat(255), { mtime: 1 });
      });

      test('names are byte-exact and case-sensitive: no folding of case, accents or trailing spaces', async () => {
        const { domainId } = await freshDomain();
        const names = ['file', 'File', 'FILE', 'file ', ' file', 'caf\u00e9', 'cafe\u0301', 'stra\u00dfe', 'strasse', 'ı', 'i', 'a\\b'];
        const ids = new Map<string, number>();
        for (const n of names) ids.set(n, (await store.mkdir(domainId, ROOT_ID, n, { mtime: 1 })).id);
        for (const n of names) assert.equal((await store.lookup(domainId, ROOT_ID, n))?.id, ids.get(n), JSON.stringify(n));
        assert.equal(new Set(ids.values()).size, names.length);
        assert.equal((await store.listDir(domainId, ROOT_ID, { limit: 100 })).length, names.length);
      });

      test('listDir pages in binary (UTF-8 byte) order, strictly after `after`, scoped to one directory', async () => {
        const at = await freshDomain({ mindevcount: 1 });
        const { domainId } = at;
        const dir = await store.mkdir(domainId, ROOT_ID, 'dir', { mtime: 1 });
        const names = ['b', 'B', 'a', 'é', '中文', 'Z', '_x', '😀', '\uFF5E', 'a b', 'ab', '10', '9', '~'];
        for (const [i, n] of names.entries()) {
          if (i % 2) await store.mkdir(domainId, dir.id, n, { mtime: 1 });
          else await upload(at, dir.id, n);
        }
        await store.mkdir(domainId, ROOT_ID, 'outside', { mtime: 1 });
        const other = await freshDomain();
        await store.mkdir(other.domainId, ROOT_ID, 'a', { mtime: 1 });
        const expected = [...names].sort(byteOrder);
        assert.deepEqual((await store.listDir(domainId, dir.id, { limit: 100 })).map((e) => e.name), expected);
        const paged: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await store.listDir(domainId, dir.id, { limit: 4, ...(after !== undefined && { after }) });
          if (page.length === 0) break;
          assert.ok(page.length <= 4);
          paged.push(...page.map((e) => e.name));
          after = page[page.length - 1]!.name;
        }
        assert.deepEqual(paged, expected);
        assert.deepEqual((await store.listDir(domainId, dir.id, { after: 'a', limit: 2 })).map((e) => e.name), expected.slice(expected.indexOf('a') + 1, expected.indexOf('a') + 3));
        const files = (await store.listDir(domainId, dir.id, { limit: 100 })).filter((e) => e.kind === 'file');
        for (const f of files) assert.equal(f.size, 3);
        assert.deepEqual((await store.listDir(other.domainId, ROOT_ID, { limit: 10 })).map((e) => e.name), ['a']);
        assert.deepEqual(await store.listDir(domainId, 999_999_999, { limit: 10 }), []);
      });

      test('resolvePath walks from the root; null when a component is missing or a file is in the way', async () => {
        const at = await freshDomain({ mindevcount: 1 });
        const { domainId } = at;
        const a = await store.mkdir(domainId, ROOT_ID, 'a', { mtime: 1 });
        const b = await store.mkdir(domainId, a.id, 'b', { mtime: 1 });
        const f = await upload(at, b.id, 'f.txt');
        const root = (await store.resolvePath(domainId, []))!;
        assert.deepEqual([root.id, root.kind], [ROOT_ID, 'dir']);
        assert.deepEqual(await store.resolvePath(domainId, ['a']), a);
        assert.deepEqual(await store.resolvePath(domainId, ['a', 'b', 'f.txt']), f.entry);
        assert.equal(await store.resolvePath(domainId, ['a', 'x']), null);
        assert.equal(await store.resolvePath(domainId, ['a', 'b', 'f.txt', 'deeper']), null);
        assert.equal(await store.resolvePath(domainId, ['A']), null);
        const other = await freshDomain();
        assert.equal(await store.resolvePath(other.domainId, ['a']), null);
      });

      test('walkPath returns the entries that exist along a path, stopping at a gap or a file, at any depth', async () => {
        const at = await freshDomain({ mindevcount: 1 });
        const { domainId } = at;
        const a = await store.mkdir(domainId, ROOT_ID, 'a', { mtime: 1 });
        const b = await store.mkdir(domainId, a.id, 'b', { mtime: 1 });
        const f = await upload(at, b.id, 'f.txt');
        assert.deepEqual(await store.walkPath(domainId, []), []);
        assert.deepEqual(await store.walkPath(domainId, ['a', 'b', 'f.txt']), [a, b, f.entry]);
        assert.deepEqual(await store.walkPath(domainId, ['a', 'b', 'new.txt']), [a, b], 'the parent of a new name');
        assert.deepEqual(await store.walkPath(domainId, ['a', 'x', 'b']), [a]);
        assert.deepEqual(await store.walkPath(domainId, ['a', 'b', 'f.txt', 'deeper']), [a, b, f.entry], 'a file ends the walk');
        assert.deepEqual(await store.walkPath(domainId, ['nope', 'a']), []);
        assert.deepEqual(await store.walkPath((await freshDomain()).domainId, ['a', 'b']), [], 'another domain sees nothing');
        // Deeper than one query's worth of joins (16): the walk goes on from where the last query stopped.
        const deep = [a];
        for (let i = 0; i < 40; i++) deep.push(await store.mkdir(domainId, deep[deep.length - 1]!.id, `d${i}`, { mtime: 1 }));
        const names = deep.map((e) => e.name);
        assert.deepEqual(await store.walkPath(domainId, names), deep);
        assert.deepEqual(await store.resolvePath(domainId, names), deep[deep.length - 1]);
        for (const cut of [15, 16, 17, 32, 33]) {
          const broken = [...names.slice(0, cut), 'missing', ...names.slice(cut + 1)];
          assert.deepEqual(await store.walkPath(domainId, broken), deep.slice(0, cut), `gap at component ${cut}`);
          assert.equal(await store.resolvePath(domainId, broken), null);
        }
      });

      test('rmdir: NOT_EMPTY, NOT_A_DIRECTORY, NOT_FOUND; removes an empty directory', async () => {
        const at = await freshDomain({ mindevcount: 1 });
        const a = await store.mkdir(at.domainId, ROOT_ID, 'a', { mtime: 1 });
        const sub = await store.mkdir(at.domainId, a.id, 'sub', { mtime: 1 });
        const f = await upload(at, ROOT_ID, 'f');
        await expectCode(store.rmdir(a.id), ErrorCodes.NOT_EMPTY);
        await expectCode(store.rmdir(f.entry.id), ErrorCodes.NOT_A_DIRECTORY);
        await store.rmdir(sub.id);
        await store.rmdir(a.id);
        assert.equal(await store.getEntry(a.id), null);
        await expectCode(store.rmdir(a.id), ErrorCodes.NOT_FOUND);
      });

      test('removeFile removes the entry and the file, queueing its fid for deletion with its devices', async () => {
        const at = await freshDomain({ mindevcount: 1 });
        const dev = await newDevice();
        const dir = await store.mkdir(at.domainId, ROOT_ID, 'd', { mtime: 1 });
        const f = await upload(at, dir.id, 'gone.txt', { devids: [dev] });
        await takeAll('delete');
        await expectCode(store.removeFile(dir.id), ErrorCodes.IS_A_DIRECTORY);
        await store.removeFile(f.entry.id);
        assert.equal(await store.lookup(at.domainId, dir.id, 'gone.txt'), null);
        assert.equal(await store.getFile(f.entry.fid!), null);
        assert.deepEqual((await takeAll('delete')).map((i) => [i.fid, i.devids]), [[f.entry.fid, [dev]]]);
        await expectCode(store.removeFile(f.entry.id), ErrorCodes.NOT_FOUND);
        await store.rmdir(dir.id);
      });

      test('rename within a directory and across directories; a directory moves with its subtree', async () => {
        const at = await freshDomain({ mindevcount: 1 });
        const { domainId } = at;
        const src = await store.mkdir(domainId, ROOT_ID, 'src', { mtime: 1 });
        const dst = await store.mkdir(domainId, ROOT_ID, 'dst', { mtime: 1 });
        const f = await upload(at, src.id, 'a.txt', { mtime: 77 });
        const r1 = await store.rename(f.entry.id, src.id, 'b.txt');
        assert.deepEqual(r1, { entry: { ...f.entry, name: 'b.txt' }, replacedFid: null });
        assert.equal(await store.lookup(domainId, src.id, 'a.txt'), null);
        const r2 = await store.rename(f.entry.id, dst.id, 'c.txt');
        assert.deepEqual(r2.entry, { ...f.entry, parentId: dst.id, name: 'c.txt' });
        assert.deepEqual(await store.getEntry(f.entry.id), r2.entry);

        const tree = await store.mkdir(domainId, src.id, 'tree', { mtime: 1 });
        const leaf = await store.mkdir(domainId, tree.id, 'leaf', { mtime: 1 });
        const moved = await store.rename(tree.id, dst.id, 'TREE');
        assert.equal(moved.entry.parentId, dst.id);
        assert.deepEqual(await store.resolvePath(domainId, ['dst', 'TREE', 'leaf']), leaf);
        assert.equal(await store.resolvePath(domainId, ['src', 'tree']), null);
        const toRoot = await store.rename(leaf.id, ROOT_ID, 'top');
        assert.deepEqual(await store.resolvePath(domainId, ['top']), toRoot.entry);
        // Renaming onto itself changes nothing.
        assert.deepEqual(await store.rename(leaf.id, ROOT_ID, 'top'), { entry: toRoot.entry, replacedFid: null });
      });

      test('rename: a file replaces a file (old fid queued for deletion); every other clash is EXISTS', async () => {
        const at = await freshDomain({ mindevcount: 1 });
        const { domainId } = at;
        const dev = await newDevice();
        const x = await upload(at, ROOT_ID, 'x', { devids: [dev] });
        const y = await upload(at, ROOT_ID, 'y', { devids: [dev] });
        const dir = await store.mkdir(domainId, ROOT_ID, 'dir', { mtime: 1 });
        const dir2 = await store.mkdir(domainId, ROOT_ID, 'dir2', { mtime: 1 });
        await takeAll('delete');
        await expectCode(store.rename(x.entry.id, ROOT_ID, 'dir'), ErrorCodes.EXISTS);
        await expectCode(store.rename(dir.id, ROOT_ID, 'x'), ErrorCodes.EXISTS);
        await expectCode(store.rename(dir.id, ROOT_ID, 'dir2'), ErrorCodes.EXISTS);
        const r = await store.rename(x.entry.id, ROOT_ID, 'y');
        assert.equal(r.replacedFid, y.entry.fid);
        assert.deepEqual(await store.lookup(domainId, ROOT_ID, 'y'), { ...x.entry, name: 'y' });
        assert.equal(await store.getEntry(y.entry.id), null);
        assert.equal(await store.getFile(y.entry.fid!), null);
        assert.deepEqual((await takeAll('delete')).map((i) => [i.fid, i.devids]), [[y.entry.fid, [dev]]]);
        assert.ok(await store.getEntry(dir2.id));
      });

      test('rename: into itself or a descendant is INVALID_MOVE; bad targets are NOT_FOUND, NOT_A_DIRECTORY, INVALID_NAME', async () => {
        const at = await freshDomain({ mindevcount: 1 });
        const { domainId } = at;
        const a = await store.mkdir(domainId, ROOT_ID, 'a', { mtime: 1 });
        const b = await store.mkdir(domainId, a.id, 'b', { mtime: 1 });
        const c = await store.mkdir(domainId, b.id, 'c', { mtime: 1 });
        const f = await upload(at, ROOT_ID, 'f');
        await expectCode(store.rename(a.id, a.id, 'a2'), ErrorCodes.INVALID_MOVE);
        await expectCode(store.rename(a.id, c.id, 'a'), ErrorCodes.INVALID_MOVE);
        await expectCode(store.rename(a.id, 999_999_999, 'a'), ErrorCodes.NOT_FOUND);
        await expectCode(store.rename(a.id, f.entry.id, 'a'), ErrorCodes.NOT_A_DIRECTORY);
        await expectCode(store.rename(a.id, ROOT_ID, 'x/y'), ErrorCodes.INVALID_NAME);
        await expectCode(store.rename(999_999_999, ROOT_ID, 'z'), ErrorCodes.NOT_FOUND);
        const other = await freshDomain();
        const foreign = await store.mkdir(other.domainId, ROOT_ID, 'foreign', { mtime: 1 });
        await expectCode(store.rename(f.entry.id, foreign.id, 'f'), ErrorCodes.NOT_FOUND);
        // Moving a deeper directory up out of the way is fine.
        await store.rename(c.id, ROOT_ID, 'c');
        assert.deepEqual(await store.resolvePath(domainId, ['a', 'b']), b);
      });

      test('concurrent crossing moves never build a cycle', async () => {
        const { domainId } = await freshDomain();
        for (let round = 0; round < 5; round++) {
          const p = await store.mkdir(domainId, ROOT_ID, `p${round}`, { mtime: 1 });
          const q = await store.mkdir(domainId, ROOT_ID, `q${round}`, { mtime: 1 });
          const results = await Promise.allSettled([store.rename(p.id, q.id, 'p'), store.rename(q.id, p.id, 'q')]);
          const ok = results.filter((r) => r.status === 'fulfilled').length;
          assert.equal(ok, 1, `round ${round}: ${JSON.stringify(results.map((r) => r.status === 'rejected' ? (r.reason as Error).message : 'ok'))}`);
          for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { code?: string }).code, ErrorCodes.INVALID_MOVE);
          // Both directories still reach the root.
          for (const id of [p.id, q.id]) {
            let cur = (await store.getEntry(id))!;
            for (let hops = 0; cur.parentId !== ROOT_ID; hops++) {
              assert.ok(hops < 5);
              cur = (await store.getEntry(cur.parentId))!;
            }
          }
        }
      });

      test('setMtime and setMode; NOT_FOUND for unknown entries', async () => {
        const { domainId } = await freshDomain();
        const d = await store.mkdir(domainId, ROOT_ID, 'd', { mtime: 1 });
        await store.setMtime(d.id, 1_234_567_890_123);
        await store.setMode(d.id, 0o711);
        assert.deepEqual([(await store.getEntry(d.id))!.mtime, (await store.getEntry(d.id))!.mode], [1_234_567_890_123, 0o711]);
        await store.setMtime(d.id, 1_234_567_890_123);
        await expectCode(store.setMtime(999_999_999, 1), ErrorCodes.NOT_FOUND);
        await expectCode(store.setMode(999_999_999, 0o644), ErrorCodes.NOT_FOUND);
        await expectCode(store.setMode(d.id, 0o10000), ErrorCodes.INVALID_ARGUMENT);
      });

      test('usageUnder sums file sizes in a subtree (and the whole domain at the root)', async () => {
        const at = await freshDomain({ mindevcount: 1 });
        const { domainId } = at;
        const a = await store.mkdir(domainId, ROOT_ID, 'a', { mtime: 1 });
        const b = await store.mkdir(domainId, a.id, 'b', { mtime: 1 });
        const c = await store.mkdir(domainId, b.id, 'c', { mtime: 1 });
        await upload(at, ROOT_ID, 'r', { length: 1 });
        await upload(at, a.id, 'x', { length: 10 });
        await upload(at, b.id, 'y', { length: 100 });
        await upload(at, c.id, 'z', { length: 2 ** 41 });
        await upload(at, c.id, 'z', { length: 1000 }); // overwrite: only the new size counts
        const other = await freshDomain({ mindevcount: 1 });
        await upload(other, ROOT_ID, 'elsewhere', { length: 5_000_000 });
        assert.equal(await store.usageUnder(domainId, c.id), 1000);
        assert.equal(await store.usageUnder(domainId, b.id), 1100);
        assert.equal(await store.usageUnder(domainId, a.id), 1110);
        assert.equal(await store.usageUnder(domainId, ROOT_ID), 1111);
        const empty = await store.mkdir(domainId, ROOT_ID, 'empty', { mtime: 1 });
        assert.equal(await store.usageUnder(domainId, empty.id), 0);
        await upload(at, c.id, 'huge', { length: 2 ** 41 });
        const total = await store.usageUnder(domainId, a.id);
        assert.equal(typeof total, 'number');
        assert.equal(total, 1110 + 2 ** 41);
      });
    });

    // --- queues ---------------------------------------------------------------------------

    describe('queues', () => {
      test('enqueue then claim: due items only, lease set, not claimable again until the lease expires', async () => {
        await takeAll('fsck');
        const now = 10_000_000;
        await store.enqueue('fsck', 101, { now });
        await store.enqueue('fsck', 102, { now, delayMs: 5000, devids: [3, 1] });
        assert.equal(await store.queueDepth('fsck'), 2);
        const got = await store.claim('fsck', 'w1', { limit: 10, leaseMs: 1000, now: now + 1 });
        assert.deepEqual(got, [{ queue: 'fsck', fid: 101, devids: [], failcount: 0, nextTry: now, leaseOwner: 'w1', leaseUntil: now + 1001 }]);
        assert.deepEqual(await store.claim('fsck', 'w2', { limit: 10, leaseMs: 1000, now: now + 500 }), []);
        const later = await store.claim('fsck', 'w2', { limit: 10, leaseMs: 1000, now: now + 5000 });
        assert.deepEqual(later.map((i) => [i.fid, i.leaseOwner, i.devids]), [[101, 'w2', []], [102, 'w2', [1, 3]]]);
        assert.equal(await store.complete('fsck', 101, 'w1'), false, 'w1 lost its lease to w2');
        assert.equal(await store.complete('fsck', 101, 'w2'), true);
        assert.equal(await store.complete('fsck', 101, 'w2'), false);
        assert.equal(await store.queueDepth('fsck'), 1);
        await takeAll('fsck');
        assert.equal(await store.queueDepth('fsck'), 0);
      });

      test('claim honours the limit and takes the earliest first', async () => {
        await takeAll('fsck');
        const now = 20_000_000;
        for (const [fid, delay] of [[201, 30], [202, 10], [203, 20], [204, 0]] as const) await store.enqueue('fsck', fid, { now, delayMs: delay });
        const first = await store.claim('fsck', 'w', { limit: 2, leaseMs: 60_000, now: now + 100 });
        assert.deepEqual(first.map((i) => i.fid), [204, 202]);
        const rest = await store.claim('fsck', 'w', { limit: 10, leaseMs: 60_000, now: now + 100 });
        assert.deepEqual(rest.map((i) => i.fid), [203, 201]);
        await takeAll('fsck');
      });

      test('enqueue of a queued item keeps its failcount, takes the earlier nextTry and merges devids', async () => {
        await takeAll('replicate');
        const now = 30_000_000;
        await store.enqueue('replicate', 301, { now, delayMs: 10_000, devids: [5] });
        const [item] = await store.claim('replicate', 'w', { limit: 1, leaseMs: 10, now: now + 10_000 });
        assert.ok(item);
        assert.equal(await store.retry('replicate', 301, 'w', { delayMs: 50_000, now: now + 10_000 }), true);
        await store.enqueue('replicate', 301, { now, delayMs: 20_000, devids: [2, 5] });
        await store.enqueue('replicate', 301, { now, delayMs: 90_000 });
        const [again] = await store.claim('replicate', 'w', { limit: 5, leaseMs: 10, now: now + 20_000 });
        assert.deepEqual([again?.fid, again?.failcount, again?.nextTry, again?.devids], [301, 1, now + 20_000, [2, 5]]);
        assert.equal(await store.queueDepth('replicate'), 1);
        await takeAll('replicate');
      });

      test('retry releases the lease, counts the failure and postpones; only the lease owner may retry or complete', async () => {
        await takeAll('delete');
        const now = 40_000_000;
        await store.enqueue('delete', 401, { now, devids: [1] });
        await store.claim('delete', 'owner', { limit: 1, leaseMs: 60_000, now });
        assert.equal(await store.retry('delete', 401, 'someone-else', { delayMs: 1, now }), false);
        assert.equal(await store.retry('delete', 401, 'owner', { delayMs: 15_000, now: now + 5 }), true);
        assert.equal(await store.retry('delete', 401, 'owner', { delayMs: 15_000, now: now + 5 }), false, 'no longer leased');
        assert.deepEqual(await store.claim('delete', 'owner', { limit: 1, leaseMs: 1, now: now + 15_004 }), []);
        const [it] = await store.claim('delete', 'other', { limit: 1, leaseMs: 1, now: now + 15_005 });
        assert.deepEqual([it?.failcount, it?.nextTry, it?.leaseOwner], [1, now + 15_005, 'other']);
        assert.equal(await store.complete('delete', 401, 'owner'), false);
        assert.equal(await store.complete('delete', 401, 'other'), true);
        assert.equal(await store.queueDepth('delete'), 0);
      });

      test('queues are separate; a bad queue name is INVALID_ARGUMENT', async () => {
        await takeAll('fsck');
        await takeAll('delete');
        await store.enqueue('fsck', 501, { now: 1 });
        await store.enqueue('delete', 501, { now: 1 });
        assert.equal(await store.queueDepth('fsck'), 1);
        assert.equal(await store.queueDepth('delete'), 1);
        assert.deepEqual((await takeAll('fsck')).map((i) => i.queue), ['fsck']);
        assert.equal(await store.queueDepth('delete'), 1);
        await takeAll('delete');
        await expectCode(store.enqueue('nope' as QueueName, 1), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(store.claim('nope' as QueueName, 'w', { limit: 1, leaseMs: 1, now: 1 }), ErrorCodes.INVALID_ARGUMENT);
      });

      test('concurrent claimers in one process never share an item', async () => {
        await takeAll('fsck');
        const now = 60_000_000;
        for (let i = 0; i < 60; i++) await store.enqueue('fsck', 6000 + i, { now });
        const owners = ['a', 'b', 'c', 'd'];
        const batches = await Promise.all(owners.map((o) => store.claim('fsck', o, { limit: 20, leaseMs: 60_000, now })));
        const fids = batches.flat().map((i) => i.fid);
        assert.equal(new Set(fids).size, fids.length, 'an item was leased twice');
        const rest = await store.claim('fsck', 'e', { limit: 100, leaseMs: 60_000, now });
        assert.equal(fids.length + rest.length, 60);
        await takeAll('fsck');
      });
    });

    // --- users and settings ---------------------------------------------------------------

    describe('users', () => {
      test('create, get, list, update, remove', async () => {
        const { domainId } = await freshDomain();
        const name = uniq('alice');
        const u = await store.createUser({ name, passwordHash: 'scrypt$16384$8$1$c2FsdA==$aGFzaA==', domainId, homeDir: '/alice', readOnly: false, quotaBytes: 10 * 2 ** 30 });
        assert.ok(u.id > 0);
        assert.deepEqual(await store.getUser(name), u);
        assert.equal(await store.getUser(name.toUpperCase()), null);
        assert.ok((await store.listUsers()).some((x) => x.id === u.id));
        const names = (await store.listUsers()).map((x) => x.name);
        assert.deepEqual(names, [...names].sort(byteOrder));
        const up = await store.updateUser(name, { readOnly: true, quotaBytes: null, homeDir: '/', passwordHash: 'new' });
        assert.deepEqual(up, { ...u, readOnly: true, quotaBytes: null, homeDir: '/', passwordHash: 'new' });
        assert.deepEqual(await store.getUser(name), up);
        const partial = await store.updateUser(name, { quotaBytes: 5 });
        assert.deepEqual(partial, { ...up, quotaBytes: 5 });
        await store.removeUser(name);
        assert.equal(await store.getUser(name), null);
        await expectCode(store.removeUser(name), ErrorCodes.NOT_FOUND);
        await expectCode(store.updateUser(name, { readOnly: false }), ErrorCodes.NOT_FOUND);
      });

      test('validation: duplicate name EXISTS, unknown domain NOT_FOUND, bad fields INVALID_ARGUMENT', async () => {
        const { domainId } = await freshDomain();
        const base = { name: uniq('bob'), passwordHash: 'h', domainId, homeDir: '/', readOnly: false, quotaBytes: null };
        await store.createUser(base);
        await expectCode(store.createUser(base), ErrorCodes.EXISTS);
        await expectCode(store.createUser({ ...base, name: uniq('c'), domainId: 999_999 }), ErrorCodes.NOT_FOUND);
        await expectCode(store.createUser({ ...base, name: uniq('c'), homeDir: 'relative' }), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(store.createUser({ ...base, name: uniq('c'), quotaBytes: -1 }), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(store.createUser({ ...base, name: '' }), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(store.updateUser(base.name, { domainId: 999_999 }), ErrorCodes.NOT_FOUND);
      });
    });

    describe('settings', () => {
      test('get, set, overwrite; keys are exact', async () => {
        const key = uniq('setting');
        assert.equal(await store.getSetting(key), null);
        await store.setSetting(key, 'one');
        assert.equal(await store.getSetting(key), 'one');
        await store.setSetting(key, 'two ünïcödé 😀\nline');
        assert.equal(await store.getSetting(key), 'two ünïcödé 😀\nline');
        await store.setSetting(key, 'two ünïcödé 😀\nline');
        assert.equal(await store.getSetting(key.toUpperCase()), null);
        await store.setSetting(`${key} `, 'spaced');
        assert.equal(await store.getSetting(key), 'two ünïcödé 😀\nline');
        const big = 'x'.repeat(100_000);
        await store.setSetting(`${key}big`, big);
        assert.equal(await store.getSetting(`${key}big`), big);
      });
    });

    // --- WebDAV ---------------------------------------------------------------------------

    describe('WebDAV', () => {
      const NS = 'http://example.com/ns/';
      const HOUR = 3_600_000;

      test('getFiles returns the rows that exist, in fid order', async () => {
        const at = await freshDomain();
        const a = await upload(at, ROOT_ID, 'gf-a', { length: 5 });
        const b = await upload(at, ROOT_ID, 'gf-b', { length: 7, checksum: SHA_B });
        const rows = await store.getFiles([b.entry.fid!, 999_999_999, a.entry.fid!, a.entry.fid!]);
        assert.deepEqual(rows.map((r) => [r.fid, r.length, r.checksum]), [
          [a.entry.fid, 5, SHA_A],
          [b.entry.fid, 7, SHA_B],
        ]);
        assert.deepEqual(await store.getFiles([]), []);
      });

      test('dead properties: set, replace, remove in document order, per entry, on the root too', async () => {
        const { domainId, ...at } = await freshDomain();
        const dir = await store.mkdir(domainId, ROOT_ID, 'dp', { mtime: 1 });
        const file = await upload({ domainId, ...at }, dir.id, 'f');
        await store.patchDavProps(domainId, file.entry.id, [
          { op: 'set', ns: NS, name: 'b', value: 'two' },
          { op: 'set', ns: NS, name: 'a', value: '<x xmlns="u">ünï 😀</x>' },
          { op: 'set', ns: '', name: 'plain', value: 'p' },
        ]);
        await store.patchDavProps(domainId, dir.id, [{ op: 'set', ns: NS, name: 'a', value: 'dir' }]);
        await store.patchDavProps(domainId, ROOT_ID, [{ op: 'set', ns: NS, name: 'r', value: 'root' }]);
        assert.deepEqual(await store.davProps(domainId, [file.entry.id, dir.id, ROOT_ID]), [
          { entryId: ROOT_ID, ns: NS, name: 'r', value: 'root' },
          { entryId: dir.id, ns: NS, name: 'a', value: 'dir' },
          { entryId: file.entry.id, ns: '', name: 'plain', value: 'p' },
          { entryId: file.entry.id, ns: NS, name: 'a', value: '<x xmlns="u">ünï 😀</x>' },
          { entryId: file.entry.id, ns: NS, name: 'b', value: 'two' },
        ].sort((x, y) => x.entryId - y.entryId || byteOrder(x.ns, y.ns) || byteOrder(x.name, y.name)));
        // Operations apply in order: remove-then-set keeps the value, set-then-remove drops it.
        await store.patchDavProps(domainId, file.entry.id, [
          { op: 'remove', ns: NS, name: 'b' },
          { op: 'set', ns: NS, name: 'b', value: 'x' },
          { op: 'set', ns: NS, name: 'b', value: 'y' },
          { op: 'set', ns: NS, name: 'a', value: 'gone soon' },
          { op: 'remove', ns: NS, name: 'a' },
          { op: 'remove', ns: NS, name: 'never-set' },
        ]);
        const now = await store.davProps(domainId, [file.entry.id]);
        assert.deepEqual(now.map((p) => [p.ns, p.name, p.value]), [['', 'plain', 'p'], [NS, 'b', 'y']]);
        // A rename keeps the entry, so its properties follow it.
        await store.rename(file.entry.id, ROOT_ID, 'moved-f');
        assert.equal((await store.davProps(domainId, [file.entry.id])).length, 2);
        // Names are exact: another namespace is another property.
        await store.patchDavProps(domainId, file.entry.id, [{ op: 'set', ns: NS + 'x', name: 'b', value: 'other' }]);
        assert.equal((await store.davProps(domainId, [file.entry.id])).length, 3);
        assert.deepEqual(await store.davProps(domainId, []), []);
      });

      test('dead properties: gone entries are NOT_FOUND, bad names INVALID_ARGUMENT, nothing half-applied', async () => {
        const at = await freshDomain();
        const f = await upload(at, ROOT_ID, 'bad');
        await expectCode(store.patchDavProps(at.domainId, 999_999_999, [{ op: 'set', ns: NS, name: 'a', value: 'v' }]), ErrorCodes.NOT_FOUND);
        const other = await freshDomain();
        await expectCode(store.patchDavProps(other.domainId, f.entry.id, [{ op: 'set', ns: NS, name: 'a', value: 'v' }]), ErrorCodes.NOT_FOUND);
        const ops = (bad: { ns: string; name: string }) => [
          { op: 'set' as const, ns: NS, name: 'ok', value: 'v' },
          { op: 'set' as const, ...bad, value: 'v' },
        ];
        await expectCode(store.patchDavProps(at.domainId, f.entry.id, ops({ ns: NS, name: '' })), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(store.patchDavProps(at.domainId, f.entry.id, ops({ ns: NS, name: 'n'.repeat(256) })), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(store.patchDavProps(at.domainId, f.entry.id, ops({ ns: 'u'.repeat(1025), name: 'n' })), ErrorCodes.INVALID_ARGUMENT);
        assert.deepEqual(await store.davProps(at.domainId, [f.entry.id]), []);
        // The longest allowed name and namespace fit.
        await store.patchDavProps(at.domainId, f.entry.id, [{ op: 'set', ns: 'u'.repeat(1024), name: 'n'.repeat(255), value: 'v'.repeat(100_000) }]);
        assert.equal((await store.davProps(at.domainId, [f.entry.id]))[0]?.value.length, 100_000);
      });

      test('copyDavProps replaces the target\'s properties with the source\'s', async () => {
        const at = await freshDomain();
        const a = await upload(at, ROOT_ID, 'cp-a');
        const b = await upload(at, ROOT_ID, 'cp-b');
        await store.patchDavProps(at.domainId, a.entry.id, [{ op: 'set', ns: NS, name: 'one', value: '1' }, { op: 'set', ns: NS, name: 'two', value: '2' }]);
        await store.patchDavProps(at.domainId, b.entry.id, [{ op: 'set', ns: NS, name: 'old', value: 'x' }]);
        await store.copyDavProps(at.domainId, a.entry.id, b.entry.id);
        assert.deepEqual((await store.davProps(at.domainId, [b.entry.id])).map((p) => [p.name, p.value]), [['one', '1'], ['two', '2']]);
        assert.equal((await store.davProps(at.domainId, [a.entry.id])).length, 2);
        await store.copyDavProps(at.domainId, a.entry.id, a.entry.id);
        assert.equal((await store.davProps(at.domainId, [a.entry.id])).length, 0, 'copying onto itself leaves an empty set, as a fresh copy would');
        await expectCode(store.copyDavProps(at.domainId, a.entry.id, 999_999_999), ErrorCodes.NOT_FOUND);
      });

      test('purgeDavState drops properties of deleted entries and expired locks, and nothing else', async () => {
        const at = await freshDomain();
        const keep = await upload(at, ROOT_ID, 'keep');
        const gone = await upload(at, ROOT_ID, 'gone');
        const dir = await store.mkdir(at.domainId, ROOT_ID, 'gone-dir', { mtime: 1 });
        for (const id of [keep.entry.id, gone.entry.id, dir.id, ROOT_ID])
          await store.patchDavProps(at.domainId, id, [{ op: 'set', ns: NS, name: 'p', value: String(id) }]);
        await store.removeFile(gone.entry.id);
        await store.rmdir(dir.id);
        const now = Date.now();
        await store.createDavLock({ token: `urn:uuid:${uniq('old')}`, domainId: at.domainId, path: '/old', depth: '0', scope: 'exclusive', owner: null, principal: 'u', timeoutMs: 1000 }, now - 5000);
        await store.createDavLock({ token: `urn:uuid:${uniq('new')}`, domainId: at.domainId, path: '/new', depth: '0', scope: 'exclusive', owner: null, principal: 'u', timeoutMs: HOUR }, now);
        const purged = await store.purgeDavState(now);
        assert.ok(purged.props >= 2 && purged.locks >= 1, JSON.stringify(purged));
        assert.deepEqual((await store.davProps(at.domainId, [keep.entry.id, gone.entry.id, dir.id, ROOT_ID])).map((p) => p.entryId).sort((x, y) => x - y), [ROOT_ID, keep.entry.id]);
        assert.equal((await store.davLocksAt(at.domainId, '/new', { descendants: false, now })).length, 1);
        assert.deepEqual(await store.purgeDavState(now), { props: 0, locks: 0 });
      });

      function lock(domainId: number, path: string, o: Partial<NewDavLock> = {}): NewDavLock {
        return { token: `opaquelocktoken:${uniq('t')}`, domainId, path, depth: '0', scope: 'exclusive', owner: '<D:href xmlns:D="DAV:">me</D:href>', principal: 'alice', timeoutMs: HOUR, ...o };
      }

      test('locks: create, find at the path and its ancestors (and below on request), get, refresh, remove', async () => {
        const { domainId } = await freshDomain();
        const now = Date.now();
        const root = await store.createDavLock(lock(domainId, '/', { scope: 'shared' }), now);
        const a = await store.createDavLock(lock(domainId, '/a', { scope: 'shared', depth: 'infinity' }), now);
        const ab = await store.createDavLock(lock(domainId, '/a/b', { scope: 'shared' }), now);
        const abc = await store.createDavLock(lock(domainId, '/a/b/c ü', { scope: 'shared' }), now);
        const sibling = await store.createDavLock(lock(domainId, '/ab'), now);
        const zero = await store.createDavLock(lock(domainId, '/a0'), now);
        assert.equal(ab.expiresAt, now + HOUR);
        assert.deepEqual(await store.getDavLock(ab.token, now), ab);
        const tokens = async (path: string, descendants: boolean) =>
          (await store.davLocksAt(domainId, path, { descendants, now })).map((l) => l.token).sort();
        assert.deepEqual(await tokens('/a/b', false), [root.token, a.token, ab.token].sort());
        assert.deepEqual(await tokens('/a/b', true), [root.token, a.token, ab.token, abc.token].sort());
        assert.deepEqual(await tokens('/a', true), [root.token, a.token, ab.token, abc.token].sort(), '/ab and /a0 are not below /a');
        assert.deepEqual(await tokens('/', true), [root.token, a.token, ab.token, abc.token, sibling.token, zero.token].sort());
        assert.deepEqual(await tokens('/unmapped/x', false), [root.token]);
        // Another domain sees none of them.
        const other = await freshDomain();
        assert.deepEqual(await store.davLocksAt(other.domainId, '/a/b', { descendants: true, now }), []);

        const later = now + 10_000;
        const refreshed = await store.refreshDavLock(ab.token, 2 * HOUR, later);
        assert.equal(refreshed.expiresAt, later + 2 * HOUR);
        assert.equal(refreshed.timeoutMs, 2 * HOUR);
        assert.equal((await store.getDavLock(ab.token, later))?.expiresAt, later + 2 * HOUR);
        assert.equal(await store.removeDavLock(ab.token), true);
        assert.equal(await store.removeDavLock(ab.token), false);
        assert.equal(await store.getDavLock(ab.token, now), null);
        await expectCode(store.refreshDavLock(ab.token, HOUR, now), ErrorCodes.NOT_FOUND);

        assert.equal(await store.removeDavLocksUnder(domainId, '/a'), 2, 'the lock on /a and the one on /a/b/c');
        assert.deepEqual(await tokens('/', true), [root.token, sibling.token, zero.token].sort());
        assert.equal(await store.removeDavLocksUnder(domainId, '/'), 3);
      });

      test('locks: exclusive and shared conflicts follow depth; expired locks are ignored', async () => {
        const { domainId } = await freshDomain();
        const now = Date.now();
        const take = (path: string, o: Partial<NewDavLock> = {}, at = now) => store.createDavLock(lock(domainId, path, o), at);
        await take('/x');
        await expectCode(take('/x'), ErrorCodes.LOCKED);
        await expectCode(take('/x', { scope: 'shared' }), ErrorCodes.LOCKED);
        await take('/x/child'); // a depth-0 lock on /x does not cover its members
        await expectCode(take('/', { depth: 'infinity' }), ErrorCodes.LOCKED); // /x is below
        await take('/', { depth: '0' });

        await take('/s', { scope: 'shared', depth: 'infinity' });
        await take('/s', { scope: 'shared' });
        await take('/s/in', { scope: 'shared' });
        await expectCode(take('/s/in/deep'), ErrorCodes.LOCKED); // covered by the depth-infinity shared lock
        await expectCode(take('/s', { scope: 'exclusive' }), ErrorCodes.LOCKED);

        // An expired lock neither conflicts nor shows.
        const old = await take('/e', { timeoutMs: 1000 }, now - 10_000);
        await take('/e');
        assert.equal(await store.getDavLock(old.token, now), null);
        // Tokens are unique.
        const t = await take('/u1');
        await expectCode(take('/u2', { token: t.token }), ErrorCodes.EXISTS);
        // Validation.
        await expectCode(take('relative'), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(take('/trailing/'), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(take('/d', { depth: '1' as '0' }), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(take('/d', { timeoutMs: 0 }), ErrorCodes.INVALID_ARGUMENT);
        await expectCode(store.createDavLock(lock(999_999, '/z'), now), ErrorCodes.NOT_FOUND);
      });

      test('locks: of many concurrent exclusive requests for one path, exactly one wins', async () => {
        const { domainId } = await freshDomain();
        const now = Date.now();
        const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.createDavLock(lock(domainId, i % 2 ? '/race' : '/race/in', { depth: i % 2 ? 'infinity' : '0' }), now)));
        const won = results.filter((r) => r.status === 'fulfilled');
        assert.equal(won.length, 1, JSON.stringify(results.map((r) => r.status)));
        for (const r of results) if (r.status === 'rejected') assert.ok(isMogError(r.reason, ErrorCodes.LOCKED), String(r.reason));
        assert.equal((await store.davLocksAt(domainId, '/race', { descendants: true, now })).length, 1);
      });
    });

    // --- repair ---------------------------------------------------------------------------

    describe('repair', () => {
      test('an item enqueued while leased survives its completion and comes back due', async () => {
        await takeAll('replicate');
        const now = 70_000_000;
        await store.enqueue('replicate', 7001, { now });
        const [held] = await store.claim('replicate', 'worker', { limit: 1, leaseMs: 60_000, now });
        assert.equal(held?.fid, 7001);
        // Someone asks again while the worker is busy with its older look at the fid.
        await store.enqueue('replicate', 7001, { now: now + 10, devids: [4] });
        assert.deepEqual(await store.claim('replicate', 'other', { limit: 1, leaseMs: 60_000, now: now + 20 }), [], 'still leased');
        assert.equal(await store.complete('replicate', 7001, 'worker'), true);
        assert.equal(await store.queueDepth('replicate'), 1, 'the new request was kept');
        const [again] = await store.claim('replicate', 'other', { limit: 1, leaseMs: 60_000, now: now + 30 });
        assert.deepEqual([again?.fid, again?.failcount, again?.devids, again?.leaseOwner], [7001, 0, [4], 'other']);
        // Claimed afresh, it completes (and goes) normally.
        assert.equal(await store.complete('replicate', 7001, 'other'), true);
        assert.equal(await store.queueDepth('replicate'), 0);
        // A retry of a requeued item keeps it too (as retries always do), and the flag is spent.
        await store.enqueue('replicate', 7002, { now });
        await store.claim('replicate', 'w', { limit: 1, leaseMs: 60_000, now });
        await store.enqueue('replicate', 7002, { now });
        assert.equal(await store.retry('replicate', 7002, 'w', { delayMs: 5, now }), true);
        const [r] = await store.claim('replicate', 'w', { limit: 1, leaseMs: 60_000, now: now + 5 });
        assert.equal(r?.failcount, 1);
        assert.equal(await store.complete('replicate', 7002, 'w'), true);
        assert.equal(await store.queueDepth('replicate'), 0);
      });

      test('enqueueMany queues each fid once, merging into items already there', async () => {
        await takeAll('fsck');
        const now = 71_000_000;
        await store.enqueue('fsck', 7103, { now, delayMs: 50_000, devids: [9] });
        await store.enqueueMany('fsck', [7101, 7102, 7103, 7102], { now });
        assert.equal(await store.queueDepth('fsck'), 3);
        const got = await store.claim('fsck', 'w', { limit: 10, leaseMs: 1000, now });
        assert.deepEqual(got.map((i) => [i.fid, i.nextTry, i.devids]), [[7101, now, []], [7102, now, []], [7103, now, [9]]]);
        await store.enqueueMany('fsck', []);
        await expectCode(store.enqueueMany('fsck', Array.from({ length: 1001 }, (_, i) => i + 1)), ErrorCodes.INVALID_ARGUMENT);
        await takeAll('fsck');
      });

      test('fsck log: append, list in order (by fid, after an id), count by code, clear', async () => {
        await store.clearFsckEvents();
        assert.equal(await store.lastFsckEventId(), 0);
        await store.addFsckEvents([
          { at: 1000, fid: 5, devid: 2, code: 'BSUM', detail: 'checksum differs' },
          { at: 1001, fid: 5, devid: null, code: 'REPL', detail: 'replication queued' },
          { at: 1002, fid: 6, devid: 3, code: 'MISS', detail: 'line one\nline two' },
        ]);
        const all = await store.listFsckEvents({ limit: 10 });
        assert.deepEqual(all.map((e) => [e.fid, e.devid, e.code, e.at]), [[5, 2, 'BSUM', 1000], [5, null, 'REPL', 1001], [6, 3, 'MISS', 1002]]);
        assert.equal(all[2]!.detail, 'line one line two', 'one line each');
        assert.ok(all[0]!.id < all[1]!.id && all[1]!.id < all[2]!.id);
        assert.equal(await store.lastFsckEventId(), all[2]!.id);
        assert.deepEqual((await store.listFsckEvents({ fid: 5, limit: 10 })).map((e) => e.code), ['BSUM', 'REPL']);
        assert.deepEqual((await store.listFsckEvents({ afterId: all[0]!.id, limit: 1 })).map((e) => e.code), ['REPL']);
        assert.deepEqual(await store.countFsckEvents(), { BSUM: 1, MISS: 1, REPL: 1 });
        assert.deepEqual(await store.countFsckEvents(all[1]!.id), { MISS: 1 });
        await expectCode(store.addFsckEvents([{ at: 1, fid: 1, devid: null, code: 'WHAT' as 'MISS', detail: '' }]), ErrorCodes.INVALID_ARGUMENT);
        assert.equal(await store.clearFsckEvents(), 3);
        assert.deepEqual(await store.listFsckEvents({ limit: 10 }), []);
        // Ids keep growing after a clear, so a run's "after" mark stays meaningful.
        await store.addFsckEvents([{ at: 1, fid: 1, devid: null, code: 'NOPA', detail: 'x' }]);
        assert.ok((await store.lastFsckEventId()) > all[2]!.id);
        await store.clearFsckEvents();
      });

      test('fixDevcount, fidsOfClass', async () => {
        const at = await freshDomain({ mindevcount: 2, writeQuorum: 1 });
        const other = await freshDomain({ mindevcount: 1 });
        const d1 = await newDevice();
        const a = await upload(at, ROOT_ID, 'a', { devids: [d1] });
        const b = await upload(at, ROOT_ID, 'b', { devids: [d1] });
        await upload(other, ROOT_ID, 'c', { devids: [d1] });
        const fa = a.entry.fid!;
        const fb = b.entry.fid!;
        assert.deepEqual(await store.fidsOfClass(at.classId, 0, 10), [fa, fb]);
        assert.deepEqual(await store.fidsOfClass(at.classId, fa, 10), [fb]);
        assert.deepEqual(await store.fidsOfClass(at.classId, 0, 1), [fa]);
        assert.deepEqual(await store.fixDevcount(fa), { before: 1, after: 1 });
        assert.equal(await store.fixDevcount(999_999_999), null);
        await store.removeFile(b.entry.id);
        assert.deepEqual(await store.fidsOfClass(at.classId, 0, 10), [fa], 'deleted fids are not listed');
      });

      test('removeReplicaIfCovered keeps the floor, counts only alive/readonly devices of alive hosts', async () => {
        const at = await freshDomain({ mindevcount: 2, writeQuorum: 1 });
        const [d1, d2, d3] = [await newDevice(), await newDevice(), await newDevice()];
        const { entry } = await upload(at, ROOT_ID, 'f', { devids: [d1, d2, d3] });
        const fid = entry.fid!;
        assert.equal(await store.removeReplicaIfCovered(fid, d3, 3), false, 'only two others');
        assert.deepEqual(await store.replicasOf(fid), [d1, d2, d3]);
        await store.updateDevice(d2, { status: 'drain' });
        assert.equal(await store.removeReplicaIfCovered(fid, d3, 2), false, 'a draining copy does not count');
        await store.updateDevice(d2, { status: 'readonly' });
        assert.equal(await store.removeReplicaIfCovered(fid, d3, 2), true);
        assert.deepEqual(await store.replicasOf(fid), [d1, d2]);
        assert.equal((await store.getFile(fid))!.devcount, 2);
        assert.equal(await store.removeReplicaIfCovered(fid, d3, 2), true, 'already gone');
        // Two guarded removals of different copies at once: one wins, one copy is left.
        const results = await Promise.all([store.removeReplicaIfCovered(fid, d1, 1), store.removeReplicaIfCovered(fid, d2, 1)]);
        assert.deepEqual(results.filter(Boolean).length, 1, JSON.stringify(results));
        assert.equal((await store.replicasOf(fid)).length, 1);
        assert.equal((await store.getFile(fid))!.devcount, 1);
        await store.removeFile(entry.id);
        assert.equal(await store.removeReplicaIfCovered(fid, (await store.replicasOf(fid))[0]!, 0), false, 'file gone');
      });

      test('compareAndSetSetting', async () => {
        const key = uniq('cas.');
        assert.equal(await store.compareAndSetSetting(key, 'x', 'y'), false, 'absent is not "x"');
        assert.equal(await store.compareAndSetSetting(key, null, 'one'), true);
        assert.equal(await store.compareAndSetSetting(key, null, 'two'), false, 'present now');
        assert.equal(await store.compareAndSetSetting(key, 'one', 'two'), true);
        assert.equal(await store.getSetting(key), 'two');
        const race = await Promise.all([1, 2, 3, 4].map((n) => store.compareAndSetSetting(key, 'two', `w${n}`)));
        assert.equal(race.filter(Boolean).length, 1);
      });

      test('fileStats and deviceUsage', async () => {
        // Statistics are global: measure the change this test makes.
        const before = await store.fileStats();
        const usageBefore = new Map((await store.deviceUsage()).map((u) => [u.devid, u]));
        const at = await freshDomain({ mindevcount: 2, writeQuorum: 1 });
        const [d1, d2] = [await newDevice(), await newDevice()];
        await upload(at, ROOT_ID, 'one', { devids: [d1, d2], length: 100 });
        await upload(at, ROOT_ID, 'two', { devids: [d1], length: 40 });
        const gone = await upload(at, ROOT_ID, 'three', { devids: [d2], length: 7 });
        await store.removeFile(gone.entry.id);
        const after = await store.fileStats();
        assert.deepEqual(
          { files: after.files - before.files, bytes: after.bytes - before.bytes, under: after.underReplicated - before.underReplicated },
          { files: 2, bytes: 140, under: 1 },
        );
        const usage = new Map((await store.deviceUsage()).map((u) => [u.devid, u]));
        assert.equal(usageBefore.has(d1), false);
        assert.deepEqual(usage.get(d1), { devid: d1, replicas: 2, bytes: 140 });
        assert.deepEqual(usage.get(d2), { devid: d2, replicas: 1, bytes: 100 }, 'a deleted file no longer counts');
        // A dead device's copy no longer counts toward the class.
        await store.updateDevice(d2, { status: 'dead' });
        assert.equal((await store.fileStats()).underReplicated - before.underReplicated, 2);
      });
    });
  });
}
