// list_keys order (src/mogilefs/key-order.ts) on SQLite and MariaDB: the keys' bytes sorted, as
// MogileFS::Store's `ORDER BY dkey` gives them, with `after` exclusive, `prefix` and `limit`,
// over keys whose tree order differs from that order (`a/b` sorts after `a-c` and `a.d`, though
// the directory `a` is listed before them), escaped keys (which sort by their key, not by their
// escaped name) and directories of more than one page. Every answer is compared with the same
// keys sorted by Buffer.compare and filtered.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Keyspace } from '../../src/mogilefs/keyspace.ts';
import { escapedNames, keyOfNames, placeOfKey } from '../../src/mogilefs/keys.ts';
import { openStore } from '../../src/tracker/open.ts';
import type { ImportFile, Store } from '../../src/tracker/types.ts';
import { storeBackends, type TestDb } from '../harness/db.ts';

const b = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s));

/** Keys in the order they are stored: `a/b` before `a`, so `a` is escaped (its path is a directory). */
const KEYS: Buffer[] = [
  ...['a/b', 'a-c', 'a.d', 'a/a', 'a/b-', 'a!', 'a0', 'a-/x', 'a-/y', 'a- z', 'ab/c', 'a/b.x/y', 'a/b.x-', 'a.d.e/f'].map((s) => b(s)),
  ...['a', 'x//y', 'a//', 'pre', 'pre/fix', 'ü', 'z', 'zz/ü/k', '.mogilefs-keys/looks-escaped', 'a\u0001ctl'].map((s) => b(s)),
  b([0x61, 0xff]), // not UTF-8
  b([0x61, 0x2f, 0xfe]), // "a/" then a byte that is not UTF-8
  b('k'.repeat(250)), // a long escaped name: more than one 200-character component
  ...Array.from({ length: 300 }, (_, i) => b(`m/${String(i).padStart(3, '0')}`)), // more than one listDir page
  ...Array.from({ length: 300 }, (_, i) => b(`m.${i}`)), // sorts before every m/...
];
const SORTED = [...KEYS].sort(Buffer.compare);

function expected(prefix: Buffer, afterKey: Buffer | null, limit: number): string[] {
  return SORTED.filter((k) => k.subarray(0, prefix.length).equals(prefix) && (!afterKey || Buffer.compare(k, afterKey) > 0))
    .slice(0, limit)
    .map((k) => k.toString('hex'));
}

for (const backend of storeBackends) {
  describe(`list_keys order: keys sorted as bytes (${backend.name})`, () => {
    let db: TestDb;
    let store: Store;
    let keys: Keyspace;
    let domainId = 0;
    const list = async (prefix: Buffer, afterKey: Buffer | null, limit: number) => (await keys.list(domainId, prefix, afterKey, limit)).map((k) => k.toString('hex'));

    before(async () => {
      db = await backend.create();
      store = await openStore(db.url);
      await store.migrate();
      const { domain } = await store.importDomain('d');
      domainId = domain.id;
      const cls = (await store.getClass(domainId, 'default'))!;
      // The importer's way of placing keys: own path, else (taken) the escaped place.
      const files: ImportFile[] = KEYS.map((key, i) => ({
        fid: i + 1, domainId, classId: cls.id, length: 0, checksum: null, checksumAlg: cls.checksum, devids: [],
        names: placeOfKey(key).names, escapedNames: escapedNames(key), mtime: 1,
      }));
      await store.importFiles(files, (names) => escapedNames(keyOfNames(names)));
      keys = new Keyspace(store);
    });
    after(async () => {
      await store?.close();
      await db?.drop();
    });

    test('the tree is not in byte order, the listing is', async () => {
      assert.ok((await keys.find(domainId, b('a')))!.names[0] === '.mogilefs-keys', 'a is escaped');
      assert.deepEqual((await store.listDir(domainId, 0, { limit: 3 })).map((e) => e.name), ['.mogilefs-keys', 'a', 'a!']);
      const all = await list(Buffer.alloc(0), null, 1000);
      assert.equal(all.length, KEYS.length);
      assert.deepEqual(all, SORTED.map((k) => k.toString('hex')));
      // The brief's example: a-c, a.d, a/b in that order.
      const three = all.filter((h) => ['a/b', 'a-c', 'a.d'].some((k) => b(k).toString('hex') === h));
      assert.deepEqual(three.map((h) => Buffer.from(h, 'hex').toString()), ['a-c', 'a.d', 'a/b']);
    });

    test('paging with next_after lists every key once, in order, for every page size', async () => {
      for (const limit of [3, 256, 1000]) {
        const seen: string[] = [];
        let afterKey: Buffer | null = null;
        for (;;) {
          const page = await keys.list(domainId, Buffer.alloc(0), afterKey, limit);
          seen.push(...page.map((k) => k.toString('hex')));
          if (page.length < limit) break;
          afterKey = page[page.length - 1]!;
        }
        assert.deepEqual(seen, expected(Buffer.alloc(0), null, Infinity), `limit ${limit}`);
      }
    });

    test('prefix, after (exclusive, a key or not) and limit, as MogileFS answers them', async () => {
      const prefixes = ['', 'a', 'a/', 'a-', 'a.', 'a/b', 'a/b.', 'm', 'm/1', 'm.', 'pre', 'zz/', 'x/', '.mogilefs-keys/', 'nothing'].map((s) => b(s));
      prefixes.push(b([0x61, 0xff]), b([0x61, 0x2f]), b('kkk'));
      const afters: Array<Buffer | null> = [null, b(''), b('a'), b('a/'), b('a-'), b('a.'), b('a/b'), b('a0'), b('m.2'), b('m/150'), b('m/'), b('pre'), b([0x61, 0xfe]), b([0x61, 0x2f, 0xff]), b('zzz')];
      for (let i = 0; i < KEYS.length; i += 23) afters.push(KEYS[i]!);
      for (const prefix of prefixes) {
        for (const afterKey of afters) {
          for (const limit of [3, 1000]) {
            const want = expected(prefix, afterKey && afterKey.length ? afterKey : null, limit);
            assert.deepEqual(await list(prefix, afterKey, limit), want, `prefix ${prefix.toString('hex')} after ${afterKey?.toString('hex')} limit ${limit}`);
          }
        }
      }
    });
  });
}
