// The namespace role of the Store (Namespace, without the directory classes of
// class-tree.conformance.ts): each domain's tree, names compared byte for byte, paths walked from
// the root, listings paged in byte order, atomic renames, and usage summed over a subtree.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.ts';
import { ROOT_ID } from '../../src/tracker/types.ts';
import type { Catalog, Namespace, Queues, Replicas, Uploads } from '../../src/tracker/types.ts';
import { byteOrder, catalogFixtures, expectCode, queueFixtures, suiteStore, uploadFixtures, type OpenStore } from './suite-store.ts';

export function namespaceSuite(name: string, open: OpenStore<Catalog & Namespace & Uploads & Replicas & Queues>): void {
  describe(`Store namespace: ${name}`, () => {
    const store = suiteStore(open);
    const { freshDomain, newDevice } = catalogFixtures(store);
    const { upload } = uploadFixtures(store);
    const { takeAll } = queueFixtures(store);

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
}
