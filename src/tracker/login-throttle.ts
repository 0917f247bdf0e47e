// One login throttle for every door (FTP, WebDAV, and the SFTP door to come). The count of
// password checks per client address lives in the database (store/logins.ts), so a guesser
// cannot spread its tries over several front-ends, and it is taken BEFORE the password is
// hashed: a banned address, or one whose window's tries are all in use, costs one indexed row
// and no scrypt. The hashes this process computes at once are capped (HashGate): each takes
// ~128 MiB and a libuv pool thread for about half a second, and an uncapped flood starved
// every other login and file operation of the pool.
import { channel } from 'node:diagnostics_channel';
import { describeError, ErrorCodes, MogError, mogError } from '../errors.ts';
import type { LogFn } from '../log.ts';
import type { LoginAttempts, LoginPolicy } from './auth-types.ts';

export type LoginDoor = 'ftp' | 'dav' | 'sftp';

/** Why a login was refused without its password being judged. */
export type LoginRefusal = 'banned' | 'busy';

export const DEFAULT_LOGIN_POLICY: LoginPolicy = { limit: 10, windowMs: 60_000, banMs: 300_000 };

/** Throws INVALID_ARGUMENT unless the policy can be used; a limit of 0 (counting off) is allowed. */
export function checkLoginPolicy(p: LoginPolicy): LoginPolicy {
  for (const [k, v] of Object.entries({ limit: p.limit, windowMs: p.windowMs, banMs: p.banMs })) {
    const ok = Number.isSafeInteger(v) && (v > 0 || (k === 'limit' && v === 0));
    if (!ok) throw mogError(ErrorCodes.INVALID_ARGUMENT, `Login throttle ${k} must be a ${k === 'limit' ? 'non-negative' : 'positive'} integer, not ${String(v)}`);
  }
  return p;
}

/** Where a login comes from and which policy judges it; `policy.limit` 0 turns the count off. */
export interface LoginSource {
  address: string | undefined;
  door: LoginDoor;
  policy?: LoginPolicy;
  /** The door's log: failures at warn with address and user, refusals at debug/info. */
  log?: LogFn;
}

/**
 * A login that did not succeed. The code stays AUTH_FAILED, so a door that knows nothing of
 * throttling still answers "login incorrect"; doors that do read `reason`. Nothing here says
 * whether the password was right: a banned or busy refusal never looked at it.
 */
export class LoginDenied extends MogError {
  constructor(
    readonly reason: 'wrong-password' | LoginRefusal,
    /** banned: until the ban ends; wrong-password: the ban this failure started (0: none); busy: a hint. */
    readonly retryAfterMs: number,
  ) {
    super(ErrorCodes.AUTH_FAILED, reason === 'wrong-password' ? 'Login incorrect' : reason === 'banned' ? 'Too many failed logins from your address' : 'Too many logins in progress');
    this.name = 'LoginDenied';
  }
}

/** One judged or refused login, published on LOGIN_CHANNEL for metrics (src/metrics/logins.ts). */
export interface LoginEvent {
  door: LoginDoor;
  result: 'ok' | 'failed' | 'refused';
  reason?: LoginRefusal;
}

/** The diagnostics channel LoginEvents go out on. */
export const LOGIN_CHANNEL = 'mogftp:login';
const loginEvents = channel(LOGIN_CHANNEL);

/** How long a busy refusal suggests waiting. */
const BUSY_RETRY_MS = 2000;

interface Waiter {
  rank: number;
  start: () => void;
  refuse: (err: Error) => void;
}

/**
 * Runs at most `maxRunning` password hashes at once; at most `maxWaiting` more wait. Waiters are
 * served by rank (the attempt number in the address's window): an address on its first try goes
 * before one that has failed several times, so a guessing flood queues behind normal logins.
 * When the queue is full, the waiter with the worst rank is refused (quickly, as 'busy').
 */
export class HashGate {
  private running = 0;
  private readonly waiting: Waiter[] = [];

