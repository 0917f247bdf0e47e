// HTTP Basic authentication against the store's users (Tracker.authenticate, the same scrypt
// check FTP uses, through the login throttle every door shares: src/tracker/login-throttle.ts).
// Desktop clients send credentials with every request, so a successful login is remembered
// briefly (keyed by a hash of address and credentials, never the password itself) with the
// user's Volume: the next request costs no scrypt and no home lookup. Changes to a user apply
// after `cacheMs`.
//
// A banned address is answered 429 Too Many Requests with Retry-After (RFC 6585: the client is
// rate limited, the credentials are not judged; 403 would tell clients to give up for good, and
// 401 would make them ask the user for a password again). Too many logins being checked at once
// in this process: 503 with Retry-After. A wrong password: 401, as before.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCodes, isMogError } from '../errors.ts';
import { createLogger, type LogFn } from '../log.ts';
import { clientKey, LoginDenied } from '../tracker/login-throttle.ts';
import type { LoginAttempts } from '../tracker/auth-types.ts';
import type { VolumeDeps } from '../vfs/deps.ts';
import { Volume } from '../vfs/volume.ts';
import { DavError } from './http.ts';

const MAX_ENTRIES = 1000;

/** What a login's Volume is opened with, and the login throttle's ban list, asked before a remembered login is reused. */
export type AuthDeps = VolumeDeps & { store: Pick<LoginAttempts, 'loginBannedFor'> };

export class BasicAuth {
  private readonly cache = new Map<string, { at: number; volume: Promise<Volume> }>();
  private log: LogFn | undefined;

  constructor(
    private readonly deps: AuthDeps,
    private readonly cacheMs = 10_000,
    log?: LogFn,
  ) {
    this.log = log;
  }

  /**
   * The user's Volume, or null when the header is missing or the credentials are wrong. Throws a
   * DavError 429 (banned address) or 503 (too busy), or the store's error when it cannot be asked.
   */
  async login(req: IncomingMessage, res: ServerResponse): Promise<Volume | null> {
    const creds = parseBasic(req.headers.authorization);
    if (!creds) return null;
    const address = clientKey(req.socket.remoteAddress);
    const key = createHash('sha256').update(`${address}\0${creds.user}\0${creds.password}`).digest('base64');
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && now - hit.at < this.cacheMs) {
      // A remembered success is no way around a ban, wherever it was decided: ask first.
      const bannedFor = await this.deps.store.loginBannedFor(address, now);
      if (bannedFor > 0) throw refusal(new LoginDenied('banned', bannedFor), res);
      return hit.volume.catch(() => null);
    }
    const from = { address, door: 'dav' as const, log: this.logFn() };
    const volume = (async () => Volume.open(this.deps, await this.deps.tracker.authenticate(creds.user, creds.password, from)))();
    if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { at: now, volume });
    try {
      return await volume;
    } catch (err) {
      this.cache.delete(key);
      if (err instanceof LoginDenied && err.reason !== 'wrong-password') throw refusal(err, res);
      if (isMogError(err, ErrorCodes.AUTH_FAILED)) return null;
      throw err;
    }
  }

  /** The server's log when it gave one; else a logger of our own, so failures are never unlogged. */
  private logFn(): LogFn {
    this.log ??= createLogger({ name: 'dav' });
    return this.log;
  }
}

function refusal(err: LoginDenied, res: ServerResponse | undefined): DavError {
  if (res && !res.headersSent) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
  return err.reason === 'banned'
    ? new DavError(429, 'Too many failed logins from your address; try again later')
    : new DavError(503, 'Too many logins in progress; try again in a moment');
}

export function parseBasic(header: string | undefined): { user: string; password: string } | null {
  const m = /^\s*Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return null;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return null;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}
