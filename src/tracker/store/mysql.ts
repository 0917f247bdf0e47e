// The MariaDB/MySQL driver: a mysql2/promise pool. Every unit of work runs on one pooled
// connection; writes inside START TRANSACTION/COMMIT, retried whole on deadlock, lock wait
// timeout and duplicate key (the retry re-runs the existence checks, which then answer properly).
// A connection that failed at the network level is destroyed, never handed back to the pool, so
// the pool reconnects by itself once the server is back; with several addresses (mysql-hosts.ts)
// the process moves to the next one instead. On a Galera cluster a certification conflict comes
// back as a deadlock (1213) and is retried the same way.
import mysql from 'mysql2/promise';
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { isMogError, mogError, ErrorCodes } from '../../errors.ts';
import type { LogFn } from '../../log.ts';
import type { Dialect, Driver, Query, Row, RunResult, Work, WriteOptions } from './driver.ts';
import { driveAsync } from './driver.ts';
import { Counters, type PendingIds } from './mysql-counters.ts';
import { hostLabel, HostPools, isConnectionError, type HostPort } from './mysql-hosts.ts';
import { withMigrationLock } from './mysql-migrate-lock.ts';
import { createSqlStore, type SqlStore } from './sql-store.ts';

export interface MysqlConfig {
  host: string;
  port: number;
  /** Every address when the URL names several (host/port are the first); tried in this order. */
  hosts?: HostPort[];
  user: string;
  password: string;
  database: string;
  connectionLimit?: number;
  /** How long one statement may go unanswered (ms); then its server counts as failed. Default DEFAULT_QUERY_TIMEOUT_MS. */
  queryTimeoutMs?: number;
}

const CONNECT_TIMEOUT_MS = 5000;
/**
 * A server that stops answering without closing its connections (a hung or SIGSTOPped node, a
 * network that drops packets) would hold a statement forever: after this long the statement
 * fails like a lost connection (PROTOCOL_SEQUENCE_TIMEOUT), the connection is destroyed and, with
 * several addresses, the process moves to the next. Longer than the lock wait timeout (10 s) and
 * than Galera takes to evict a silent node, so a merely slow statement is not cut. Migrations
 * (long DDL) have no limit. `?queryTimeout=SECONDS` on the URL changes it.
 */
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;
const LOCK_WAIT_TIMEOUT_S = 10;
/**
 * Writers on different Galera nodes collide at COMMIT (a certification conflict, reported as a
 * deadlock) far more often than InnoDB deadlocks on one server: a hot row such as the fid counter
 * or the head of a queue is written from every node. Enough attempts, with a growing random
 * pause, that such a burst settles (the whole write is re-run; see write()).
 */
const MAX_ATTEMPTS = 12;
const MAX_RETRY_PAUSE_MS = 250;
const MAX_DUP_ATTEMPTS = 5;
/** A lock wait timeout already cost LOCK_WAIT_TIMEOUT_S; one more try is the most worth waiting for. */
const MAX_LOCK_WAIT_ATTEMPTS = 2;

const ER_DUP_ENTRY = 1062;
const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_LOCK_DEADLOCK = 1213;
const ER_BAD_DB_ERROR = 1049;

interface MysqlError {
  code?: string;
  errno?: number;
  fatal?: boolean;
  message?: string;
}

function isRetryable(err: unknown, attempt: number): boolean {
  const errno = (err as MysqlError | undefined)?.errno;
  if (errno === ER_LOCK_WAIT_TIMEOUT) return attempt < MAX_LOCK_WAIT_ATTEMPTS;
  // A duplicate key settles in one re-run (its existence check then answers): as before Galera.
  if (errno === ER_DUP_ENTRY) return attempt < MAX_DUP_ATTEMPTS;
  return errno === ER_LOCK_DEADLOCK && attempt < MAX_ATTEMPTS;
}

function mapMysqlError(err: unknown, where: string, database?: string): unknown {
  if (isMogError(err)) return err;
  const e = (err ?? {}) as MysqlError;
  const msg = e.message || e.code || String(err);
  if (e.errno === ER_BAD_DB_ERROR)
    return mogError(ErrorCodes.DB_UNAVAILABLE, `The database ${database ?? ''} does not exist at ${where} (create it, or use the create-database option)`, err);
  if (isConnectionError(err)) return mogError(ErrorCodes.DB_UNAVAILABLE, `cannot reach the database at ${where}: ${msg}`, err);
  if (e.errno === ER_DUP_ENTRY) return mogError(ErrorCodes.EXISTS, 'Already exists', err);
  if (e.errno === ER_LOCK_DEADLOCK || e.errno === ER_LOCK_WAIT_TIMEOUT)
    return mogError(ErrorCodes.DB_UNAVAILABLE, `The database at ${where} stayed too busy to finish the change (${msg})`, err);
  return mogError(ErrorCodes.INTERNAL, `Database error: ${msg}`, err);
}

