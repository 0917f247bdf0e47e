// The shared login throttle on a real (in-memory SQLite) store: the ban is decided before the
// password is judged, a busy refusal keeps its try used, and an address that failed lately
// waits behind a first try even after its counting window has started over.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HashGate, LoginDenied, SharedLoginThrottle, clientKey } from '../../src/tracker/login-throttle.ts';
import { openStore } from '../../src/tracker/open.ts';
import type { Store } from '../../src/tracker/types.ts';

const policy = { limit: 3, windowMs: 1000, banMs: 60_000 };

describe('SharedLoginThrottle', () => {
  let store: Store;
  let clock = 1_000_000;
  before(async () => {
    store = await openStore('sqlite::memory:', { createDatabase: true });
    await store.migrate();
  });
  after(() => store.close());

  const denied = (reason: string) => (e: unknown) => e instanceof LoginDenied && e.reason === reason;

  test('wrong passwords up to the limit are judged; then the address is refused without judging, even the right password', async () => {
    const throttle = new SharedLoginThrottle(store, new HashGate(2, 8), () => clock);
    const from = { address: '::ffff:192.0.2.1', door: 'ftp' as const, policy };
    let judged = 0;
    const wrong = async (hash: <R>(fn: () => Promise<R>) => Promise<R>) => hash(async () => (judged++, null));
    for (let i = 0; i < 3; i++) await assert.rejects(throttle.attempt(from, 'u', wrong), denied('wrong-password'));
    assert.equal(judged, 3);
    await assert.rejects(throttle.attempt(from, 'u', async () => (judged++, 'user')), denied('banned'));
    assert.equal(judged, 3, 'no judging while banned');
    // Counted under the IPv4 form, so an IPv4 listener sees the same ban.
    assert.ok((await store.loginBannedFor(clientKey('192.0.2.1'), clock)) > 0);
  });

  test('a busy refusal keeps its try used; a store failure gives it back', async () => {
    const gate = new HashGate(1, 0);
    const throttle = new SharedLoginThrottle(store, gate, () => clock);
    const from = { address: '192.0.2.2', door: 'dav' as const, policy };
    let release!: () => void;
    const holding = throttle.attempt(from, 'u', (hash) => hash(() => new Promise<string>((r) => (release = () => r('user')))));
    await new Promise((r) => setImmediate(r));
    await assert.rejects(throttle.attempt(from, 'u', (hash) => hash(async () => 'user')), denied('busy'));
    await assert.rejects(
      throttle.attempt(from, 'u', async () => {
        throw new Error('store down');
      }),
      /store down/,
    );
    release();
    assert.equal(await holding, 'user');
    // The success gave its try back, the failure gave its back, the busy one did not: 1 used.
    assert.deepEqual(await store.takeLoginAttempt('192.0.2.2', policy, clock), { allowed: true, attempts: 2, retryAfterMs: 0 });
  });

  test('an address that failed lately ranks behind a first try after its window starts over', async () => {
    const gate = new HashGate(1, 8);
    const throttle = new SharedLoginThrottle(store, gate, () => clock);
    const guesser = { address: '192.0.2.3', door: 'ftp' as const, policy };
    const newcomer = { address: '192.0.2.4', door: 'ftp' as const, policy };
    await assert.rejects(throttle.attempt(guesser, 'u', (hash) => hash(async () => null)), denied('wrong-password'));
    clock += policy.windowMs + 1; // the database's count starts over
    let release!: () => void;
    const order: string[] = [];
    const blocker = throttle.attempt({ address: '192.0.2.5', door: 'ftp', policy }, 'u', (hash) => hash(() => new Promise<string>((r) => (release = () => r('x')))));
    await new Promise((r) => setImmediate(r));
    const g = throttle.attempt(guesser, 'u', (hash) => hash(async () => (order.push('guesser'), null)));
    const n = throttle.attempt(newcomer, 'u', (hash) => hash(async () => (order.push('newcomer'), 'user')));
    await new Promise((r) => setTimeout(r, 50));
    release();
    await blocker;
    assert.equal(await n, 'user');
    await assert.rejects(g, denied('wrong-password'));
    assert.deepEqual(order, ['newcomer', 'guesser']);
  });
});
