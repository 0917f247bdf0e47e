// The MariaDB/MySQL driver: a mysql2/promise pool. Every unit of work runs on one pooled
// connection; writes inside START TRANSACTION/COMMIT, retried whole on deadlock, lock wait
// timeout and duplicate key (the retry re-runs the existence checks, which then answer properly).
// A connection that failed at the network level is destroyed, never handed back to the pool, so
// the pool reconnects by itself once the server is back.
import mysql from 'mysql2/promise';
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { isMogError, mogError, ErrorCodes } from '../../errors.ts';
import type { Dialect, Driver, Query, Row, RunResult, Work } from './driver.ts';
import { driveAsync, run } from './driver.ts';
import { createSqlStore, type SqlStore } from './sql-store.ts';

export interface MysqlConfig {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  connectionLimit?: number;
}

const CONNECT_TIMEOUT_MS = 5000;
const LOCK_WAIT_TIMEOUT_S = 10;
const MAX_ATTEMPTS = 5;
/** A lock wait timeout already cost LOCK_WAIT_TIMEOUT_S; one more try is the most worth waiting for. */
const MAX_LOCK_WAIT_ATTEMPTS = 2;

const ER_DUP_ENTRY = 1062;
const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_LOCK_DEADLOCK = 1213;
const ER_BAD_DB_ERROR = 1049;

