import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { scryptSync } from 'node:crypto';
import { HashGate, LoginDenied } from '../../src/tracker/login-throttle.ts';
import { hashPassword, isWeakerThanCurrent, UNKNOWN_USER_HASH, verifyPassword } from '../../src/tracker/passwords.ts';

describe('passwords', () => {
  test("hash has the documented shape and OWASP's minimum parameters (N=2^17, r=8, p=1)", async () => {
    const h = await hashPassword('s3cret');
    const m = /^scrypt\$131072\$8\$1\$([A-Za-z0-9+/]+=*)\$([A-Za-z0-9+/]+=*)$/.exec(h);
    assert.ok(m, h);
    assert.equal(Buffer.from(m[1]!, 'base64').length, 16);
    assert.equal(Buffer.from(m[2]!, 'base64').length, 32);
    // The stored key really is scrypt(N=2^17, r=8, p=1) of the password with that salt.
    const key = scryptSync('s3cret', Buffer.from(m[1]!, 'base64'), 32, { N: 131072, r: 8, p: 1, maxmem: 256 * 1024 * 1024 });
    assert.equal(key.toString('base64'), m[2]);
    assert.equal(isWeakerThanCurrent(h), false);
  });

  test('hashes made before the cost was raised (N=2^14) still verify, and are known to be weaker', async () => {
    const salt = Buffer.from('fedcba9876543210');
    const key = scryptSync('old pw', salt, 32, { N: 16384, r: 8, p: 1 });
    const stored = `scrypt$16384$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
    assert.equal(await verifyPassword('old pw', stored), true);
    assert.equal(await verifyPassword('old pX', stored), false);
    assert.equal(isWeakerThanCurrent(stored), true);
  });

  test("unknown users are checked against a hash of today's cost (timing does not tell names apart)", async () => {
    const [, n, r, p, salt, hash] = UNKNOWN_USER_HASH.split('$');
    assert.deepEqual([n, r, p], ['131072', '8', '1']);
    assert.equal(Buffer.from(salt!, 'base64').length, 16);
    assert.equal(Buffer.from(hash!, 'base64').length, 32);
    assert.equal(isWeakerThanCurrent(UNKNOWN_USER_HASH), false);
    assert.equal(await verifyPassword('', UNKNOWN_USER_HASH), false);
  });

  test('salts differ, so equal passwords hash differently', async () => {
    const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('same', a), true);
    assert.equal(await verifyPassword('same', b), true);
  });

  test('verifies the right password and rejects wrong ones', async () => {
    const h = await hashPassword('correct horse ✓');
    assert.equal(await verifyPassword('correct horse ✓', h), true);
    assert.equal(await verifyPassword('correct horse', h), false);
    assert.equal(await verifyPassword('Correct horse ✓', h), false);
    assert.equal(await verifyPassword('', h), false);
  });

  test('an empty password still round-trips', async () => {
    const h = await hashPassword('');
    assert.equal(await verifyPassword('', h), true);
    assert.equal(await verifyPassword(' ', h), false);
  });

  test('hashes made with other (valid) parameters still verify', async () => {
    const salt = Buffer.from('0123456789abcdef');
    const key = scryptSync('pw', salt, 64, { N: 1024, r: 4, p: 2 });
    const stored = `scrypt$1024$4$2$${salt.toString('base64')}$${key.toString('base64')}`;
    assert.equal(await verifyPassword('pw', stored), true);
    assert.equal(await verifyPassword('pX', stored), false);
  });

  test('malformed stored strings give false, never a throw', async () => {
    const good = await hashPassword('pw');
    const [, n, r, p, salt, hash] = good.split('$');
    const bad = [
      '',
      'pw',
      'plain:pw',
      good.replace(/^scrypt/, 'bcrypt'),
      `scrypt$${n}$${r}$${p}$${salt}`, // too few fields
      `${good}$extra`, // too many fields
      `scrypt$1000$${r}$${p}$${salt}$${hash}`, // N not a power of two
      `scrypt$0$${r}$${p}$${salt}$${hash}`,
      `scrypt$-16384$${r}$${p}$${salt}$${hash}`,
      `scrypt$abc$${r}$${p}$${salt}$${hash}`,
      `scrypt$1073741824$${r}$${p}$${salt}$${hash}`, // would need terabytes: refused, not attempted
      `scrypt$${n}$0$${p}$${salt}$${hash}`,
      `scrypt$${n}$${r}$999$${salt}$${hash}`,
      `scrypt$${n}$${r}$${p}$$${hash}`, // empty salt
      `scrypt$${n}$${r}$${p}$${salt}$`, // empty hash
      `scrypt$${n}$${r}$${p}$not base64!$${hash}`,
      `scrypt$${n}$${r}$${p}$${salt}$AAAA`, // 3-byte key: too short to mean anything
    ];
    for (const stored of bad) {
      assert.equal(await verifyPassword('pw', stored), false, stored);
    }
    assert.equal(await verifyPassword('pw', null as unknown as string), false);
    assert.equal(await verifyPassword('pw', good), true); // the pieces were right all along
  });

  describe('HashGate', () => {
    /** A job that runs until `release` is called, and says when it started. */
    function job(log: string[], name: string) {
      let release!: () => void;
      const done = new Promise<void>((r) => (release = r));
      return { fn: async () => (log.push(name), await done, name), release };
    }
    const tick = () => new Promise((r) => setImmediate(r));

    test('runs at most maxRunning at once, and serves waiters by rank (first tries before repeat guessers)', async () => {
      const gate = new HashGate(2, 8);
      const log: string[] = [];
      const jobs = ['a', 'b', 'guess3', 'guess2', 'fresh'].map((n) => job(log, n));
      const ranks = [1, 1, 3, 2, 1];
      const results = jobs.map((j, i) => gate.run(ranks[i]!, j.fn));
      await tick();
      assert.deepEqual(log, ['a', 'b']);
      jobs[0]!.release();
      await tick();
      assert.deepEqual(log, ['a', 'b', 'fresh']);
      jobs[1]!.release();
      jobs[4]!.release();
      await tick();
      await tick();
      assert.deepEqual(log, ['a', 'b', 'fresh', 'guess2', 'guess3']);
      for (const j of jobs) j.release();
      assert.deepEqual(await Promise.all(results), ['a', 'b', 'guess3', 'guess2', 'fresh']);
    });

    test('a full queue refuses quickly: the worst-ranked waiter, or the newcomer when it ranks no better', async () => {
      const gate = new HashGate(1, 2);
      const log: string[] = [];
      const running = job(log, 'running');
      const held = gate.run(1, running.fn);
      const w5 = gate.run(5, async () => 'w5');
      const w4 = gate.run(4, async () => 'w4');
      // Queue full (2). A worse newcomer is refused at once...
      await assert.rejects(gate.run(9, async () => 'w9'), (e: unknown) => e instanceof LoginDenied && e.reason === 'busy');
      // ...a better one takes the place of the worst waiter.
      const w1 = gate.run(1, async () => 'w1');
      await assert.rejects(w5, (e: unknown) => e instanceof LoginDenied && e.reason === 'busy');
      running.release();
      assert.deepEqual(await Promise.all([held, w1, w4]), ['running', 'w1', 'w4']);
      // Every slot came back: two more run straight away.
      assert.deepEqual(await Promise.all([gate.run(1, async () => 1), gate.run(1, async () => 2)]), [1, 2]);
    });

    test('a job that throws frees its slot', async () => {
      const gate = new HashGate(1, 1);
      await assert.rejects(gate.run(1, async () => {
        throw new Error('boom');
      }), /boom/);
      assert.equal(await gate.run(1, async () => 'next'), 'next');
    });
  });
});
