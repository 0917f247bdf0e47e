// The seam between the store's logic (the role modules beside this one, written once) and the two databases.
// Each operation is a generator that yields SQL statements and receives their results; a driver
// runs it synchronously inside a better-sqlite3 transaction or asynchronously on a mysql2
// connection. One body of logic therefore gives both stores the same semantics.

/** 'counter' (params: [name]) is yielded only by the MySQL dialect's bumpCounter; its driver answers it. */
type QueryOp = 'get' | 'all' | 'run' | 'counter';

export interface Query {
  op: QueryOp;
  sql: string;
  params: readonly unknown[];
}

export interface RunResult {
  /** Rows matched (MySQL with FOUND_ROWS, which mysql2 sets) or changed (SQLite). */
  changes: number;
  /** The auto-increment id of an INSERT, or LAST_INSERT_ID(expr) on MySQL. */
  insertId: number;
}

export type Row = Record<string, unknown>;

/** A unit of work: yields statements, returns the operation's result. */
export type Work<T> = Generator<Query, T, unknown>;

export function* get<R extends Row = Row>(sql: string, ...params: unknown[]): Work<R | undefined> {
  return (yield { op: 'get', sql, params }) as R | undefined;
}

export function* all<R extends Row = Row>(sql: string, ...params: unknown[]): Work<R[]> {
  return (yield { op: 'all', sql, params }) as R[];
}

export function* run(sql: string, ...params: unknown[]): Work<RunResult> {
  return (yield { op: 'run', sql, params }) as RunResult;
}

/** The few places where the two SQL dialects differ. */
export interface Dialect {
  kind: 'sqlite' | 'mysql';
  /** Appended to a SELECT that must lock the rows it reads until commit. */
  forUpdate: string;
  /** Appended to a SELECT that must keep the rows it reads from changing until commit. */
  forShare: string;
  /** Appended to the queue claim's SELECT so concurrent claimers pass each other by. */
  forUpdateSkipLocked: string;
  /** 'INSERT IGNORE' or 'INSERT OR IGNORE'. */
  insertIgnore: string;
  /** Increments a row of `counters` and returns the new value. */
  bumpCounter(name: string): Work<number>;
}

export interface WriteOptions {
  /**
   * Asked when the connection was lost while COMMIT was under way (the change may or may not be
   * in): true when the transaction's effect is found in the database, which then counts as
   * committed. Without it such a write fails with DB_UNAVAILABLE, as it may not have happened.
   */
  committed?: () => Work<boolean>;
}

/** How a driver runs work. */
export interface Driver {
  readonly kind: 'sqlite' | 'mysql';
  readonly dialect: Dialect;
  /** Reads only; no write lock taken. */
  read<T>(work: () => Work<T>): Promise<T>;
  /** One transaction holding write locks; on MySQL retried whole on deadlock, hence a factory. */
  write<T>(work: () => Work<T>, opts?: WriteOptions): Promise<T>;
  /** No enclosing transaction: each statement commits on its own (used to keep locks short). */
  auto<T>(work: () => Work<T>): Promise<T>;
  /** Runs schema changes under a lock that keeps other processes from migrating at the same time. */
  migrate<T>(work: () => Work<T>): Promise<T>;
  close(): Promise<void>;
}

/** `(?, ?, ?)` for an IN list of n values (SQLite has no array expansion). */
export function placeholders(n: number): string {
  return '(' + new Array(n).fill('?').join(', ') + ')';
}

/** Drives `work` to completion with a synchronous executor (SQLite). */
export function driveSync<T>(work: Work<T>, exec: (q: Query) => unknown): T {
  let step = work.next();
  while (!step.done) step = work.next(exec(step.value));
  return step.value;
}

/** Drives `work` to completion with an asynchronous executor (MySQL). */
export async function driveAsync<T>(work: Work<T>, exec: (q: Query) => Promise<unknown>): Promise<T> {
  let step = work.next();
  while (!step.done) step = work.next(await exec(step.value));
  return step.value;
}
