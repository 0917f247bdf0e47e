import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKOFF_SCHEDULE_MS, backoffDelay } from '../../src/jobs/backoff.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

test('the schedule is MogileFS’s: 15 s, 60 s, 5 min, 30 min, 1 h, 2 h, 4 h, 8 h, then 24 h', () => {
  const expected = [15 * S, 60 * S, 5 * M, 30 * M, 1 * H, 2 * H, 4 * H, 8 * H, 24 * H, 24 * H, 24 * H];
  const mid = () => 0.5; // no jitter
  assert.deepEqual(
    expected.map((_, failcount) => backoffDelay(failcount, { random: mid })),
    expected,
  );
  assert.equal(backoffDelay(1000, { random: mid }), 24 * H);
  assert.equal(BACKOFF_SCHEDULE_MS.length, 9);
});

test('jitter stays within ±20 % and actually varies', () => {
  for (let failcount = 0; failcount < 10; failcount++) {
    const base = BACKOFF_SCHEDULE_MS[Math.min(failcount, 8)]!;
    assert.equal(backoffDelay(failcount, { random: () => 0 }), Math.round(base * 0.8));
    assert.ok(backoffDelay(failcount, { random: () => 0.999999 }) <= Math.round(base * 1.2));
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(failcount);
      assert.ok(d >= base * 0.8 - 1 && d <= base * 1.2 + 1, `failcount ${failcount}: ${d}`);
      seen.add(d);
    }
    assert.ok(seen.size > 5, 'random jitter');
  }
});

test('scale turns the schedule into test-sized delays', () => {
  assert.equal(backoffDelay(0, { scale: 0.001, random: () => 0.5 }), 15);
  assert.equal(backoffDelay(8, { scale: 0.001, random: () => 0.5 }), 86_400);
  assert.equal(backoffDelay(-3, { random: () => 0.5 }), 15 * S);
});
