// The login-attempt role of the Store (LoginAttempts, src/tracker/store/logins.ts): the login
// throttle's counts and bans per client address, shared by every front-end.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.ts';
import type { LoginAttempts, LoginPolicy } from '../../src/tracker/auth-types.ts';
import { expectCode, suiteStore, type OpenStore } from './suite-store.ts';

const POLICY: LoginPolicy = { limit: 3, windowMs: 60_000, banMs: 300_000 };

export function loginAttemptsSuite(name: string, open: OpenStore<LoginAttempts>): void {
  describe(`Store login attempts: ${name}`, () => {
    const store = suiteStore(open);
    let seq = 0;
    const addr = () => `192.0.2.${++seq}`;

    test('counts attempts up to the limit, then refuses and bans', async () => {
      const a = addr();
      const t = 1_000_000;
      for (let i = 1; i <= POLICY.limit; i++) {
        assert.deepEqual(await store.takeLoginAttempt(a, POLICY, t + i), { allowed: true, attempts: i, retryAfterMs: 0 });
      }
      const refused = await store.takeLoginAttempt(a, POLICY, t + 10);
      assert.equal(refused.allowed, false);
      assert.equal(refused.retryAfterMs, POLICY.banMs);
      assert.equal(await store.loginBannedFor(a, t + 10), POLICY.banMs);
      assert.equal((await store.takeLoginAttempt(a, POLICY, t + 20)).allowed, false);
      // The ban ends; a fresh window starts.
      const after = t + 10 + POLICY.banMs;
      assert.equal(await store.loginBannedFor(a, after), 0);
      assert.deepEqual(await store.takeLoginAttempt(a, POLICY, after), { allowed: true, attempts: 1, retryAfterMs: 0 });
    });

    test('a success gives its attempt back; a failure on the last try bans at once', async () => {
      const a = addr();
      const t = 2_000_000;
      await store.takeLoginAttempt(a, POLICY, t);
      assert.equal(await store.settleLoginAttempt(a, true, POLICY, t + 1), 0);
      for (let i = 0; i < POLICY.limit; i++) {
        assert.equal((await store.takeLoginAttempt(a, POLICY, t + 2)).allowed, true, `attempt ${i + 1}`);
      }
      assert.equal(await store.settleLoginAttempt(a, false, POLICY, t + 3), POLICY.banMs);
      assert.equal(await store.loginBannedFor(a, t + 4), POLICY.banMs - 1);
    });

    test('the window expires: old attempts stop counting', async () => {
      const a = addr();
      const t = 3_000_000;
      for (let i = 0; i < POLICY.limit; i++) await store.takeLoginAttempt(a, POLICY, t);
      const next = await store.takeLoginAttempt(a, POLICY, t + POLICY.windowMs);
      assert.deepEqual(next, { allowed: true, attempts: 1, retryAfterMs: 0 });
    });

    test('parallel attempts from one address get no more than the limit', async () => {
      const a = addr();
      const policy = { ...POLICY, limit: 10 };
      const results = await Promise.all(Array.from({ length: 40 }, () => store.takeLoginAttempt(a, policy, 4_000_000)));
      assert.equal(results.filter((r) => r.allowed).length, 10);
      // Another address is not affected.
      assert.equal((await store.takeLoginAttempt(addr(), policy, 4_000_000)).allowed, true);
    });

    test('prune forgets finished addresses; clear lifts a ban', async () => {
      const a = addr();
      const b = addr();
      await store.takeLoginAttempt(a, POLICY, 5_000_000);
      for (let i = 0; i <= POLICY.limit; i++) await store.takeLoginAttempt(b, POLICY, 5_000_000);
      assert.ok((await store.loginBannedFor(b, 5_000_001)) > 0);
      const pruned = await store.pruneLoginAttempts(5_000_001);
      assert.ok(pruned >= 1, `pruned ${pruned}`);
      assert.ok((await store.loginBannedFor(b, 5_000_001)) > 0, 'a running ban survives pruning');
      assert.equal(await store.clearLoginAttempts(b), true);
      assert.equal(await store.loginBannedFor(b, 5_000_001), 0);
      assert.equal(await store.clearLoginAttempts(b), false);
    });

    test('bad arguments are INVALID_ARGUMENT', async () => {
      await expectCode(store.takeLoginAttempt('', POLICY, 1), ErrorCodes.INVALID_ARGUMENT);
      await expectCode(store.takeLoginAttempt('x'.repeat(65), POLICY, 1), ErrorCodes.INVALID_ARGUMENT);
      await expectCode(store.takeLoginAttempt(addr(), { ...POLICY, limit: 0 }, 1), ErrorCodes.INVALID_ARGUMENT);
    });
  });
}
