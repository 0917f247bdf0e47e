// The versioned schema: a step is applied once, in order, and recorded in `schema_version`; a
// database newer than this code is refused rather than guessed at. Each version's DDL is a module
// of its own under schema/ (what the dialects share is said in schema/migration.ts).
import { mogError, ErrorCodes } from '../../errors.ts';
import type { Driver, Work } from './driver.ts';
import { get, run } from './driver.ts';
import { MYSQL_TABLE, type Migration } from './schema/migration.ts';
import { SCHEMA_V1 } from './schema/v1-core.ts';
import { SCHEMA_V2 } from './schema/v2-dav.ts';
import { SCHEMA_V3 } from './schema/v3-fsck-log.ts';
import { SCHEMA_V4 } from './schema/v4-login-attempts.ts';
import { SCHEMA_V5 } from './schema/v5-quota-reservations.ts';
import { SCHEMA_V6 } from './schema/v6-bad-replicas.ts';
import { SCHEMA_V7 } from './schema/v7-dir-classes.ts';
import { SCHEMA_V8 } from './schema/v8-job-owners.ts';
import { SCHEMA_V9 } from './schema/v9-user-keys.ts';
import { SCHEMA_V10 } from './schema/v10-login-pending.ts';

export const MIGRATIONS: readonly Migration[] = [SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7, SCHEMA_V8, SCHEMA_V9, SCHEMA_V10];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

function versionTableExistsSql(kind: 'sqlite' | 'mysql'): string {
  return kind === 'sqlite'
    ? `SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'`
    : `SELECT 1 AS x FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'schema_version'`;
}

/** The schema version in place, 0 for an empty database. */
export function* schemaVersionWork(kind: 'sqlite' | 'mysql'): Work<number> {
  if (!(yield* get(versionTableExistsSql(kind)))) return 0;
  const row = yield* get('SELECT MAX(version) AS v FROM schema_version');
  return row?.v == null ? 0 : Number(row.v);
}

function* migrateWork(kind: 'sqlite' | 'mysql', migrations: readonly Migration[]): Work<number> {
  const latest = migrations.length ? migrations[migrations.length - 1]!.version : 0;
  let version = yield* schemaVersionWork(kind);
  if (version > latest) {
    throw mogError(
      ErrorCodes.SCHEMA_TOO_NEW,
      `The database schema is version ${version}, newer than this mogftp understands (${latest}); upgrade mogftp before using this database`,
    );
  }
  if (version === latest) return version;
  yield* run(
    kind === 'sqlite'
      ? 'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)'
      : `CREATE TABLE IF NOT EXISTS schema_version (version INT UNSIGNED NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL) ${MYSQL_TABLE}`,
  );
  for (const m of migrations) {
    if (m.version <= version) continue;
    for (const sql of m[kind]) yield* run(sql);
    yield* run('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)', m.version, Date.now());
    version = m.version;
  }
  return version;
}

/**
 * Brings the schema up to the last of `migrations` (tests pass a longer list to stage a newer
 * schema). Idempotent; safe when several processes start at once: the driver runs this under a
 * lock (one IMMEDIATE transaction on SQLite, where DDL is transactional; a named lock on MySQL).
 */
export function runMigrations(driver: Driver, migrations: readonly Migration[] = MIGRATIONS): Promise<number> {
  return driver.migrate(() => migrateWork(driver.kind, migrations));
}
