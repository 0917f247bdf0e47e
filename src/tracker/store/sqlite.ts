// The SQLite driver: better-sqlite3, synchronous, one connection per process.
// Writes run inside BEGIN IMMEDIATE so the write lock is taken up front (a deferred transaction
// that upgrades later can fail with SQLITE_BUSY without waiting); other processes wait up to
// busy_timeout for it. Writes asked for together share one transaction and one fsync
// (sqlite-group.ts); reads run at once. Statements are prepared once and cached by their text.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { isMogError, mogError, ErrorCodes } from '../../errors.ts';
import type { Dialect, Driver, Query, Row, RunResult, Work } from './driver.ts';
import { driveSync, get } from './driver.ts';
import { num } from './rows.ts';
import { createSqlStore, type SqlStore } from './sql-store.ts';
import { GroupCommit } from './sqlite-group.ts';

const BUSY_TIMEOUT_MS = 5000;

const sqliteDialect: Dialect = {
  kind: 'sqlite',
  forUpdate: '',
  forShare: '',
  forUpdateSkipLocked: '',
  insertIgnore: 'INSERT OR IGNORE',
  *bumpCounter(name: string): Work<number> {
    const r = yield* get('UPDATE counters SET v = v + 1 WHERE name = ? RETURNING v', name);
    if (!r) throw mogError(ErrorCodes.INTERNAL, `Counter ${name} is missing; was the schema migrated?`);
    return num(r.v);
  },
};

/** Turns better-sqlite3 errors into the catalogue's codes. */
function mapSqliteError(err: unknown, location: string): unknown {
  if (isMogError(err)) return err;
  const code = (err as { code?: unknown })?.code;
  const msg = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string') {
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
      return mogError(ErrorCodes.EXISTS, 'Already exists', err);
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
      return mogError(ErrorCodes.DB_UNAVAILABLE, `The SQLite database ${location} stayed locked by another process for over ${BUSY_TIMEOUT_MS / 1000} s`, err);
    if (/^SQLITE_(IOERR|CANTOPEN|FULL|READONLY|CORRUPT|NOTADB|PERM)/.test(code))
      return mogError(ErrorCodes.DB_UNAVAILABLE, `The SQLite database ${location} is unusable: ${msg}`, err);
  }
  if (err instanceof TypeError && /database connection is not open/.test(msg))
    return mogError(ErrorCodes.DB_UNAVAILABLE, `The SQLite database ${location} is closed`, err);
  return mogError(ErrorCodes.INTERNAL, `SQLite error: ${msg}`, err);
}

class SqliteDriver implements Driver {
  readonly kind = 'sqlite' as const;
  readonly dialect = sqliteDialect;
  private readonly statements = new Map<string, Database.Statement>();
  /** One reusable transaction wrapper; its variants pick BEGIN DEFERRED or BEGIN IMMEDIATE. */
  private readonly txn: Database.Transaction<(fn: () => unknown) => unknown>;
  private readonly group: GroupCommit;

  constructor(
    private readonly db: Database.Database,
    private readonly location: string,
  ) {
    this.txn = db.transaction((fn: () => unknown) => fn());
    this.group = new GroupCommit(db, (err) => mapSqliteError(err, location));
  }

  private statement(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  private readonly exec = (q: Query): unknown => {
    const st = this.statement(q.sql);
    const params = q.params as unknown[];
    if (q.op === 'run') {
      const r = st.run(...params);
      return { changes: r.changes, insertId: Number(r.lastInsertRowid) } satisfies RunResult;
    }
    return q.op === 'get' ? (st.get(...params) as Row | undefined) : (st.all(...params) as Row[]);
  };

  private async inTxn<T>(mode: 'deferred' | 'immediate', work: () => Work<T>): Promise<T> {
    try {
      return this.txn[mode](() => driveSync(work(), this.exec)) as T;
    } catch (err) {
      throw mapSqliteError(err, this.location);
    }
  }

  read<T>(work: () => Work<T>): Promise<T> {
    return this.inTxn('deferred', work);
  }

  write<T>(work: () => Work<T>): Promise<T> {
    // Settles after the COMMIT that made it durable, possibly shared with other writes.
    return this.group.submit(() => driveSync(work(), this.exec));
  }

  auto<T>(work: () => Work<T>): Promise<T> {
    // One process-wide writer anyway: a short IMMEDIATE transaction, shared like write()'s.
    return this.group.submit(() => driveSync(work(), this.exec));
  }

  async migrate<T>(work: () => Work<T>): Promise<T> {
    // DDL is transactional in SQLite: a failed step leaves nothing behind. The cache is dropped
    // because statements prepared against the old schema are no use after it changed. Writes
    // already asked for go first, on the schema they were written for.
    this.group.drain();
    try {
      return await this.inTxn('immediate', work);
    } finally {
      this.statements.clear();
    }
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    // Writes already asked for are committed (and their promises settled), not dropped.
    this.group.drain();
    this.db.close();
  }
}

/** The driver on an opened connection (the tests open their own to set pragmas). */
export function sqliteDriver(db: Database.Database, location: string): Driver {
  return new SqliteDriver(db, location);
}

/**
 * Opens (and with createDatabase, creates) a SQLite database. `path` is absolute or ':memory:'.
 * Pragmas: WAL so readers never block the writer; synchronous=FULL because a 226 reply promises
 * durability and WAL+NORMAL may lose the last commits on power loss; busy_timeout 5 s.
 */
export async function openSqliteStore(path: string, opts: { createDatabase?: boolean } = {}): Promise<SqlStore> {
  const memory = path === ':memory:';
  const location = memory ? '(in memory)' : `at ${path}`;
  if (!memory) {
    if (opts.createDatabase) {
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch (err) {
        throw mogError(ErrorCodes.DB_UNAVAILABLE, `Cannot create the directory for the SQLite database ${location}: ${(err as Error).message}`, err);
      }
    } else if (!existsSync(path)) {
      throw mogError(ErrorCodes.DB_UNAVAILABLE, `There is no SQLite database ${location} (create it with the create-database option)`);
    }
  }
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: BUSY_TIMEOUT_MS, fileMustExist: !memory && !opts.createDatabase });
    if (!memory) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
  } catch (err) {
    throw mogError(ErrorCodes.DB_UNAVAILABLE, `Cannot open the SQLite database ${location}: ${(err as Error).message}`, err);
  }
  return createSqlStore(sqliteDriver(db, location));
}
