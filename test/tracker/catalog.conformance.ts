// The catalog role of the Store (Catalog): domains and their classes, hosts, devices and the
// cluster-wide settings. Removing a domain, class, host or device is refused while something
// still uses it, so those tests store files and users too.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.ts';
import { ROOT_ID } from '../../src/tracker/types.ts';
import type { Catalog, Namespace, Replicas, Uploads, Users } from '../../src/tracker/types.ts';
import { byteOrder, catalogFixtures, expectCode, suiteStore, uniq, uploadFixtures, type OpenStore } from './suite-store.ts';

export function catalogSuite(name: string, open: OpenStore<Catalog & Namespace & Uploads & Replicas & Users>): void {
  describe(`Store catalog: ${name}`, () => {
    const store = suiteStore(open);
    const { freshDomain, newDevice } = catalogFixtures(store);
    const { upload } = uploadFixtures(store);

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

    // --- settings -------------------------------------------------------------------------

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
    });
  });
}
