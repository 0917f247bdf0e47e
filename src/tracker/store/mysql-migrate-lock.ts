// The lock that keeps two processes from migrating one MySQL/MariaDB schema at the same time
// (DDL is not transactional there). It used to be GET_LOCK, which lives in one server's memory:
// on a Galera cluster two `mogftp admin init` run against two nodes would both have got it. A
// row is replicated like any other, and two nodes inserting it at once are told apart by
// Galera's certification (the loser gets a deadlock error), so the lock is a row in a table of
// its own, outside the versioned schema (like schema_version, it must exist before any version).
//
// A holder that dies keeps the row until it expires (LEASE_MS): a migration is short, and the
// message tells the operator the row to delete when they know the holder is gone.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { ErrorCodes, mogError } from '../../errors.ts';

const LOCK_NAME = 'migrate';
const WAIT_MS = 60_000;
const LEASE_MS = 10 * 60_000;
/** Lost a race for the row: duplicate key, deadlock (Galera certification), lock wait timeout. */
const LOST_RACE = new Set([1062, 1213, 1205]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` holding the schema migration lock of the connection's database. */
export async function withMigrationLock<T>(conn: PoolConnection, database: string, fn: () => Promise<T>): Promise<T> {
  await conn.query(
    `CREATE TABLE IF NOT EXISTS schema_lock (
       name VARCHAR(32) NOT NULL PRIMARY KEY, holder VARCHAR(255) NOT NULL, expires_at BIGINT NOT NULL
     ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  );
  const holder = `${hostname()} pid ${process.pid} ${randomBytes(4).toString('hex')}`.slice(0, 255);
  const deadline = Date.now() + WAIT_MS;
  while (!(await tryTake(conn, holder))) {
    if (Date.now() > deadline) {
      const [rows] = await conn.query('SELECT holder, expires_at FROM schema_lock WHERE name = ?', [LOCK_NAME]);
      const cur = (rows as RowDataPacket[])[0];
      throw mogError(
        ErrorCodes.DB_UNAVAILABLE,
        `Another process (${String(cur?.holder ?? 'gone by now')}) kept the schema migration lock of ${database} for over ${WAIT_MS / 1000} s` +
          (cur ? `; it expires at ${new Date(Number(cur.expires_at)).toISOString()}, or delete it (DELETE FROM schema_lock) if that process is gone` : ''),
      );
    }
    await sleep(150 + Math.random() * 250);
  }
  try {
    return await fn();
  } finally {
    await conn.query('DELETE FROM schema_lock WHERE name = ? AND holder = ?', [LOCK_NAME, holder]).catch(() => undefined);
  }
}

/** One attempt: an expired row is cleared, then the row is inserted unless someone holds it. */
async function tryTake(conn: PoolConnection, holder: string): Promise<boolean> {
  const now = Date.now();
  try {
    await conn.query('DELETE FROM schema_lock WHERE name = ? AND expires_at < ?', [LOCK_NAME, now]);
    const [res] = await conn.query('INSERT IGNORE INTO schema_lock (name, holder, expires_at) VALUES (?, ?, ?)', [LOCK_NAME, holder, now + LEASE_MS]);
    return (res as ResultSetHeader).affectedRows === 1;
  } catch (err) {
    if (LOST_RACE.has(Number((err as { errno?: number }).errno))) return false;
    throw err;
  }
}
