// Abuse limits of the control connection: the FTP side of the login throttle, connection caps
// (total and per address), and the idle timeout, which only counts time in which the client
// has no command running (a long transfer is not idleness).
import { checkLoginPolicy } from '../tracker/login-throttle.ts';
import type { LoginPolicy } from '../tracker/auth-types.ts';
import { canonicalIp } from '../addresses.ts';
import type { FtpConn } from './connection.ts';

/**
 * The FTP door's side of the shared login throttle (src/tracker/login-throttle.ts, which counts
 * in the database for every front-end): the policy PASS is judged by, and the bans this process
 * has been told of, so that a banned address is refused with 421 when it connects, before any
 * database query. The database stays the authority: every PASS asks it.
 */
/** How long a ban is remembered here before the database is asked again. */
const LOCAL_BAN_MS = 15_000;

export class LoginThrottle {
  private readonly bans = new Map<string, number>();

  constructor(readonly policy: LoginPolicy) {
    checkLoginPolicy(policy);
  }

  /** Milliseconds the address is still refused for as far as this process knows, or 0. */
  bannedFor(address: string, now = Date.now()): number {
    const key = canonicalIp(address);
    const until = this.bans.get(key);
    if (until === undefined) return 0;
    if (until <= now) {
      this.bans.delete(key);
      return 0;
    }
    return until - now;
  }

  /**
   * Remembers a ban the shared throttle reported for `address`, for at most LOCAL_BAN_MS: after
   * that PASS asks the database again, so `mogftp admin login clear` reaches this process soon.
   */
  noteBan(address: string, ms: number, now = Date.now()): void {
    if (!(ms > 0)) return;
    ms = Math.min(ms, LOCAL_BAN_MS);
    if (this.bans.size >= 10_000) for (const [key, until] of this.bans) if (until <= now) this.bans.delete(key);
    // Past that many live bans, the database alone answers (at PASS): memory stays bounded.
    if (this.bans.size < 10_000) this.bans.set(canonicalIp(address), now + ms);
  }
}

/** Counts open control connections, in total and per client address. */
export class ConnectionLimits {
  private total = 0;
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly opts: { maxConnections: number; maxConnectionsPerAddress: number }) {}

  /** Takes a slot for `address`, or says why not (the text of a 421 reply). */
  admit(address: string): string | null {
    const key = canonicalIp(address);
    const mine = this.perAddress.get(key) ?? 0;
    if (this.opts.maxConnections > 0 && this.total >= this.opts.maxConnections)
      return `Too many connections (${this.opts.maxConnections}); try again later`;
    if (this.opts.maxConnectionsPerAddress > 0 && mine >= this.opts.maxConnectionsPerAddress)
      return `Too many connections from your address (${this.opts.maxConnectionsPerAddress}); try again later`;
    this.total++;
    this.perAddress.set(key, mine + 1);
    return null;
  }

  release(address: string): void {
    const key = canonicalIp(address);
    const mine = this.perAddress.get(key) ?? 0;
    if (mine <= 1) this.perAddress.delete(key);
    else this.perAddress.set(key, mine - 1);
    this.total = Math.max(0, this.total - 1);
  }
}

/** True while a command (a transfer, a HASH, a listing...) is running for the connection. */
export function isBusy(conn: FtpConn): boolean {
  return (conn.mogInFlight ?? 0) > 0 || !!conn.mogTransfer;
}

/** Closes the connection with 421 after `idleMs` without a command; stops when it closes. */
export function watchIdle(conn: FtpConn, idleMs: number): void {
  if (!(idleMs > 0)) return;
  conn.mogLastActive ??= Date.now();
  const timer = setInterval(
    () => {
      if (isBusy(conn)) return;
      if (Date.now() - (conn.mogLastActive ?? 0) < idleMs) return;
      clearInterval(timer);
      void conn.close(421, `Idle timeout (${Math.round(idleMs / 1000)} s without a command); closing the connection`);
    },
    Math.max(50, Math.min(1000, Math.floor(idleMs / 4))),
  );
  timer.unref();
  conn.commandSocket.once('close', () => clearInterval(timer));
}
