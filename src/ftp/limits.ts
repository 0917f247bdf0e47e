// Abuse limits of the control connection: failed-login throttling per client address,
// connection caps (total and per address), and the idle timeout, which only counts time in
// which the client has no command running (a long transfer is not idleness).
import { canonicalIp } from './address.ts';
import type { FtpConn } from './connection.ts';

/** Remembers failed logins per address; an address with too many recent failures is refused. */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly bans = new Map<string, number>();

  constructor(private readonly opts: { limit: number; windowMs: number; banMs: number }) {}

  /** Milliseconds the address is still refused for, or 0. */
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

  /** Records a failure; true when the address is now refused. */
  fail(address: string, now = Date.now()): boolean {
    if (this.opts.limit <= 0) return false;
    const key = canonicalIp(address);
    const recent = (this.failures.get(key) ?? []).filter((t) => now - t < this.opts.windowMs);
    recent.push(now);
    if (recent.length >= this.opts.limit) {
      this.failures.delete(key);
      this.bans.set(key, now + this.opts.banMs);
      return true;
    }
    this.failures.set(key, recent);
    this.prune(now);
    return false;
  }

  /** Keeps the maps small when many addresses fail once. */
  private prune(now: number): void {
    if (this.failures.size < 10_000) return;
    for (const [key, times] of this.failures) if (times.every((t) => now - t >= this.opts.windowMs)) this.failures.delete(key);
    for (const [key, until] of this.bans) if (until <= now) this.bans.delete(key);
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
