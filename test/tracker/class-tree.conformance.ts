// The class-tree role of the Store (ClassTree, src/tracker/store/classes-tree.ts): a directory's
// class, what a new file inherits, and moving files to a class. The tests build on each other.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.ts';
import { nearestDirClass } from '../../src/tracker/tracker.ts';
import { ROOT_ID, type Catalog, type Domain, type Entry, type FileClass, type Namespace, type Queues, type Replicas, type StoreLifecycle, type Uploads } from '../../src/tracker/types.ts';
import { catalogFixtures, expectCode, suiteStore, uploadFixtures, type OpenStore } from './suite-store.ts';

export function classTreeSuite(name: string, open: OpenStore<Namespace & Catalog & Uploads & Replicas & Queues & StoreLifecycle>): void {
  describe(`Store class tree: ${name}`, () => {
    const store = suiteStore(open);
    const { newDevice } = catalogFixtures(store);
    const { upload } = uploadFixtures(store);
    let domain: Domain;
    let other: Domain;
    let dflt: FileClass;
    let archive: FileClass;
    let cold: FileClass;
    let foreign: FileClass;
    let devid: number;
    let a: Entry, b: Entry, c: Entry, outside: Entry;
    let seq = 0;

    const put = async (parentId: number, classId = dflt.id): Promise<{ fid: number; entry: Entry }> => {
      const { entry } = await upload({ domainId: domain.id, classId }, parentId, `f${++seq}`, { devids: [devid], length: 1, mtime: 1 });
      return { fid: entry.fid!, entry };
    };
    const classOf = async (fid: number) => (await store.getFile(fid))!.classId;

    before(async () => {
      domain = await store.createDomain('ct');
      other = await store.createDomain('ct-other');
      dflt = (await store.getClass(domain.id, 'default'))!;
      archive = await store.createClass(domain.id, 'archive', { mindevcount: 3 });
      cold = await store.createClass(domain.id, 'cold', { mindevcount: 1 });
      foreign = await store.createClass(other.id, 'archive', { mindevcount: 3 });
      devid = await newDevice();
      a = await store.mkdir(domain.id, ROOT_ID, 'a', { mtime: 1 });
      b = await store.mkdir(domain.id, a.id, 'b', { mtime: 1 });
      c = await store.mkdir(domain.id, b.id, 'c', { mtime: 1 });
      outside = await store.mkdir(domain.id, ROOT_ID, 'outside', { mtime: 1 });
    });

    test('schema 7 is in place; a new directory inherits', async () => {
      assert.ok((await store.schemaVersion()) >= 7);
      assert.equal((await store.getEntry(c.id))!.classId ?? null, null);
      assert.deepEqual(await store.inheritedClass(domain.id, c.id), { classId: null, fromEntryId: null });
      assert.deepEqual(await store.inheritedClass(domain.id, ROOT_ID), { classId: null, fromEntryId: null });
    });

    test('a class set on a directory is inherited below it; the nearest one wins; clearing restores', async () => {
      const set = await store.setDirClass(a.id, archive.id);
      assert.equal(set.classId, archive.id);
      assert.deepEqual(await store.inheritedClass(domain.id, c.id), { classId: archive.id, fromEntryId: a.id });
      // The path walk uploads do carries the classes: the same answer without another query.
      const chain = await store.walkPath(domain.id, ['a', 'b', 'c']);
      assert.deepEqual(chain.map((e) => e.classId ?? null), [archive.id, null, null]);
      assert.deepEqual(nearestDirClass(chain), { classId: archive.id, fromEntryId: a.id });
      await store.setDirClass(b.id, cold.id);
      assert.deepEqual(await store.inheritedClass(domain.id, c.id), { classId: cold.id, fromEntryId: b.id });
      assert.deepEqual(nearestDirClass(await store.walkPath(domain.id, ['a', 'b', 'c'])), { classId: cold.id, fromEntryId: b.id });
      assert.deepEqual(
        (await store.listDirClasses(domain.id)).map((d) => [d.path, d.className, d.entryId]),
        [['/a', 'archive', a.id], ['/a/b', 'cold', b.id]],
      );
      assert.deepEqual(await store.listDirClasses(other.id), []);
      assert.equal((await store.listDirClasses()).length, 2);
      await store.setDirClass(b.id, null);
      assert.deepEqual(await store.inheritedClass(domain.id, c.id), { classId: archive.id, fromEntryId: a.id });
      assert.deepEqual((await store.listDirClasses(domain.id)).map((d) => d.path), ['/a']);
    });

    test('refused: a file, an unknown entry, a class of another domain; a class set on a directory cannot be removed', async () => {
      const { entry } = await put(outside.id);
      await expectCode(store.setDirClass(entry.id, archive.id), ErrorCodes.NOT_A_DIRECTORY);
      await expectCode(store.setDirClass(9_999_999, archive.id), ErrorCodes.NOT_FOUND);
      await expectCode(store.setDirClass(c.id, foreign.id), ErrorCodes.NOT_FOUND);
      await expectCode(store.setDirClass(c.id, 9_999_999), ErrorCodes.NOT_FOUND);
      assert.equal((await store.getEntry(c.id))!.classId ?? null, null, 'nothing changed');
      await expectCode(store.setDirClass(c.id, 0), ErrorCodes.INVALID_ARGUMENT);
      await expectCode(store.removeClass(archive.id), ErrorCodes.IN_USE, /set on directories/);
      await expectCode(store.inheritedClass(domain.id, 9_999_999), ErrorCodes.NOT_FOUND);
    });

    test('a file moves to another class and is queued for replication; a rename keeps its class', async () => {
      const { fid, entry } = await put(outside.id);
      await store.claim('replicate', 'drain', { limit: 1000, leaseMs: 60_000, now: Date.now() + 1000 }).then((items) =>
        Promise.all(items.map((i) => store.complete('replicate', i.fid, 'drain'))),
      );
      assert.equal(await store.setFileClass(fid, archive.id), true);
      assert.equal(await classOf(fid), archive.id);
      const queued = await store.claim('replicate', 'me', { limit: 1000, leaseMs: 60_000, now: Date.now() + 1000 });
      assert.deepEqual(queued.map((q) => q.fid), [fid]);
      for (const q of queued) await store.complete('replicate', q.fid, 'me');
      assert.equal(await store.setFileClass(fid, archive.id), false, 'already in the class: nothing to do');
      assert.equal(await store.queueDepth('replicate'), 0, 'and nothing queued');
      await expectCode(store.setFileClass(fid, foreign.id), ErrorCodes.NOT_FOUND);
      await expectCode(store.setFileClass(9_999_999, archive.id), ErrorCodes.NOT_FOUND);
      await store.rename(entry.id, c.id, 'moved');
      assert.equal(await classOf(fid), archive.id, 'moving into a directory of another class keeps the file\'s class');
    });

    test('a tree is moved a page at a time; files outside it and of other domains stay', async () => {
      const inA = [(await put(a.id)).fid, (await put(b.id)).fid, (await put(c.id)).fid, (await put(c.id)).fid, (await put(b.id, cold.id)).fid];
      const out = (await put(outside.id)).fid;
      let after = 0;
      let changed = 0;
      const seen: number[] = [];
      for (;;) {
        const page = await store.setClassUnder(domain.id, a.id, cold.id, after, 2);
        seen.push(...page.fids);
        changed += page.changed;
        if (page.fids.length < 2) break;
        after = page.fids[page.fids.length - 1]!;
      }
      for (const fid of inA) assert.equal(await classOf(fid), cold.id, `fid ${fid}`);
      assert.ok(inA.every((f) => seen.includes(f)), 'every file below /a was looked at');
      assert.deepEqual([...seen].sort((x, y) => x - y), seen, 'in fid order');
      // The file moved by the previous test into /a/b/c counts too; the one already cold does not change.
      assert.equal(changed, seen.length - 1);
      assert.notEqual(await classOf(out), cold.id, 'a file outside the tree keeps its class');
      // The root: every file of the domain.
      const all = await store.setClassUnder(domain.id, ROOT_ID, dflt.id, 0, 1000);
      assert.ok(all.fids.includes(out));
      for (const fid of [...inA, out]) assert.equal(await classOf(fid), dflt.id);
      await expectCode(store.setClassUnder(domain.id, a.id, foreign.id, 0, 10), ErrorCodes.NOT_FOUND);
      await expectCode(store.setClassUnder(other.id, a.id, foreign.id, 0, 10), ErrorCodes.NOT_FOUND, /directory/);
    });
  });
}
