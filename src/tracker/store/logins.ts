// The store's login-attempt role: how many password checks one client address has had in the
// current window, and until when it is banned. Every front-end (FTP, WebDAV, and the doors to
// come) shares these rows, so a guesser cannot spread its tries over several processes.
//
// A password check is counted BEFORE its hash is computed (pending) and settled after it: a
// success just ends it; a failure is counted as such (failures). At most `limit` checks of one
// address are pending or failed in a window: the next is refused as busy ("try again"), with no
// ban, so twenty honest clients behind one NAT address wait their turn instead of being locked
// out. Only failures ban: the `limit`-th failure of a window starts the ban. Pending counts left
// by a process that died mid-check end with their window. The pending count lives in the column
// `attempts` (schema 4's, which counted both before schema 10), so a front-end not yet upgraded
// keeps working on the same rows.
import { ErrorCodes, mogError } from '../../errors.ts';
import type { LoginAttempt, LoginPolicy } from '../auth-types.ts';
import type { Dialect, Work } from './driver.ts';
import { get, run } from './driver.ts';
import { checkTime, num } from './rows.ts';

const invalid = (msg: string) => mogError(ErrorCodes.INVALID_ARGUMENT, msg);
/** Canonical IPv6 text is at most 45 characters; the column holds 64. */
const MAX_ADDRESS_CHARS = 64;

export function checkClientAddress(address: string): string {
  if (typeof address !== 'string' || address.length === 0 || address.length > MAX_ADDRESS_CHARS) {
    throw invalid(`A client address must be 1-${MAX_ADDRESS_CHARS} characters`);
  }
  return address;
}

export function checkPolicy(p: LoginPolicy): LoginPolicy {
  for (const [k, v] of Object.entries({ limit: p.limit, windowMs: p.windowMs, banMs: p.banMs })) {
    if (!Number.isSafeInteger(v) || v < 1) throw invalid(`Login policy ${k} must be a positive integer, not ${String(v)}`);
  }
  return p;
}

/** How long a busy refusal suggests waiting: a password check takes about half a second. */
const BUSY_RETRY_MS = 1000;

interface Counts {
  windowStart: number;
  pending: number;
  failures: number;
}

/** The row's counts in the window running at `now`; an ended window counts nothing. */
function countsAt(row: Record<string, unknown>, policy: LoginPolicy, now: number): Counts {
  const windowStart = num(row.window_start);
  if (windowStart + policy.windowMs <= now) return { windowStart: now, pending: 0, failures: 0 };
  return { windowStart, pending: num(row.attempts), failures: num(row.failures) };
}

export class LoginWork {
  constructor(private readonly d: Dialect) {}

  private get select(): string {
    return `SELECT window_start, attempts, failures, banned_until FROM login_attempts WHERE address = ?${this.d.forUpdate}`;
  }

  /** Counts one pending check unless the address is banned or has `limit` checks pending or failed. */
  *take(address: string, policy: LoginPolicy, now: number): Work<LoginAttempt> {
    checkTime('Attempt time', now);
    let row = yield* get(this.select, address);
    if (!row) {
      const { changes } = yield* run(
        `${this.d.insertIgnore} INTO login_attempts (address, window_start, attempts, failures, banned_until) VALUES (?, ?, 1, 0, 0)`,
        address,
        now,
      );
      if (changes > 0) return { allowed: true, attempts: 1, retryAfterMs: 0 };
      // Another front-end inserted the row first (MySQL locks no absent row): count on it.
      row = yield* get(this.select, address);
      if (!row) throw mogError(ErrorCodes.INTERNAL, `login attempt row of ${address} vanished`);
    }
    const bannedUntil = num(row.banned_until);
    const c = countsAt(row, policy, now);
    if (bannedUntil > now) return { allowed: false, refused: 'banned', attempts: c.pending + c.failures, retryAfterMs: bannedUntil - now };
    if (c.pending + c.failures >= policy.limit) {
      // Every try of this window is in use, some still being checked: wait, no ban.
      return { allowed: false, refused: 'busy', attempts: c.pending + c.failures, retryAfterMs: Math.min(BUSY_RETRY_MS, c.windowStart + policy.windowMs - now) };
    }
    // Nothing counted (quiet, or only successes so far): the window starts with this check, so
    // checks taken together are settled in the window they were taken in, however slow the hashing.
    if (c.pending + c.failures === 0) c.windowStart = now;
    c.pending++;
    yield* this.write(address, c, 0);
    return { allowed: true, attempts: c.pending + c.failures, retryAfterMs: 0 };
  }

  /**
   * Settles a pending check: it ends; a failure is counted, and the window's `limit`-th failure
   * starts the ban at once. Returns the milliseconds the address is now banned for.
   */
  *settle(address: string, ok: boolean, policy: LoginPolicy, now: number): Work<number> {
    checkTime('Attempt time', now);
    const row = yield* get(this.select, address);
    if (!row) return 0;
    const bannedUntil = num(row.banned_until);
    if (bannedUntil > now) return bannedUntil - now;
    const c = countsAt(row, policy, now);
    if (c.pending > 0) c.pending--;
    if (!ok) c.failures++;
    if (c.failures >= policy.limit) {
      yield* this.write(address, { windowStart: now, pending: 0, failures: 0 }, now + policy.banMs);
      return policy.banMs;
    }
    yield* this.write(address, c, 0);
    return 0;
  }

  private *write(address: string, c: Counts, bannedUntil: number): Work<void> {
    yield* run(
      'UPDATE login_attempts SET window_start = ?, attempts = ?, failures = ?, banned_until = ? WHERE address = ?',
      c.windowStart,
      c.pending,
      c.failures,
      bannedUntil,
      address,
    );
  }

  /** Milliseconds the address is banned for at `now`, 0 if it is not. */
  *bannedFor(address: string, now: number): Work<number> {
    const row = yield* get('SELECT banned_until FROM login_attempts WHERE address = ?', address);
    const until = row ? num(row.banned_until) : 0;
    return until > now ? until - now : 0;
  }

  /** Forgets addresses whose window and ban both ended before `before`; returns how many. */
  *prune(before: number): Work<number> {
    const { changes } = yield* run('DELETE FROM login_attempts WHERE window_start < ? AND banned_until < ?', before, before);
    return changes;
  }

  /** Lifts the ban and clears the count of one address (an operator's `admin` command). */
  *clear(address: string): Work<boolean> {
    const { changes } = yield* run('DELETE FROM login_attempts WHERE address = ?', address);
    return changes > 0;
  }
}
