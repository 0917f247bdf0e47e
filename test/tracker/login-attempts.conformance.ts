// The login-attempt role of the Store (LoginAttempts, src/tracker/store/logins.ts): the login
// throttle's counts and bans per client address, shared by every front-end.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.ts';
import type { LoginAttempts, LoginPolicy } from '../../src/tracker/auth-types.ts';
import type { StoreLifecycle } from '../../src/tracker/types.ts';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/tracker/store/migrations.ts';
import type { SqlStore } from '../../src/tracker/store/sql-store.ts';
import { expectCode, suiteStore, type OpenStore } from './suite-store.ts';

const POLICY: LoginPolicy = { limit: 3, windowMs: 60_000, banMs: 300_000 };

export function loginAttemptsSuite(name: string, open: OpenStore<LoginAttempts & StoreLifecycle>): void {
  describe(`Store login attempts: ${name}`, () => {
    const store = suiteStore(open);
    let seq = 0;
    const addr = () => `192.0.2.${++seq}`;

    test('takes up to the limit; one more while they are in flight is busy, not banned', async () => {
      const a = addr();
      const t = 1_000_000;
      for (let i = 1; i <= POLICY.limit; i++) {
        assert.deepEqual(await store.takeLoginAttempt(a, POLICY, t + i), { allowed: true, attempts: i, retryAfterMs: 0 });
      }
      const refused = await store.takeLoginAttempt(a, POLICY, t + 10);
      assert.equal(refused.allowed, false);
      assert.equal(refused.refused, 'busy');
      assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs < POLICY.banMs, `busy hint ${refused.retryAfterMs} ms`);
      assert.equal(await store.loginBannedFor(a, t + 10), 0, 'no wrong password, no ban');
      // One check ends well: its slot is free again.
      assert.equal(await store.settleLoginAttempt(a, true, POLICY, t + 11), 0);
      assert.deepEqual(await store.takeLoginAttempt(a, POLICY, t + 12), { allowed: true, attempts: POLICY.limit, retryAfterMs: 0 });
    });

    test('limit + 5 concurrent logins with no wrong password: the burst is capped, nobody is banned', async () => {
      const a = addr();
      const t = 1_500_000;
      const policy = { ...POLICY, limit: 10 };
      const taken = await Promise.all(Array.from({ length: policy.limit + 5 }, () => store.takeLoginAttempt(a, policy, t)));
      assert.equal(taken.filter((r) => r.allowed).length, policy.limit);
      assert.deepEqual(
        taken.filter((r) => !r.allowed).map((r) => r.refused),
        Array.from({ length: 5 }, () => 'busy'),
      );
      const settled = await Promise.all(taken.filter((r) => r.allowed).map(() => store.settleLoginAttempt(a, true, policy, t + 1)));
      assert.deepEqual(settled, Array.from({ length: policy.limit }, () => 0));
      assert.equal(await store.loginBannedFor(a, t + 1), 0);
      // The five refused come back: all get in, in the same window.
      const again = await Promise.all(Array.from({ length: 5 }, () => store.takeLoginAttempt(a, policy, t + 2)));
      assert.deepEqual(
        again.map((r) => r.allowed),
        [true, true, true, true, true],
      );
    });

    test('the limit-th wrong password of a window bans; the ban ends with a fresh window', async () => {
      const a = addr();
      const t = 2_000_000;
      for (let i = 1; i < POLICY.limit; i++) {
        assert.equal((await store.takeLoginAttempt(a, POLICY, t + i)).allowed, true);
        assert.equal(await store.settleLoginAttempt(a, false, POLICY, t + i), 0, `failure ${i} does not ban yet`);
      }
      assert.deepEqual(await store.takeLoginAttempt(a, POLICY, t + 10), { allowed: true, attempts: POLICY.limit, retryAfterMs: 0 });
      assert.equal(await store.settleLoginAttempt(a, false, POLICY, t + 10), POLICY.banMs);
      assert.equal(await store.loginBannedFor(a, t + 11), POLICY.banMs - 1);
      const refused = await store.takeLoginAttempt(a, POLICY, t + 20);
      assert.equal(refused.allowed, false);
      assert.equal(refused.refused, 'banned');
      assert.equal(refused.retryAfterMs, POLICY.banMs - 10);
      const over = t + 10 + POLICY.banMs;
      assert.equal(await store.loginBannedFor(a, over), 0);
      assert.deepEqual(await store.takeLoginAttempt(a, POLICY, over), { allowed: true, attempts: 1, retryAfterMs: 0 });
    });

    test('failures ban with checks still in flight; a success among them counts for nothing', async () => {
      const a = addr();
      const t = 2_500_000;
      for (let i = 0; i < POLICY.limit; i++) assert.equal((await store.takeLoginAttempt(a, POLICY, t)).allowed, true);
      assert.equal(await store.settleLoginAttempt(a, true, POLICY, t + 1), 0);
      for (let i = 1; i < POLICY.limit; i++) assert.equal(await store.settleLoginAttempt(a, false, POLICY, t + 1), 0, `failure ${i}`);
      assert.equal((await store.takeLoginAttempt(a, POLICY, t + 2)).allowed, true);
      assert.equal(await store.settleLoginAttempt(a, false, POLICY, t + 3), POLICY.banMs, 'the limit-th failure bans');
    });

    test('pending checks never settled (a process died) are cleared when the window ends', async () => {
      const a = addr();
      const t = 3_000_000;
      for (let i = 0; i < POLICY.limit; i++) await store.takeLoginAttempt(a, POLICY, t);
      assert.equal((await store.takeLoginAttempt(a, POLICY, t + POLICY.windowMs - 1)).refused, 'busy');
      const next = await store.takeLoginAttempt(a, POLICY, t + POLICY.windowMs);
      assert.deepEqual(next, { allowed: true, attempts: 1, retryAfterMs: 0 });
    });

    test('failures stop counting when the window ends', async () => {
      const a = addr();
      const t = 3_500_000;
      for (const start of [t, t + POLICY.windowMs]) {
        for (let i = 1; i < POLICY.limit; i++) {
          await store.takeLoginAttempt(a, POLICY, start);
          assert.equal(await store.settleLoginAttempt(a, false, POLICY, start), 0);
        }
      }
      assert.equal(await store.loginBannedFor(a, t + POLICY.windowMs), 0);
    });

    test('a window starts with the first check counted after a quiet spell: slow failures still ban', async () => {
      const a = addr();
      const t = 3_800_000;
      await store.takeLoginAttempt(a, POLICY, t);
      assert.equal(await store.settleLoginAttempt(a, true, POLICY, t + 1), 0);
      // Taken just before the first window would have ended, settled after it.
      const late = t + POLICY.windowMs - 10;
      for (let i = 0; i < POLICY.limit; i++) assert.equal((await store.takeLoginAttempt(a, POLICY, late)).allowed, true);
      const settled = [];
      for (let i = 0; i < POLICY.limit; i++) settled.push(await store.settleLoginAttempt(a, false, POLICY, late + 20 + i));
      assert.equal(settled[POLICY.limit - 1], POLICY.banMs, `settled: ${settled.join(',')}`);
    });

    test('parallel attempts from one address get no more than the limit', async () => {
      const a = addr();
      const policy = { ...POLICY, limit: 10 };
      const results = await Promise.all(Array.from({ length: 40 }, () => store.takeLoginAttempt(a, policy, 4_000_000)));
      assert.equal(results.filter((r) => r.allowed).length, 10);
      assert.equal(await store.loginBannedFor(a, 4_000_000), 0);
      // Another address is not affected.
      assert.equal((await store.takeLoginAttempt(addr(), policy, 4_000_000)).allowed, true);
    });

    test('prune forgets finished addresses; clear lifts a ban', async () => {
      const a = addr();
      const b = addr();
      await store.takeLoginAttempt(a, POLICY, 5_000_000);
      for (let i = 0; i < POLICY.limit; i++) {
        await store.takeLoginAttempt(b, POLICY, 5_000_000);
        await store.settleLoginAttempt(b, false, POLICY, 5_000_000);
      }
      assert.ok((await store.loginBannedFor(b, 5_000_001)) > 0);
      const pruned = await store.pruneLoginAttempts(5_000_001);
      assert.ok(pruned >= 1, `pruned ${pruned}`);
      assert.ok((await store.loginBannedFor(b, 5_000_001)) > 0, 'a running ban survives pruning');
      assert.equal(await store.clearLoginAttempts(b), true);
      assert.equal(await store.loginBannedFor(b, 5_000_001), 0);
      assert.equal(await store.clearLoginAttempts(b), false);
    });

    test('schema 10 reads a count from before it as in-flight checks (busy until the window ends, no ban), and the previous statements still run', async () => {
      const db = await open({ migrate: false });
      try {
        const old = "INSERT INTO login_attempts (address, window_start, attempts, banned_until) VALUES ('198.51.100.1', 6000000, 3, 0)";
        const v9 = MIGRATIONS.find((m) => m.version === 9)!;
        const upToV9 = [...MIGRATIONS.filter((m) => m.version < 9), { ...v9, sqlite: [...v9.sqlite, old], mysql: [...v9.mysql, old] }];
        assert.equal(await (db.store as unknown as SqlStore).migrateWith(upToV9), 9);
        assert.equal(await db.store.migrate(), LATEST_SCHEMA_VERSION);
        // The statements of the mogftp before schema 10 still run on it (a rolling restart): run
        // them as one more migration of this throwaway database.
        const previous = [
          'SELECT window_start, attempts, banned_until FROM login_attempts',
          "UPDATE login_attempts SET window_start = 6000000, attempts = 3, banned_until = 0 WHERE address = '198.51.100.1'",
        ];
        const probe = { version: LATEST_SCHEMA_VERSION + 1, description: 'previous statements', sqlite: previous, mysql: previous };
        assert.equal(await (db.store as unknown as SqlStore).migrateWith([...MIGRATIONS, probe]), LATEST_SCHEMA_VERSION + 1);
        assert.equal((await db.store.takeLoginAttempt('198.51.100.1', POLICY, 6_000_001)).refused, 'busy');
        assert.equal(await db.store.loginBannedFor('198.51.100.1', 6_000_001), 0);
        assert.equal((await db.store.takeLoginAttempt('198.51.100.1', POLICY, 6_000_000 + POLICY.windowMs)).allowed, true);
      } finally {
        await db.drop();
      }
    });

    test('bad arguments are INVALID_ARGUMENT', async () => {
      await expectCode(store.takeLoginAttempt('', POLICY, 1), ErrorCodes.INVALID_ARGUMENT);
      await expectCode(store.takeLoginAttempt('x'.repeat(65), POLICY, 1), ErrorCodes.INVALID_ARGUMENT);
      await expectCode(store.takeLoginAttempt(addr(), { ...POLICY, limit: 0 }, 1), ErrorCodes.INVALID_ARGUMENT);
    });
  });
}