  constructor(
    readonly maxRunning: number,
    readonly maxWaiting: number,
  ) {}

  async run<T>(rank: number, fn: () => Promise<T>): Promise<T> {
    await this.acquire(rank);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private acquire(rank: number): Promise<void> {
    if (this.running < this.maxRunning) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.maxWaiting) {
      const last = this.waiting[this.waiting.length - 1];
      if (!last || last.rank <= rank) return Promise.reject(new LoginDenied('busy', BUSY_RETRY_MS));
      this.waiting.pop();
      last.refuse(new LoginDenied('busy', BUSY_RETRY_MS));
    }
    return new Promise<void>((start, refuse) => {
      let at = this.waiting.length;
      while (at > 0 && this.waiting[at - 1]!.rank > rank) at--;
      this.waiting.splice(at, 0, { rank, start, refuse });
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next waiter; `running` only drops when nobody waits.
    if (next) next.start();
    else this.running--;
  }
}

/** One per process: the libuv pool and the memory the hashes use are the process's. */
export const processHashGate = new HashGate(2, 32);

/** How often a throttle forgets addresses whose window and ban are over, and what it keeps. */
const PRUNE_EVERY_MS = 10 * 60_000;
const PRUNE_OLDER_THAN_MS = 24 * 3600_000;

/** How long this process remembers an address's failures for ranking, and how many addresses. */
const RECENT_FAILURE_MS = 15 * 60_000;
const RECENT_FAILURE_ADDRESSES = 10_000;

export class SharedLoginThrottle {
  private lastPrune: number;
  /**
   * Failures seen here lately per address: for ranking in the HashGate only (the limits are the
   * database's). Without it, a flood lasting longer than the counting window would come back
   * as "first tries" each window and queue level with normal logins.
   */
  private readonly recentFailures = new Map<string, { count: number; at: number }>();

  constructor(
    private readonly store: LoginAttempts,
    private readonly gate: HashGate = processHashGate,
    private readonly now: () => number = Date.now,
  ) {
    this.lastPrune = now();
  }

  /**
   * Judges one login of `user` from `source`. `judge` looks the user up and computes the hash
   * through the `hash` it is given (which waits for a HashGate slot); it returns the account, or
   * null for a wrong name or password. Throws LoginDenied when refused or wrong; store errors pass
   * through (the door answers "cannot log in right now", and nothing is counted against the client).
   */
  async attempt<T>(source: LoginSource, user: string, judge: (hash: <R>(fn: () => Promise<R>) => Promise<R>) => Promise<T | null>): Promise<T> {
    const policy = source.policy ?? DEFAULT_LOGIN_POLICY;
    const counted = policy.limit > 0;
    const address = clientKey(source.address);
    const log = source.log ?? (() => {});
    const fields = { door: source.door, ip: address, user };
    let attempts = 0;
    if (counted) {
      const taken = await this.store.takeLoginAttempt(address, policy, this.now());
      this.pruneNowAndThen(log);
      if (!taken.allowed) {
        // Debug only: a flood of these would drown the log; the metric counts them.
        const reason = taken.refused ?? 'banned';
        log('debug', `login refused: ${reason === 'busy' ? 'too many logins in progress from the address' : 'address banned'}`, { ...fields, retryAfterS: Math.ceil(taken.retryAfterMs / 1000) });
        publish({ door: source.door, result: 'refused', reason });
        throw new LoginDenied(reason, taken.retryAfterMs);
      }
      attempts = taken.attempts;
    }
    // Served by rank: the try this is in its window, plus what this address failed here lately.
    const rank = attempts + this.failuresOf(address);
    let account: T | null;
    try {
      account = await judge((fn) => this.gate.run(rank, fn));
    } catch (err) {
      if (err instanceof LoginDenied) {
        // Too busy: the try stays used. A client refused this way comes back one rank lower,
        // behind first tries, and a flood that keeps knocking uses up its tries without a hash.
        log('info', 'login refused: too many logins being checked', fields);
        publish({ door: source.door, result: 'refused', reason: 'busy' });
      } else if (counted) {
        // The store failed: the password was not judged, so the try is given back.
        await this.store.settleLoginAttempt(address, true, policy, this.now());
      }
      throw err;
    }
    const bannedFor = counted ? await this.store.settleLoginAttempt(address, account !== null, policy, this.now()) : 0;
    if (account === null) {
      this.noteFailure(address);
      log('warn', 'login failed', { ...fields, attempt: attempts });
      if (bannedFor > 0) log('warn', 'address banned after too many failed logins', { ...fields, banS: Math.ceil(bannedFor / 1000) });
      publish({ door: source.door, result: 'failed' });
      throw new LoginDenied('wrong-password', bannedFor);
    }
    publish({ door: source.door, result: 'ok' });
    return account;
  }

  /**
   * For a login already proven by a recent verification (verified-logins.ts): no try is counted
   * and nothing is hashed, but a banned address is still refused; one read.
   */
  async admitProven(source: LoginSource, user: string): Promise<void> {
    const policy = source.policy ?? DEFAULT_LOGIN_POLICY;
    if (policy.limit > 0) {
      const address = clientKey(source.address);
      const bannedFor = await this.store.loginBannedFor(address, this.now());
      if (bannedFor > 0) {
        source.log?.('debug', 'login refused: address banned', { door: source.door, ip: address, user, retryAfterS: Math.ceil(bannedFor / 1000) });
        publish({ door: source.door, result: 'refused', reason: 'banned' });
        throw new LoginDenied('banned', bannedFor);
      }
    }
    publish({ door: source.door, result: 'ok' });
  }

  private failuresOf(address: string): number {
    const seen = this.recentFailures.get(address);
    if (!seen) return 0;
    if (this.now() - seen.at < RECENT_FAILURE_MS) return seen.count;
    this.recentFailures.delete(address);
    return 0;
  }

  private noteFailure(address: string): void {
    const count = this.failuresOf(address) + 1;
    this.recentFailures.delete(address); // re-inserted last: the map's order is oldest first
    if (this.recentFailures.size >= RECENT_FAILURE_ADDRESSES) this.recentFailures.delete(this.recentFailures.keys().next().value!);
    this.recentFailures.set(address, { count, at: this.now() });
  }

  /** Now and then, forgets addresses idle for a day, in the background (a failure is logged and retried next time). */
  private pruneNowAndThen(log: LogFn): void {
    const now = this.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    this.store.pruneLoginAttempts(now - PRUNE_OLDER_THAN_MS).then(
      (n) => n > 0 && log('debug', 'forgot old login attempts', { addresses: n }),
      (err: unknown) => {
        this.lastPrune = 0;
        log('warn', 'could not prune old login attempts', { error: describeError(err) });
      },
    );
  }
}

const throttles = new WeakMap<LoginAttempts, SharedLoginThrottle>();

/** The throttle of a store: one per store object, so every door of a process shares its gate and prune clock. */
export function loginThrottleOf(store: LoginAttempts): SharedLoginThrottle {
  let t = throttles.get(store);
  if (!t) throttles.set(store, (t = new SharedLoginThrottle(store)));
  return t;
}

/**
 * The form an address is counted under: an IPv4-mapped IPv6 address is its IPv4 address (a
 * dual-stack HTTP server and an IPv4 FTP listener see one client alike), case folded, no zone.
 */
export function clientKey(address: string | undefined): string {
  let a = (address ?? '').trim().toLowerCase();
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  a = a.replace(/^\[(.*)\]$/, '$1').replace(/^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/, '$1');
  // An unknown address is still counted, all unknowns together: never a free pass.
  return a === '' ? 'unknown' : a.slice(0, 64);
}

function publish(e: LoginEvent): void {
  if (loginEvents.hasSubscribers) loginEvents.publish(e);
}
