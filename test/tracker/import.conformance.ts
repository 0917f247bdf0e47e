// The import role of the Store (Import, src/tracker/store/import.ts): a MogileFS cluster's rows
// written with their own ids, idempotently (issue 20). Each suite has a database of its own, so
// host and device ids are chosen freely here.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.ts';
import type { Catalog, Import, ImportFile, Namespace, Queues, Replicas } from '../../src/tracker/types.ts';
import { expectCode, suiteStore, uniq, type OpenStore } from './suite-store.ts';

/** The escaped place the tests use: a stand-in for keys.ts, which the store does not know. */
const escapeFor = (names: string[]) => ['.esc', `${names.join('|')}.k`];

export function importSuite(name: string, open: OpenStore<Import & Catalog & Namespace & Replicas & Queues>): void {
  describe(`Store import: ${name}`, () => {
    const store = suiteStore(open);
    let nextFid = 1000;

    const cluster = async () => {
      assert.equal(await store.importHost({ id: 7, name: 'st7', address: '127.0.0.7', httpPort: 7500, status: 'alive' }), 'created');
      assert.equal(await store.importDevice({ id: 31, hostId: 7, status: 'alive', weight: 100, mbTotal: 10, mbUsed: 1 }), 'created');
      assert.equal(await store.importDevice({ id: 32, hostId: 7, status: 'readonly', weight: 50, mbTotal: null, mbUsed: null }), 'created');
      const { domain } = await store.importDomain(uniq('dom'));
      const { cls } = await store.importClass(domain.id, 'two', { mindevcount: 2, checksum: 'md5' });
      return { domain, cls };
    };
    let shape: Awaited<ReturnType<typeof cluster>> | null = null;
    const ready = async () => (shape ??= await cluster());
    const file = async (names: string[], devids = [31, 32]): Promise<ImportFile> => {
      const { domain, cls } = await ready();
      return { fid: ++nextFid, domainId: domain.id, classId: cls.id, length: 5, checksum: null, checksumAlg: 'md5', devids, names, escapedNames: escapeFor(names), mtime: 1000 };
    };

    test('hosts and devices keep their ids; a second import is "same"; a changed state is "updated"', async () => {
      await ready();
      assert.equal(await store.importHost({ id: 7, name: 'st7', address: '127.0.0.7', httpPort: 7500, status: 'alive' }), 'same');
      assert.equal(await store.importDevice({ id: 31, hostId: 7, status: 'alive', weight: 100, mbTotal: 10, mbUsed: 1 }), 'same');
      assert.equal(await store.importDevice({ id: 31, hostId: 7, status: 'drain', weight: 100, mbTotal: 10, mbUsed: 1 }), 'updated');
      assert.equal((await store.getDevice(31))?.status, 'drain');
      assert.equal((await store.getDevice(32))?.hostId, 7);
      await store.importDevice({ id: 31, hostId: 7, status: 'alive', weight: 100, mbTotal: 10, mbUsed: 1 });
      // The devid counter is past the imported devids: a new device never takes one.
      const h = await store.createHost({ name: uniq('h'), address: '127.0.0.9', httpPort: 7500 });
      assert.ok((await store.createDevice({ hostId: h.id })).id > 32);
    });

    test('a host name held by another id, a device on another host: EXISTS', async () => {
      await ready();
      await expectCode(store.importHost({ id: 8, name: 'st7', address: '127.0.0.8', httpPort: 7500, status: 'alive' }), ErrorCodes.EXISTS);
      await store.importHost({ id: 9, name: 'st9', address: '127.0.0.9', httpPort: 7500, status: 'alive' });
      await expectCode(store.importDevice({ id: 31, hostId: 9, status: 'alive', weight: 100, mbTotal: null, mbUsed: null }), ErrorCodes.EXISTS);
    });

    test('files keep their fids and copies; replication and fsck are queued; a re-import is "present"', async () => {
      const f = await file(['p', 'q', 'r.bin'], [31]);
      const [o] = await store.importFiles([f], escapeFor);
      assert.deepEqual(o, { fid: f.fid, state: 'imported', names: ['p', 'q', 'r.bin'], escapedBecause: null, moved: [] });
      assert.deepEqual(await store.replicasOf(f.fid), [31]);
      assert.equal((await store.getFile(f.fid))?.devcount, 1);
      const [entry] = (await store.walkPath(f.domainId, ['p', 'q', 'r.bin'])).slice(-1);
      assert.equal(entry?.fid, f.fid);
      const due = async (q: 'replicate' | 'fsck') => (await store.claim(q, 'test', { limit: 100, leaseMs: 1000, now: 2 ** 50 })).map((i) => i.fid);
      assert.ok((await due('replicate')).includes(f.fid));
      assert.ok((await due('fsck')).includes(f.fid));
      const [again] = await store.importFiles([f], escapeFor);
      assert.equal(again?.state, 'present');
      assert.deepEqual(await store.presentFids([f.fid, 999_999]), [f.fid]);
    });

    test('a key that is also a prefix of another goes to its escaped place, in either order', async () => {
      const a = await file(['k1']);
      const ab = await file(['k1', 'b']);
      await store.importFiles([a], escapeFor);
      const [o] = await store.importFiles([ab], escapeFor);
      assert.deepEqual(o?.moved, [{ fid: a.fid, from: ['k1'], to: escapeFor(['k1']) }]);
      assert.equal((await store.walkPath(a.domainId, escapeFor(['k1']))).at(-1)?.fid, a.fid);
      assert.equal((await store.walkPath(a.domainId, ['k1', 'b'])).at(-1)?.fid, ab.fid);

      const c = await file(['k2']);
      const cd = await file(['k2', 'd']);
      const [, oc] = await store.importFiles([cd, c], escapeFor);
      assert.deepEqual(oc?.names, escapeFor(['k2']));
      assert.match(oc!.escapedBecause!, /directory/);
    });

    test('raiseFidFloor only raises; recordChecksum fills a missing checksum once', async () => {
      const floor = await store.raiseFidFloor(50_000);
      assert.ok(floor >= 50_000);
      assert.equal(await store.raiseFidFloor(10), floor);
      const f = await file([uniq('sum')]);
      await store.importFiles([f], escapeFor);
      assert.equal(await store.recordChecksum(f.fid, 'md5', 'a'.repeat(32)), true);
      assert.equal(await store.recordChecksum(f.fid, 'md5', 'b'.repeat(32)), false);
      assert.equal((await store.getFile(f.fid))?.checksum, 'a'.repeat(32));
      await expectCode(store.recordChecksum(f.fid, 'md5', 'XYZ'), ErrorCodes.INVALID_ARGUMENT);
    });
  });
}
