// The WebDAV role of the Store (DavState): dead properties (patched atomically, copied, purged
// with their entry) and locks (found at a path, its ancestors and below, conflicting by scope
// and depth, expiring).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isMogError } from '../../src/errors.ts';
import { ROOT_ID } from '../../src/tracker/types.ts';
import type { Catalog, DavState, Namespace, NewDavLock, Uploads } from '../../src/tracker/types.ts';
import { byteOrder, catalogFixtures, expectCode, suiteStore, uniq, uploadFixtures, type OpenStore } from './suite-store.ts';

export function davStateSuite(name: string, open: OpenStore<DavState & Namespace & Catalog & Uploads>): void {
  describe(`Store WebDAV state: ${name}`, () => {
    const store = suiteStore(open);
    const { freshDomain } = catalogFixtures(store);
    const { upload } = uploadFixtures(store);

    const NS = 'http://example.com/ns/';
    const HOUR = 3_600_000;

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
}
