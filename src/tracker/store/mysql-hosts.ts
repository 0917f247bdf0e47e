// Several database addresses for one store (the nodes of a Galera cluster, or a primary and
// the standby it fails over to): a process works against one of them at a time, so its own
// reads see its own writes and its transactions never certify against each other; when that
// server stops answering, the process moves to the next address and stays there. No restart,
// no health-check thread: a failure seen on a real query is what moves it.
//
// Also here: which errors mean "this server is gone or not serving" as opposed to "this query
// was wrong", shared with the driver (mysql.ts).
import mysql from 'mysql2/promise';
import type { Pool, PoolConnection, PoolOptions } from 'mysql2/promise';
import { describeError } from '../../errors.ts';
import type { LogFn } from '../../log.ts';

export interface HostPort {
  host: string;
  port: number;
}

/** Error codes that mean the connection or the server is gone, not that the query was wrong. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH',
  'EAI_AGAIN', 'ECONNABORTED', 'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN', 'ER_CON_COUNT_ERROR', 'ER_CONNECTION_KILLED', 'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR', 'ER_BAD_DB_ERROR', 'ER_NET_READ_INTERRUPTED', 'ER_NET_PACKETS_OUT_OF_ORDER',
  'ER_HOST_IS_BLOCKED', 'ER_TOO_MANY_USER_CONNECTIONS', 'ER_SERVER_GONE_ERROR',
]);

/**
 * A Galera node outside the primary component (cut off from the majority, or still joining)
 * answers every statement with 1047 "WSREP has not yet prepared node for application use";
 * a commit it cannot replicate fails with 1180. Either way that node cannot serve us now.
 */
const ER_UNKNOWN_COM_ERROR = 1047;
const ER_ERROR_DURING_COMMIT = 1180;

interface MysqlError {
  code?: string;
  errno?: number;
  fatal?: boolean;
  message?: string;
}

export function isConnectionError(err: unknown): boolean {
  const e = err as MysqlError | undefined;
  if (!e || typeof e !== 'object') return false;
  return Boolean(e.fatal) || (e.code !== undefined && CONNECTION_CODES.has(e.code)) || isNodeNotServing(err) || /Pool is closed|closed state/.test(e.message ?? '');
}

/** A Galera node that is up but not part of the primary component (see ER_UNKNOWN_COM_ERROR). */
function isNodeNotServing(err: unknown): boolean {
  const errno = (err as MysqlError | undefined)?.errno;
  return errno === ER_UNKNOWN_COM_ERROR || (errno === ER_ERROR_DURING_COMMIT && /WSREP|wsrep/.test((err as MysqlError).message ?? ''));
}

/** host:port, with brackets for IPv6, for messages meant for the operator. */
export function hostLabel(h: HostPort): string {
  return `${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}`;
}

/** A pooled connection and the index of the address it came from (to blame the right one). */
interface HostConnection {
  conn: PoolConnection;
  host: number;
}

export class HostPools {
  private current = 0;
  private readonly pools: (Pool | undefined)[];
  private closed = false;

  constructor(
    readonly hosts: readonly HostPort[],
    private readonly options: PoolOptions,
    /** Runs on every new connection before any query of ours (session settings). */
    private readonly onConnection: (conn: { query(sql: string, cb: () => void): unknown }) => void,
    private readonly log?: LogFn,
  ) {
    this.pools = hosts.map(() => undefined);
  }

  /** Where the process is working now, for messages. */
  get where(): string {
    return this.hosts.length === 1 ? hostLabel(this.hosts[0]!) : `${hostLabel(this.hosts[this.current]!)} (of ${this.hosts.length} addresses)`;
  }

  private pool(i: number): Pool {
    let p = this.pools[i];
    if (!p) {
      const h = this.hosts[i]!;
      p = mysql.createPool({ ...this.options, host: h.host, port: h.port });
      p.pool.on('connection', this.onConnection);
      this.pools[i] = p;
    }
    return p;
  }

  /**
   * A connection from the current address; when it cannot be had there, from the next ones in
   * turn (each tried once per call). Throws the last connection error when none answers.
   */
  async getConnection(): Promise<HostConnection> {
    let lastErr: unknown;
    for (let tried = 0; tried < this.hosts.length; tried++) {
      const i = this.current;
      try {
        return { conn: await this.pool(i).getConnection(), host: i };
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        lastErr = err;
        this.failed(i, err);
      }
    }
    throw lastErr;
  }

  /**
   * The address `i` failed a connection or a statement at the network level (or is a Galera node
   * that is not serving): move on to the next address, closing this one's pool so that none of
   * its dead connections is handed out when the process comes back to it later.
   */
  failed(i: number, err: unknown): void {
    if (this.closed || this.hosts.length === 1 || i !== this.current) return;
    const next = (i + 1) % this.hosts.length;
    this.current = next;
    const old = this.pools[i];
    this.pools[i] = undefined;
    old?.end().catch(() => undefined);
    this.log?.('warn', `database ${hostLabel(this.hosts[i]!)} failed (${describeError(err)}); moving to ${hostLabel(this.hosts[next]!)}`);
  }

  async end(): Promise<void> {
    this.closed = true;
    await Promise.all(this.pools.map((p) => p?.end().catch(() => undefined)));
  }
}