/** Error codes that mean the connection or the server is gone, not that the query was wrong. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH',
  'EAI_AGAIN', 'ECONNABORTED', 'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN', 'ER_CON_COUNT_ERROR', 'ER_CONNECTION_KILLED', 'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR', 'ER_BAD_DB_ERROR', 'ER_NET_READ_INTERRUPTED', 'ER_NET_PACKETS_OUT_OF_ORDER',
  'ER_HOST_IS_BLOCKED', 'ER_TOO_MANY_USER_CONNECTIONS', 'ER_SERVER_GONE_ERROR',
]);

interface MysqlError {
  code?: string;
  errno?: number;
  fatal?: boolean;
  message?: string;
}

function isConnectionError(err: unknown): boolean {
  const e = err as MysqlError | undefined;
  if (!e || typeof e !== 'object') return false;
  return Boolean(e.fatal) || (e.code !== undefined && CONNECTION_CODES.has(e.code)) || /Pool is closed|closed state/.test(e.message ?? '');
}

function isRetryable(err: unknown, attempt: number): boolean {
  const errno = (err as MysqlError | undefined)?.errno;
  if (errno === ER_LOCK_WAIT_TIMEOUT) return attempt < MAX_LOCK_WAIT_ATTEMPTS;
  return (errno === ER_LOCK_DEADLOCK || errno === ER_DUP_ENTRY) && attempt < MAX_ATTEMPTS;
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
      // LAST_INSERT_ID(expr) hands the new value back in the OK packet: one round trip.
      const { insertId, changes } = yield* run('UPDATE counters SET v = LAST_INSERT_ID(v + 1) WHERE name = ?', name);
      if (changes !== 1) throw mogError(ErrorCodes.INTERNAL, `Counter ${name} is missing; was the schema migrated?`);
      return insertId;
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

  constructor(
    private readonly pool: Pool,
    readonly dialect: Dialect,
    private readonly where: string,
    private readonly database: string,
  ) {}

  private map(err: unknown): unknown {
    return mapMysqlError(err, this.where, this.database);
  }

  /** Runs `fn` on one pooled connection; a connection that failed at the network level is destroyed. */
  private async withConnection<T>(fn: (c: PoolConnection) => Promise<T>): Promise<T> {
    let conn: PoolConnection;
    try {
      conn = await this.pool.getConnection();
    } catch (err) {
      throw this.map(err);
    }
    try {
      const result = await fn(conn);
      conn.release();
      return result;
    } catch (err) {
      if (isConnectionError(err)) conn.destroy();
      else conn.release();
      throw err;
    }
  }

  private static async exec(conn: PoolConnection, q: Query): Promise<unknown> {
    const [res] = await conn.query(q.sql, q.params as unknown[]);
    if (q.op === 'run') {
      const h = res as ResultSetHeader;
      return { changes: h.affectedRows, insertId: Number(h.insertId) } satisfies RunResult;
    }
    const rows = res as RowDataPacket[];
    return q.op === 'get' ? (rows[0] as Row | undefined) : (rows as Row[]);
  }

  /**
   * Runs work without a transaction. A pooled connection can turn out dead on first use (the
   * server restarted, or killed it while idle): when that happens before anything was written,
   * the work is run once more on a fresh connection instead of failing.
   */
  private async plain<T>(work: () => Work<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let wrote = false;
      try {
        return await this.withConnection((conn) =>
          driveAsync(work(), (q) => {
            if (q.op === 'run') wrote = true;
            return MysqlDriver.exec(conn, q);
          }),
        );
      } catch (err) {
        if (attempt === 1 && !wrote && isConnectionError(err)) continue;
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
   * Runs work in a transaction. Retried whole on deadlock, lock wait timeout or duplicate key,
   * and once on a lost connection as long as COMMIT was not sent (the server rolls back the rest).
   */
  async write<T>(work: () => Work<T>): Promise<T> {
    let connectionRetries = 0;
    for (let attempt = 1; ; attempt++) {
      let committing = false;
      try {
        return await this.withConnection(async (conn) => {
          await conn.query('START TRANSACTION');
          try {
            const result = await driveAsync(work(), (q) => MysqlDriver.exec(conn, q));
            committing = true;
            await conn.query('COMMIT');
            return result;
          } catch (err) {
            if (!isConnectionError(err)) await conn.query('ROLLBACK').catch(() => undefined);
            throw err;
          }
        });
      } catch (err) {
        if (isRetryable(err, attempt)) {
          await sleep(Math.random() * 5 * attempt); // spread the retries of colliding transactions
          continue;
        }
        if (!committing && connectionRetries++ === 0 && isConnectionError(err)) continue;
        throw this.map(err);
      }
    }
  }

  async migrate<T>(work: () => Work<T>): Promise<T> {
    try {
      return await this.withConnection(async (conn) => {
        // DDL is not transactional in MySQL: a named lock keeps two processes from migrating at once.
        const lockName = `mogftp_migrate:${this.database}`;
        const [rows] = await conn.query('SELECT GET_LOCK(?, 60) AS got', [lockName]);
        if (Number((rows as RowDataPacket[])[0]?.got) !== 1)
          throw mogError(ErrorCodes.DB_UNAVAILABLE, `Another process kept the schema migration lock of ${this.database} for over 60 s`);
        try {
          return await driveAsync(work(), (q) => MysqlDriver.exec(conn, q));
        } finally {
          await conn.query('SELECT RELEASE_LOCK(?)', [lockName]).catch(() => undefined);
        }
      });
    } catch (err) {
      throw this.map(err);
    }
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

function connectionOptions(cfg: MysqlConfig) {
  return {
    host: cfg.host,
    port: cfg.port,
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

/** Connects (creating the database first when asked), checks the server, returns the store. */
export async function openMysqlStore(cfg: MysqlConfig, opts: { createDatabase?: boolean } = {}): Promise<SqlStore> {
  const where = `${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${cfg.port}`;
  if (opts.createDatabase) {
    let conn: mysql.Connection | undefined;
    try {
      conn = await mysql.createConnection(connectionOptions(cfg));
      // The name was checked to be [A-Za-z0-9_$-] when the URL was parsed.
      await conn.query(`CREATE DATABASE IF NOT EXISTS \`${cfg.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    } catch (err) {
      throw mapMysqlError(err, where, cfg.database);
    } finally {
      await conn?.end().catch(() => undefined);
    }
  }
  const pool = mysql.createPool({
    ...connectionOptions(cfg),
    database: cfg.database,
    connectionLimit: cfg.connectionLimit ?? 10,
    maxIdle: 4,
    idleTimeout: 60_000,
    enableKeepAlive: true,
  });
  // Session settings for every new connection (queued before any query of ours on it).
  // READ COMMITTED: locking reads see the latest commits and InnoDB takes no gap locks, so fewer deadlocks.
  // An explicit sql_mode: strict, and without NO_BACKSLASH_ESCAPES, which mysql2's escaping relies on.
  pool.pool.on('connection', (conn) => {
    const ignore = () => undefined;
    conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', ignore);
    conn.query(`SET SESSION innodb_lock_wait_timeout = ${LOCK_WAIT_TIMEOUT_S}`, ignore);
    conn.query(`SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'`, ignore);
  });
  let version: string;
  try {
    const [rows] = await pool.query('SELECT VERSION() AS v');
    version = String((rows as RowDataPacket[])[0]?.v ?? '');
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw mapMysqlError(err, where, cfg.database);
  }
  return createSqlStore(new MysqlDriver(pool, makeDialect(supportsSkipLocked(version)), where, cfg.database));
}
