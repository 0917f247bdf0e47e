// Throwaway databases for tests: each call makes a fresh, uniquely named database (MariaDB at
// 127.0.0.1:3306 as root without password, or a SQLite file in a new temp dir) and a drop()
// that removes it. The database exists but has no schema: open it and call store.migrate().
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';

export interface TestDb {
  url: string;
  drop(): Promise<void>;
}

export const MYSQL_TEST_HOST = process.env.MOGFTP_TEST_MYSQL_HOST ?? '127.0.0.1';
export const MYSQL_TEST_PORT = Number(process.env.MOGFTP_TEST_MYSQL_PORT ?? 3306);

/** Root connection options for the test server (no database selected). */
export function mysqlAdminOptions(host = MYSQL_TEST_HOST, port = MYSQL_TEST_PORT) {
  return { host, port, user: 'root', password: '', connectTimeout: 5000 };
}

export interface MysqlTestDbOptions {
  /** The database is named <prefix>_<pid>_<random>. Default mogftp_test. */
  prefix?: string;
  /** The server (the benchmark has variables of its own). Default MYSQL_TEST_HOST:MYSQL_TEST_PORT. */
  host?: string;
  port?: number;
}

export async function createMysqlTestDb(o: MysqlTestDbOptions = {}): Promise<TestDb> {
  const host = o.host ?? MYSQL_TEST_HOST;
  const port = o.port ?? MYSQL_TEST_PORT;
  const name = `${o.prefix ?? 'mogftp_test'}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = await mysql.createConnection(mysqlAdminOptions(host, port));
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await admin.end();
  }
  let dropped = false;
  return {
    url: `mysql://root@${host}:${port}/${name}`,
    async drop() {
      if (dropped) return;
      dropped = true;
      const c = await mysql.createConnection(mysqlAdminOptions(host, port));
      try {
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await c.end();
      }
    },
  };
}

export async function createSqliteTestDb(): Promise<TestDb> {
  const dir = await mkdtemp(join(tmpdir(), 'mogftp-sqlite-'));
  const file = join(dir, 'meta.db');
  new Database(file).close(); // an empty database file, so the URL opens without createDatabase
  return {
    url: `sqlite:${file}`,
    async drop() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const storeBackends: Array<{ name: 'sqlite' | 'mysql'; create(): Promise<TestDb> }> = [
  { name: 'sqlite', create: createSqliteTestDb },
  { name: 'mysql', create: createMysqlTestDb },
];