function makeDialect(skipLocked: boolean): Dialect {
  return {
    kind: 'mysql',
    forUpdate: ' FOR UPDATE',
    forShare: ' LOCK IN SHARE MODE',
    // Without SKIP LOCKED (MariaDB < 10.6, MySQL < 8.0) claimers queue behind each other: slower, still correct.
    forUpdateSkipLocked: skipLocked ? ' FOR UPDATE SKIP LOCKED' : ' FOR UPDATE',
    insertIgnore: 'INSERT IGNORE',
    *bumpCounter(name: string): Work<number> {
      // The driver answers (mysql-counters.ts: one id at a time, or blocks of them on Galera).
      return (yield { op: 'counter', sql: '', params: [name] }) as number;
    },
  };
}

/** SKIP LOCKED arrived in MariaDB 10.6 and MySQL 8.0.1. */
export function supportsSkipLocked(version: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [maj, min, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (/mariadb/i.test(version)) return maj > 10 || (maj === 10 && min >= 6);
  return maj > 8 || (maj === 8 && (min > 0 || patch >= 1));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class MysqlDriver implements Driver {
  readonly kind = 'mysql' as const;

  private readonly counters: Counters;

  constructor(
    private readonly hosts: HostPools,
    readonly dialect: Dialect,
    private readonly database: string,
    galera: boolean,
    private readonly queryTimeoutMs: number,
  ) {
    this.counters = new Counters(galera, queryTimeoutMs);
  }

  private map(err: unknown): unknown {
    return mapMysqlError(err, this.hosts.where, this.database);
  }

  /**
   * Runs `fn` on one pooled connection. A connection that failed at the network level is
   * destroyed, and its address is left for the next one (when the URL names several).
   */
  private async withConnection<T>(fn: (c: PoolConnection) => Promise<T>): Promise<T> {
    let conn: PoolConnection, host: number;
    try {
      ({ conn, host } = await this.hosts.getConnection());
    } catch (err) {
      throw this.map(err);
    }
    try {
      const result = await fn(conn);
      conn.release();
      return result;
    } catch (err) {
      if (isConnectionError(err)) {
        conn.destroy();
        this.hosts.failed(host, err);
      } else conn.release();
      throw err;
    }
  }

  /** Runs one statement; `pending` gathers the ids a transaction takes (null: autocommit). */
  private async exec(conn: PoolConnection, q: Query, pending: PendingIds[] | null, timeout: number | undefined = this.queryTimeoutMs): Promise<unknown> {
    if (q.op === 'counter') return this.counters.next(conn, String(q.params[0]), pending);
    const [res] = await conn.query({ sql: q.sql, values: q.params as unknown[], timeout });
    if (q.op === 'run') {
      const h = res as ResultSetHeader;
      return { changes: h.affectedRows, insertId: Number(h.insertId) } satisfies RunResult;
    }
    const rows = res as RowDataPacket[];
    return q.op === 'get' ? (rows[0] as Row | undefined) : (rows as Row[]);
  }

  /**
   * Runs work without a transaction. A pooled connection can turn out dead on first use (the
   * server restarted, or killed it while idle; or, with several addresses, the server is gone):
   * when that happens before anything was written, the work is run once more on a fresh
   * connection (from the next address) instead of failing.
   */
  private async plain<T>(work: () => Work<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let wrote = false;
      try {
        return await this.withConnection((conn) =>
          driveAsync(work(), (q) => {
            if (q.op !== 'get' && q.op !== 'all') wrote = true;
            return this.exec(conn, q, null);
          }),
        );
      } catch (err) {
        if (attempt <= this.hosts.hosts.length && !wrote && isConnectionError(err)) continue;
        throw this.map(err);
      }
    }
  }

  read<T>(work: () => Work<T>): Promise<T> {
    return this.plain(work);
  }

  auto<T>(work: () => Work<T>): Promise<T> {
    return this.plain(work);
  }

  /**
   * Runs work in a transaction. Retried whole on deadlock (on Galera also a certification
   * conflict), lock wait timeout or duplicate key, and on a lost connection as long as COMMIT
   * was not sent (the server rolls back the rest): once per address. When the connection is lost
   * while COMMIT is under way the outcome is unknown: `opts.committed` (if given) asks the
   * database, on the next address, whether the change is there.
   */
  async write<T>(work: () => Work<T>, opts: WriteOptions = {}): Promise<T> {
    let connectionRetries = 0;
    for (let attempt = 1; ; attempt++) {
      let committing = false;
      let result: T | undefined;
      const pending: PendingIds[] = [];
      try {
        return await this.withConnection(async (conn) => {
          await conn.query({ sql: 'START TRANSACTION', timeout: this.queryTimeoutMs });
          try {
            result = await driveAsync(work(), (q) => this.exec(conn, q, pending));
            committing = true;
            await conn.query({ sql: 'COMMIT', timeout: this.queryTimeoutMs });
            this.counters.release(pending);
            return result;
          } catch (err) {
            if (!isConnectionError(err)) await conn.query('ROLLBACK').catch(() => undefined);
            throw err;
          }
        });
      } catch (err) {
        if (isRetryable(err, attempt)) {
          // Spread the retries of colliding transactions: 0-8 ms at first, doubling up to 250 ms.
          await sleep(Math.random() * Math.min(MAX_RETRY_PAUSE_MS, 4 * 2 ** attempt));
          continue;
        }
        if (!committing && connectionRetries++ < this.hosts.hosts.length && isConnectionError(err)) continue;
        if (committing && opts.committed && isConnectionError(err)) return this.settleInDoubt(err, opts.committed, result as T);
        throw this.map(err);
      }
    }
  }

  /** After a COMMIT whose answer was lost: the result when the change is in, else the original error. */
  private async settleInDoubt<T>(err: unknown, committed: () => Work<boolean>, result: T): Promise<T> {
    let landed: boolean;
    try {
      landed = await this.plain(committed);
    } catch {
      throw this.map(err);
    }
    if (landed) return result;
    throw this.map(err);
  }

  async migrate<T>(work: () => Work<T>): Promise<T> {
    try {
      return await this.withConnection((conn) => withMigrationLock(conn, this.database, () => driveAsync(work(), (q) => this.exec(conn, q, null, undefined))));
    } catch (err) {
      throw this.map(err);
    }
  }

  async close(): Promise<void> {
    await this.hosts.end();
  }
}

function connectionOptions(cfg: MysqlConfig) {
  return {
    user: cfg.user,
    password: cfg.password,
    connectTimeout: CONNECT_TIMEOUT_MS,
    charset: 'UTF8MB4_BIN',
    // BIGINT as JS numbers (ours stay below 2^53); SUM() decimals as numbers too.
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: true,
  };
}

/** CREATE DATABASE on the first address that answers. */
async function createDatabase(cfg: MysqlConfig, hosts: readonly HostPort[]): Promise<void> {
  let lastErr: unknown;
  for (const h of hosts) {
    let conn: mysql.Connection | undefined;
    try {
      conn = await mysql.createConnection({ ...connectionOptions(cfg), host: h.host, port: h.port });
      // The name was checked to be [A-Za-z0-9_$-] when the URL was parsed.
      await conn.query(`CREATE DATABASE IF NOT EXISTS \`${cfg.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      return;
    } catch (err) {
      if (!isConnectionError(err)) throw mapMysqlError(err, hostLabel(h), cfg.database);
      lastErr = mapMysqlError(err, hostLabel(h), cfg.database);
    } finally {
      await conn?.end().catch(() => undefined);
    }
  }
  throw lastErr;
}

/**
 * Session settings for every new connection (queued before any query of ours on it).
 * READ COMMITTED: locking reads see the latest commits and InnoDB takes no gap locks, so fewer deadlocks.
 * An explicit sql_mode: strict, and without NO_BACKSLASH_ESCAPES, which mysql2's escaping relies on.
 * wsrep_sync_wait = 1: on a Galera node a read first waits until the node has applied every
 * write the cluster committed before it (read-your-writes across nodes: a file that got 226
 * through one front-end is listed by the next). Servers without Galera refuse or ignore it.
 */
function setUpSession(conn: { query(sql: string, cb: () => void): unknown }): void {
  const ignore = () => undefined;
  conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', ignore);
  conn.query(`SET SESSION innodb_lock_wait_timeout = ${LOCK_WAIT_TIMEOUT_S}`, ignore);
  conn.query(`SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'`, ignore);
  conn.query('SET SESSION wsrep_sync_wait = 1', ignore);
}

/** The server's version and whether it is a Galera node, from the first address that serves. */
async function serverInfo(hosts: HostPools): Promise<{ version: string; galera: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const { conn, host } = await hosts.getConnection();
    try {
      const [rows] = await conn.query('SELECT VERSION() AS v');
      // MySQL has no wsrep_on variable: no row.
      const [wsrep] = await conn.query("SHOW VARIABLES LIKE 'wsrep_on'");
      conn.release();
      const on = String((wsrep as RowDataPacket[])[0]?.Value ?? 'OFF').toUpperCase() === 'ON';
      return { version: String((rows as RowDataPacket[])[0]?.v ?? ''), galera: on };
    } catch (err) {
      conn.destroy();
      if (!isConnectionError(err) || attempt >= hosts.hosts.length) throw err;
      hosts.failed(host, err);
    }
  }
}

/** Connects (creating the database first when asked), checks the server, returns the store. */
export async function openMysqlStore(cfg: MysqlConfig, opts: { createDatabase?: boolean; log?: LogFn } = {}): Promise<SqlStore> {
  const hostList = cfg.hosts ?? [{ host: cfg.host, port: cfg.port }];
  if (opts.createDatabase) await createDatabase(cfg, hostList);
  const hosts = new HostPools(
    hostList,
    { ...connectionOptions(cfg), database: cfg.database, connectionLimit: cfg.connectionLimit ?? 10, maxIdle: 4, idleTimeout: 60_000, enableKeepAlive: true },
    setUpSession,
    opts.log,
  );
  let server: { version: string; galera: boolean };
  try {
    server = await serverInfo(hosts);
  } catch (err) {
    await hosts.end();
    throw mapMysqlError(err, hosts.where, cfg.database);
  }
  const dialect = makeDialect(supportsSkipLocked(server.version));
  return createSqlStore(new MysqlDriver(hosts, dialect, cfg.database, server.galera, cfg.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS));
}
