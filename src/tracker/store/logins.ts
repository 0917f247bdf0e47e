// The store's login-attempt role: how many password checks one client address has had in the
// current window, and until when it is banned. Every front-end (FTP, WebDAV, and the doors to
// come) shares these rows, so a guesser cannot spread its tries over several processes.
//
// An attempt is counted BEFORE the password hash is computed and refunded when it succeeds: a
// burst of parallel connections from one address is cut at the limit instead of all of them
// passing the "banned?" check first and hashing at once.
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

export class LoginWork {
  constructor(private readonly d: Dialect) {}

  /** Counts one attempt unless the address is banned or has used up its window. */
  *take(address: string, policy: LoginPolicy, now: number): Work<LoginAttempt> {
    checkTime('Attempt time', now);
    const select = `SELECT window_start, attempts, banned_until FROM login_attempts WHERE address = ?${this.d.forUpdate}`;
    let row = yield* get(select, address);
    if (!row) {
      const { changes } = yield* run(
        `${this.d.insertIgnore} INTO login_attempts (address, window_start, attempts, banned_until) VALUES (?, ?, 1, 0)`,
        address,
        now,
      );
      if (changes > 0) return { allowed: true, attempts: 1, retryAfterMs: 0 };
      // Another front-end inserted the row first (MySQL locks no absent row): count on it.
      row = yield* get(select, address);
      if (!row) throw mogError(ErrorCodes.INTERNAL, `login attempt row of ${address} vanished`);
    }
    const bannedUntil = num(row.banned_until);
    if (bannedUntil > now) return { allowed: false, attempts: num(row.attempts), retryAfterMs: bannedUntil - now };
    let windowStart = num(row.window_start);
    let attempts = num(row.attempts);
    if (windowStart + policy.windowMs <= now) {
      windowStart = now;
      attempts = 0;
    }
    if (attempts >= policy.limit) {
      // Every try of this window is in use (some may still be hashing): refuse and ban.
      const until = now + policy.banMs;
      yield* run('UPDATE login_attempts SET banned_until = ?, window_start = ?, attempts = 0 WHERE address = ?', until, now, address);
      return { allowed: false, attempts, retryAfterMs: policy.banMs };
    }
    attempts++;
    yield* run('UPDATE login_attempts SET window_start = ?, attempts = ?, banned_until = 0 WHERE address = ?', windowStart, attempts, address);
    return { allowed: true, attempts, retryAfterMs: 0 };
  }

  /**
   * Settles a counted attempt: a success gives its try back; a failure that used the window's
   * last try starts the ban at once. Returns the milliseconds the address is now banned for.
   */
  *settle(address: string, ok: boolean, policy: LoginPolicy, now: number): Work<number> {
    checkTime('Attempt time', now);
    const row = yield* get(`SELECT window_start, attempts, banned_until FROM login_attempts WHERE address = ?${this.d.forUpdate}`, address);
    if (!row) return 0;
    const bannedUntil = num(row.banned_until);
    if (bannedUntil > now) return bannedUntil - now;
    const attempts = num(row.attempts);
    if (ok) {
      if (attempts > 0) yield* run('UPDATE login_attempts SET attempts = ? WHERE address = ?', attempts - 1, address);
      return 0;
    }
    if (attempts >= policy.limit && num(row.window_start) + policy.windowMs > now) {
      yield* run('UPDATE login_attempts SET banned_until = ?, window_start = ?, attempts = 0 WHERE address = ?', now + policy.banMs, now, address);
      return policy.banMs;
    }
    return 0;
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
