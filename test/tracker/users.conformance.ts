// The user role of the Store (Users, without the login throttle of
// login-attempts.conformance.ts): accounts, their home directory, quota and read-only flag.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.ts';
import type { Catalog, Users } from '../../src/tracker/types.ts';
import { byteOrder, catalogFixtures, expectCode, suiteStore, uniq, type OpenStore } from './suite-store.ts';

export function usersSuite(name: string, open: OpenStore<Users & Catalog>): void {
  describe(`Store users: ${name}`, () => {
    const store = suiteStore(open);
    const { freshDomain } = catalogFixtures(store);

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
}
