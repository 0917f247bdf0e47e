// A repeated login with a password this process verified lately costs no scrypt and no counted
// try; a ban, a changed password or a removed user still stop it (real in-memory SQLite store).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LoginDenied } from '../../src/tracker/login-throttle.ts';
import { openStore } from '../../src/tracker/open.ts';
import { hashPassword } from '../../src/tracker/passwords.ts';
import { Tracker } from '../../src/tracker/tracker.ts';
import type { Store } from '../../src/tracker/types.ts';
import { VerifiedLogins } from '../../src/tracker/verified-logins.ts';

const policy = { limit: 3, windowMs: 60_000, banMs: 60_000 };

describe('verified logins', () => {
  let store: Store;
  let counted: Store;
  let takes = 0;
  before(async () => {
    store = await openStore('sqlite::memory:', { createDatabase: true });
    await store.migrate();
    const d = await store.createDomain('d');
    await store.createUser({ name: 'ann', passwordHash: await hashPassword('right'), domainId: d.id, homeDir: '/', readOnly: false, quotaBytes: null });
    // The same store, with the throttle's counted tries tallied.
    counted = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'takeLoginAttempt') takes++;
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  });
  after(() => store.close());

  test('the second login with the same password takes no counted try (no hash)', async () => {
    const tracker = new Tracker(counted);
    const from = { address: '192.0.2.10', door: 'ftp' as const, policy };
    takes = 0;
    assert.equal((await tracker.authenticate('ann', 'right', from)).name, 'ann');
    assert.equal(takes, 1);
    assert.equal((await tracker.authenticate('ann', 'right', from)).name, 'ann');
    assert.equal(takes, 1, 'proven: not counted, not hashed');
    await assert.rejects(tracker.authenticate('ann', 'wrong', from), (e) => e instanceof LoginDenied && e.reason === 'wrong-password');
    assert.equal(takes, 2, 'a wrong password takes the throttled path');
  });

  test('a banned address is refused even with a proven password', async () => {
    const tracker = new Tracker(counted);
    const from = { address: '192.0.2.11', door: 'dav' as const, policy };
    await tracker.authenticate('ann', 'right', from);
    for (let i = 0; i < policy.limit; i++) await assert.rejects(tracker.authenticate('ann', `guess${i}`, from));
    await assert.rejects(tracker.authenticate('ann', 'right', from), (e) => e instanceof LoginDenied && e.reason === 'banned');
  });

  test('a changed password or a removed user ends the shortcut at once', async () => {
    const tracker = new Tracker(counted);
    const from = { address: '192.0.2.12', door: 'ftp' as const, policy: { ...policy, limit: 100 } };
    await tracker.authenticate('ann', 'right', from);
    await store.updateUser('ann', { passwordHash: await hashPassword('new') });
    await assert.rejects(tracker.authenticate('ann', 'right', from), (e) => e instanceof LoginDenied && e.reason === 'wrong-password');
    assert.equal((await tracker.authenticate('ann', 'new', from)).name, 'ann');
    await store.removeUser('ann');
    await assert.rejects(tracker.authenticate('ann', 'new', from), (e) => e instanceof LoginDenied);
  });

  test('entries expire, and the oldest go first when full', () => {
    let now = 0;
    const v = new VerifiedLogins(1000, 2, () => now);
    v.remember('a', 'p', 'h1');
    v.remember('b', 'p', 'h2');
    assert.equal(v.recall('a', 'p'), 'h1');
    v.remember('c', 'p', 'h3'); // evicts b: a was used more recently? no: map order is insertion, a is oldest
    assert.equal(v.recall('a', 'p'), null);
    assert.equal(v.recall('b', 'p'), 'h2');
    assert.equal(v.recall('a', 'x'), null, 'another password never matches');
    now = 1000;
    assert.equal(v.recall('b', 'p'), null, 'expired');
  });
});
