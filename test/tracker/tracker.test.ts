// The Tracker's short-lived caches: a class read for every upload is read once per window, and
// an operator's change is seen once the window has passed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isMogError } from '../../src/errors.ts';
import { openStore } from '../../src/tracker/open.ts';
import { Tracker } from '../../src/tracker/tracker.ts';
import type { Store } from '../../src/tracker/types.ts';
import { createSqliteTestDb, type TestDb } from '../harness/db.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The store, with a count of the calls made to each method. */
function counting(store: Store): { store: Store; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

describe('Tracker caches', () => {
  let db: TestDb;
  let store: Store;
  before(async () => {
    db = await createSqliteTestDb();
    store = await openStore(db.url);
    await store.migrate();
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  test('defaultClass is read once per cache window; a change is seen after it', async () => {
    const domain = await store.createDomain('cached');
    const { store: counted, calls } = counting(store);
    const tracker = new Tracker(counted, { deviceCacheMs: 150 });
    assert.equal((await tracker.defaultClass(domain.id)).mindevcount, 2);
    await Promise.all([tracker.defaultClass(domain.id), tracker.defaultClass(domain.id)]);
    assert.equal(calls.get('getClass'), 1);
    const cls = (await store.getClass(domain.id, 'default'))!;
    await store.updateClass(cls.id, { mindevcount: 3, writeQuorum: 2 });
    assert.equal((await tracker.defaultClass(domain.id)).mindevcount, 2, 'still the cached class');
    await sleep(200);
    assert.equal((await tracker.defaultClass(domain.id)).mindevcount, 3, 'the change, once the window has passed');
    assert.equal(calls.get('getClass'), 2);
  });

  test('defaultClass is cached per domain; a domain without one is NOT_FOUND', async () => {
    const { store: counted, calls } = counting(store);
    const tracker = new Tracker(counted, { deviceCacheMs: 60_000 });
    await assert.rejects(tracker.defaultClass(999_999), (e) => isMogError(e, ErrorCodes.NOT_FOUND));
    const one = await store.createDomain('one');
    const two = await store.createDomain('two');
    const [c1, c2] = await Promise.all([tracker.defaultClass(one.id), tracker.defaultClass(two.id)]);
    assert.deepEqual([c1.domainId, c2.domainId], [one.id, two.id]);
    assert.equal((await tracker.defaultClass(one.id)).id, c1.id);
    assert.equal(calls.get('getClass'), 3);
  });
});
