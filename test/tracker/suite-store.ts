// The store a role suite runs on: a fresh database of one backend, migrated before the suite's
// first test and closed and dropped after its last. Call it inside a describe. It returns a
// stand-in that forwards to the store once `before` has opened it, so suites write `store.x()`
// as if they held the store itself.
import { after, before } from 'node:test';
import { openStore } from '../../src/tracker/open.ts';
import type { Store } from '../../src/tracker/types.ts';
import type { TestDb } from '../harness/db.ts';
import type { StoreBackend } from './store.conformance.ts';

export function suiteStore(backend: StoreBackend): Store {
  let db: TestDb | undefined;
  let store: Store | undefined;
  before(async () => {
    db = await backend.create();
    store = await openStore(db.url);
    await store.migrate();
  });
  after(async () => {
    await store?.close();
    await db?.drop();
  });
  return new Proxy({} as Store, {
    get(_target, prop) {
      if (!store) throw new Error(`the ${backend.name} store is used before the suite's before() opened it`);
      const v = Reflect.get(store, prop, store) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(store) : v;
    },
  });
}
