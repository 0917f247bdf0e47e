// Retry delays for queue items, MogileFS's schedule by failcount: a first failure waits 15 s,
// then 60 s, 5 min, 30 min, 1 h, 2 h, 4 h, 8 h and from then on 24 h. Each delay is jittered by
// ±20 % so that items failing together (a node went down) do not all retry in the same instant.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export const BACKOFF_SCHEDULE_MS: readonly number[] = [
  15 * SECOND,
  60 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  1 * HOUR,
  2 * HOUR,
  4 * HOUR,
  8 * HOUR,
  24 * HOUR,
];

export interface BackoffOptions {
  /** Multiplies every delay; tests use e.g. 0.001 to turn seconds into milliseconds. Default 1. */
  scale?: number;
  /** Source of randomness in [0, 1); for tests that need a fixed jitter. */
  random?: () => number;
}

/**
 * The delay before the next try of an item that has failed `failcount` times before this
 * failure (an item's first failure has failcount 0 and waits about 15 s).
 */
export function backoffDelay(failcount: number, opts: BackoffOptions = {}): number {
  const scale = opts.scale ?? 1;
  const random = opts.random ?? Math.random;
  const index = Math.min(Math.max(0, Math.floor(failcount)), BACKOFF_SCHEDULE_MS.length - 1);
  const base = BACKOFF_SCHEDULE_MS[index]! * scale;
  const jitter = 0.8 + 0.4 * random();
  return Math.max(0, Math.round(base * jitter));
}
