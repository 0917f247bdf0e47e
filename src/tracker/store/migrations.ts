// The versioned schema, one list of steps per dialect. A step is applied once, in order, and
// recorded in `schema_version`; a database newer than this code is refused rather than guessed at.
//
// Choices that hold across both dialects:
// - Names that must be unique and byte-exact (namespace entries, domains, classes, hosts, users,
//   setting keys) are VARBINARY on MariaDB/MySQL: utf8mb4_bin is a PAD SPACE collation there, so
//   'a' and 'a ' would collide in a unique index and sort as equals. VARBINARY compares and sorts
//   bytes, exactly like SQLite's default BINARY collation on UTF-8 text.
// - Times are integer milliseconds; sizes and fids are 64-bit.
// - No foreign keys: the root directory (parent 0) has no row, and the store checks references
//   itself, under the row locks its transactions take.
import { mogError, ErrorCodes } from '../../errors.ts';
import type { Driver, Work } from './driver.ts';
import { get, run } from './driver.ts';

export interface Migration {
  version: number;
  description: string;
  sqlite: string[];
  mysql: string[];
}

const MYSQL_TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'domains, classes, files, replicas, hosts, devices, namespace, uploads, queues, users, settings',
    sqlite: [
      `CREATE TABLE domains (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         name TEXT NOT NULL UNIQUE)`,
      `CREATE TABLE classes (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         domain_id INTEGER NOT NULL,
         name TEXT NOT NULL,
         mindevcount INTEGER NOT NULL CHECK (mindevcount >= 1),
         write_quorum INTEGER NOT NULL CHECK (write_quorum >= 1 AND write_quorum <= mindevcount),
         checksum TEXT NOT NULL CHECK (checksum IN ('sha256', 'md5', 'none')),
         UNIQUE (domain_id, name))`,
      `CREATE TABLE files (
         fid INTEGER PRIMARY KEY,
         domain_id INTEGER NOT NULL,
         class_id INTEGER NOT NULL,
         length INTEGER NOT NULL,
         checksum TEXT,
         checksum_alg TEXT NOT NULL,
         devcount INTEGER NOT NULL DEFAULT 0,
         created_at INTEGER NOT NULL)`,
      `CREATE INDEX files_class ON files (class_id)`,
      `CREATE INDEX files_domain ON files (domain_id)`,
      `CREATE TABLE replicas (
         fid INTEGER NOT NULL,
         devid INTEGER NOT NULL,
         PRIMARY KEY (fid, devid)) WITHOUT ROWID`,
      `CREATE INDEX replicas_devid ON replicas (devid, fid)`,
      `CREATE TABLE hosts (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         name TEXT NOT NULL UNIQUE,
         address TEXT NOT NULL,
         http_port INTEGER NOT NULL,
         status TEXT NOT NULL)`,
      `CREATE TABLE devices (
         devid INTEGER PRIMARY KEY,
         host_id INTEGER NOT NULL,
         status TEXT NOT NULL,
         weight INTEGER NOT NULL,
         mb_total INTEGER,
         mb_used INTEGER,
         observed TEXT NOT NULL DEFAULT 'unknown',
         observed_at INTEGER,
         observed_since INTEGER)`,
      `CREATE INDEX devices_host ON devices (host_id)`,
      // Tombstones: a removed device's devid is never handed out again.
      `CREATE TABLE retired_devids (
         devid INTEGER PRIMARY KEY,
         retired_at INTEGER NOT NULL)`,
      `CREATE TABLE entries (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         domain_id INTEGER NOT NULL,
         parent_id INTEGER NOT NULL,
         name TEXT NOT NULL,
         kind TEXT NOT NULL CHECK (kind IN ('file', 'dir')),
         fid INTEGER,
         size INTEGER NOT NULL DEFAULT 0,
         mtime INTEGER NOT NULL,
         mode INTEGER NOT NULL,
         UNIQUE (domain_id, parent_id, name))`,
      `CREATE TABLE reservations (
         fid INTEGER PRIMARY KEY,
         domain_id INTEGER NOT NULL,
         class_id INTEGER NOT NULL,
         devids TEXT NOT NULL,
         created_at INTEGER NOT NULL)`,
      `CREATE INDEX reservations_created ON reservations (created_at)`,
      `CREATE TABLE queue (
         queue TEXT NOT NULL,
         fid INTEGER NOT NULL,
         devids TEXT NOT NULL,
         nexttry INTEGER NOT NULL,
         failcount INTEGER NOT NULL DEFAULT 0,
         lease_owner TEXT,
         lease_until INTEGER,
         PRIMARY KEY (queue, fid)) WITHOUT ROWID`,
      `CREATE INDEX queue_due ON queue (queue, nexttry)`,
      `CREATE TABLE users (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         name TEXT NOT NULL UNIQUE,
         password_hash TEXT NOT NULL,
         domain_id INTEGER NOT NULL,
         home_dir TEXT NOT NULL,
         read_only INTEGER NOT NULL DEFAULT 0,
         quota_bytes INTEGER)`,
      `CREATE INDEX users_domain ON users (domain_id)`,
      `CREATE TABLE settings (
         key TEXT PRIMARY KEY,
         value TEXT NOT NULL) WITHOUT ROWID`,
      // Monotonic counters for fids and devids: never reused, even when the highest row is deleted.
      `CREATE TABLE counters (
         name TEXT PRIMARY KEY,
         v INTEGER NOT NULL) WITHOUT ROWID`,
      `INSERT INTO counters (name, v) VALUES ('fid', 0), ('devid', 0)`,
    ],
    mysql: [
      `CREATE TABLE IF NOT EXISTS domains (
         id INT UNSIGNED NOT NULL AUTO_INCREMENT,
         name VARBINARY(255) NOT NULL,
         PRIMARY KEY (id),
         UNIQUE KEY domains_name (name)) ${MYSQL_TABLE}`,
      `CREATE TABLE IF NOT EXISTS classes (
         id INT UNSIGNED NOT NULL AUTO_INCREMENT,
         domain_id INT UNSIGNED NOT NULL,
         name VARBINARY(255) NOT NULL,
         mindevcount SMALLINT UNSIGNED NOT NULL,
         write_quorum SMALLINT UNSIGNED NOT NULL,
         checksum VARCHAR(8) NOT NULL,
         PRIMARY KEY (id),
         UNIQUE KEY classes_name (domain_id, name),
         CONSTRAINT classes_counts CHECK (mindevcount >= 1 AND write_quorum >= 1 AND write_quorum <= mindevcount),
         CONSTRAINT classes_checksum CHECK (checksum IN ('sha256', 'md5', 'none'))) ${MYSQL_TABLE}`,
      `CREATE TABLE IF NOT EXISTS files (
         fid BIGINT UNSIGNED NOT NULL,
         domain_id INT UNSIGNED NOT NULL,
         class_id INT UNSIGNED NOT NULL,
         length BIGINT UNSIGNED NOT NULL,
         checksum VARCHAR(128) NULL,
         checksum_alg VARCHAR(8) NOT NULL,
         devcount SMALLINT UNSIGNED NOT NULL DEFAULT 0,
         created_at BIGINT NOT NULL,
         PRIMARY KEY (fid),
         KEY files_class (class_id),
         KEY files_domain (domain_id)) ${MYSQL_TABLE}`,
      `CREATE TABLE IF NOT EXISTS replicas (
         fid BIGINT UNSIGNED NOT NULL,
         devid INT UNSIGNED NOT NULL,
         PRIMARY KEY (fid, devid),
         KEY replicas_devid (devid, fid)) ${MYSQL_TABLE}`,
      `CREATE TABLE IF NOT EXISTS hosts (
         id INT UNSIGNED NOT NULL AUTO_INCREMENT,
         name VARBINARY(255) NOT NULL,
         address VARCHAR(255) NOT NULL,
         http_port INT UNSIGNED NOT NULL,
         status VARCHAR(8) NOT NULL,
         PRIMARY KEY (id),
         UNIQUE KEY hosts_name (name)) ${MYSQL_TABLE}`,
      `CREATE TABLE IF NOT EXISTS devices (
         devid INT UNSIGNED NOT NULL,
         host_id INT UNSIGNED NOT NULL,
         status VARCHAR(8) NOT NULL,
         weight INT UNSIGNED NOT NULL,
         mb_total BIGINT UNSIGNED NULL,
         mb_used BIGINT UNSIGNED NULL,
         observed VARCHAR(16) NOT NULL DEFAULT 'unknown',
         observed_at BIGINT NULL,
         observed_since BIGINT NULL,
         PRIMARY KEY (devid),
         KEY devices_host (host_id)) ${MYSQL_TABLE}`,
      `CREATE TABLE IF NOT EXISTS retired_devids (
         devid INT UNSIGNED NOT NULL,
         retired_at BIGINT NOT NULL,
         PRIMARY KEY (devid)) ${MYSQL_TABLE}`,
      `CREATE TABLE IF NOT EXISTS entries (
         id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
         domain_id INT UNSIGNED NOT NULL,
         parent_id BIGINT UNSIGNED NOT NULL,
         name VARBINARY(255) NOT NULL,
         kind VARCHAR(4) NOT NULL,
         fid BIGINT UNSIGNED NULL,
         size BIGINT UNSIGNED NOT NULL DEFAULT 0,
         mtime BIGINT NOT NULL,
         mode INT UNSIGNED NOT NULL,
         PRIMARY KEY (id),
         UNIQUE KEY entries_path (domain_id, parent_id, name),
         CONSTRAINT entries_kind CHECK (kind IN ('file', 'dir'))) ${MYSQL_TABLE}`,
      `CREATE TABLE IF NOT EXISTS reservations (
         fid BIGINT UNSIGNED NOT NULL,
         domain_id INT UNSIGNED NOT NULL,
         class_id INT UNSIGNED NOT NULL,
         devids VARCHAR(4096) NOT NULL,
         created_at BIGINT NOT NULL,
         PRIMARY KEY (fid),
         KEY reservations_created (created_at)) ${MYSQL_TABLE}`,
      `CREATE TABLE IF NOT EXISTS queue (
         queue VARCHAR(16) NOT NULL,
         fid BIGINT UNSIGNED NOT NULL,
         devids VARCHAR(4096) NOT NULL,
         nexttry BIGINT NOT NULL,
         failcount INT UNSIGNED NOT NULL DEFAULT 0,
         lease_owner VARCHAR(255) NULL,
         lease_until BIGINT NULL,
         PRIMARY KEY (queue, fid),
         KEY queue_due (queue, nexttry)) ${MYSQL_TABLE}`,
      `CREATE TABLE IF NOT EXISTS users (
         id INT UNSIGNED NOT NULL AUTO_INCREMENT,
         name VARBINARY(255) NOT NULL,
         password_hash VARCHAR(512) NOT NULL,
         domain_id INT UNSIGNED NOT NULL,
         home_dir TEXT NOT NULL,
         read_only TINYINT(1) NOT NULL DEFAULT 0,
         quota_bytes BIGINT UNSIGNED NULL,
         PRIMARY KEY (id),
         UNIQUE KEY users_name (name),
         KEY users_domain (domain_id)) ${MYSQL_TABLE}`,
      `CREATE TABLE IF NOT EXISTS settings (
         \`key\` VARBINARY(255) NOT NULL,
         value MEDIUMTEXT NOT NULL,
         PRIMARY KEY (\`key\`)) ${MYSQL_TABLE}`,
      `CREATE TABLE IF NOT EXISTS counters (
         name VARCHAR(16) NOT NULL,
         v BIGINT UNSIGNED NOT NULL,
         PRIMARY KEY (name)) ${MYSQL_TABLE}`,
      `INSERT IGNORE INTO counters (name, v) VALUES ('fid', 0), ('devid', 0)`,
    ],
  },
  {
    version: 2,
    description: 'WebDAV dead properties and locks, shared by every dav front-end',
    sqlite: [
      // Keyed by entry id, so properties follow a MOVE (a rename keeps the id) and never
      // reattach to a new file that reuses a deleted one's name.
      `CREATE TABLE dav_props (
         domain_id INTEGER NOT NULL,
         entry_id INTEGER NOT NULL,
         ns TEXT NOT NULL,
         name TEXT NOT NULL,
         value TEXT NOT NULL,
         PRIMARY KEY (domain_id, entry_id, ns, name)) WITHOUT ROWID`,
      // Locks name paths, not entries: RFC 4918 lets a client lock a URL that maps to nothing yet.
      `CREATE TABLE dav_locks (
         token TEXT PRIMARY KEY,
         domain_id INTEGER NOT NULL,
         path TEXT NOT NULL,
         depth TEXT NOT NULL CHECK (depth IN ('0', 'infinity')),
         scope TEXT NOT NULL CHECK (scope IN ('exclusive', 'shared')),
         owner TEXT,
         principal TEXT NOT NULL,
         timeout_ms INTEGER NOT NULL,
         expires_at INTEGER NOT NULL) WITHOUT ROWID`,
      `CREATE INDEX dav_locks_path ON dav_locks (domain_id, path)`,
      `CREATE INDEX dav_locks_expiry ON dav_locks (expires_at)`,
    ],
    mysql: [
      `CREATE TABLE IF NOT EXISTS dav_props (
         domain_id INT UNSIGNED NOT NULL,
         entry_id BIGINT UNSIGNED NOT NULL,
         ns VARBINARY(1024) NOT NULL,
         name VARBINARY(255) NOT NULL,
         value MEDIUMTEXT NOT NULL,
         PRIMARY KEY (domain_id, entry_id, ns, name)) ${MYSQL_TABLE}`,
      `CREATE TABLE IF NOT EXISTS dav_locks (
         token VARCHAR(255) NOT NULL,
         domain_id INT UNSIGNED NOT NULL,
         path VARBINARY(8192) NOT NULL,
         depth VARCHAR(8) NOT NULL,
         scope VARCHAR(9) NOT NULL,
         owner MEDIUMTEXT NULL,
         principal VARBINARY(255) NOT NULL,
         timeout_ms BIGINT UNSIGNED NOT NULL,
         expires_at BIGINT NOT NULL,
         PRIMARY KEY (token),
         KEY dav_locks_path (domain_id, path(512)),
         KEY dav_locks_expiry (expires_at),
         CONSTRAINT dav_locks_depth CHECK (depth IN ('0', 'infinity')),
         CONSTRAINT dav_locks_scope CHECK (scope IN ('exclusive', 'shared'))) ${MYSQL_TABLE}`,
    ],
  },
  {
    version: 3,
    description: 'fsck event log; queue items re-requested while leased survive their completion',
    sqlite: [
      `CREATE TABLE fsck_log (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         at INTEGER NOT NULL,
         fid INTEGER NOT NULL,
         devid INTEGER,
         code TEXT NOT NULL,
         detail TEXT NOT NULL)`,
      `CREATE INDEX fsck_log_fid ON fsck_log (fid)`,
      // Set by enqueue on a leased item: complete() then releases the item instead of deleting it.
      `ALTER TABLE queue ADD COLUMN requeued INTEGER NOT NULL DEFAULT 0`,
    ],
    mysql: [
      `CREATE TABLE IF NOT EXISTS fsck_log (
         id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
         at BIGINT NOT NULL,
         fid BIGINT UNSIGNED NOT NULL,
         devid INT UNSIGNED NULL,
         code VARCHAR(8) NOT NULL,
         detail TEXT NOT NULL,
         PRIMARY KEY (id),
         KEY fsck_log_fid (fid)) ${MYSQL_TABLE}`,
      // Last, so a failure before it leaves nothing that a re-run would trip over.
      `ALTER TABLE queue ADD COLUMN requeued TINYINT UNSIGNED NOT NULL DEFAULT 0`,
    ],
  },
  {
    version: 4,
    description: 'login attempts per client address, shared by every front-end (the login throttle)',
    sqlite: [
      `CREATE TABLE login_attempts (
         address TEXT PRIMARY KEY,
         window_start INTEGER NOT NULL,
         attempts INTEGER NOT NULL,
         banned_until INTEGER NOT NULL DEFAULT 0)`,
      `CREATE INDEX login_attempts_age ON login_attempts (window_start)`,
    ],
    mysql: [
      `CREATE TABLE IF NOT EXISTS login_attempts (
         address VARBINARY(64) NOT NULL,
         window_start BIGINT NOT NULL,
         attempts INT UNSIGNED NOT NULL,
         banned_until BIGINT NOT NULL DEFAULT 0,
         PRIMARY KEY (address),
         KEY login_attempts_age (window_start)) ${MYSQL_TABLE}`,
    ],
  },
  {
    version: 5,
    description:
      'quotas as reservations: an upload reservation records the user it is charged to, the bytes it holds, the file it replaces and its lease; entries get an index that covers the usage walk',
    sqlite: [
      // Covers the quota's usage walk (store/quota.ts): children by parent, their kind and size,
      // read from the index alone (100 000 files in 100 directories, loaded 2-core machine: a check
      // took 0.29 s on SQLite and 1.1 s on MariaDB without it, 0.03 s and 0.13 s with it).
      `CREATE INDEX entries_usage ON entries (domain_id, parent_id, kind, size)`,
      // user_id NULL: not charged to anyone (jobs, uploads reserved before this version).
      `ALTER TABLE reservations ADD COLUMN user_id INTEGER`,
      // The home directory the user's usage is counted under, as the user's session resolved it.
      `ALTER TABLE reservations ADD COLUMN home_id INTEGER`,
      `ALTER TABLE reservations ADD COLUMN quota_reserved INTEGER NOT NULL DEFAULT 0`,
      // The file entry the upload replaces; its size is credited to one live overwrite at a time.
      `ALTER TABLE reservations ADD COLUMN quota_credit_entry INTEGER`,
      // The reservation stops counting against the quota after this (its front-end died).
      `ALTER TABLE reservations ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0`,
      `CREATE INDEX reservations_user ON reservations (user_id, fid)`,
    ],
    mysql: [
      // InnoDB builds it online: readers and writers go on while a large entries table is indexed.
      `ALTER TABLE entries ADD KEY entries_usage (domain_id, parent_id, kind, size)`,
      // Last, and one statement (applied whole or not at all): a failure here leaves only the
      // index above in place (drop it before re-running: MySQL 8 has no ADD KEY IF NOT EXISTS).
      `ALTER TABLE reservations
         ADD COLUMN user_id INT UNSIGNED NULL,
         ADD COLUMN home_id BIGINT UNSIGNED NULL,
         ADD COLUMN quota_reserved BIGINT UNSIGNED NOT NULL DEFAULT 0,
         ADD COLUMN quota_credit_entry BIGINT UNSIGNED NULL,
         ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0,
         ADD KEY reservations_user (user_id, fid)`,
    ],
  },
  {
    version: 6,
    description: 'bad replicas: a copy a read found damaged (checksum or length) is marked, so reads skip it and fsck re-checks it',
    sqlite: [
      `CREATE TABLE bad_replicas (
         fid INTEGER NOT NULL,
         devid INTEGER NOT NULL,
         found_at INTEGER NOT NULL,
         reason TEXT NOT NULL,
         PRIMARY KEY (fid, devid)) WITHOUT ROWID`,
    ],
    mysql: [
      `CREATE TABLE bad_replicas (
         fid BIGINT UNSIGNED NOT NULL,
         devid INT UNSIGNED NOT NULL,
         found_at BIGINT NOT NULL,
         reason VARCHAR(255) NOT NULL,
         PRIMARY KEY (fid, devid)) ${MYSQL_TABLE}`,
    ],
  },
  {
    version: 7,
    description: 'a class on a directory: files created under it get the class of their nearest ancestor that has one',
    sqlite: [
      // NULL: the directory inherits (from its parent, up to the domain's "default" class).
      `ALTER TABLE entries ADD COLUMN class_id INTEGER`,
      // Only the few directories with a class are indexed (list-classes, removeClass's check).
      `CREATE INDEX entries_class ON entries (class_id) WHERE class_id IS NOT NULL`,
    ],
    mysql: [
      // One statement, applied whole or not at all; InnoDB builds it online (reads and writes go on).
      `ALTER TABLE entries
         ADD COLUMN class_id INT UNSIGNED NULL,
         ADD KEY entries_class (class_id)`,
    ],
  },
  {
    version: 8,
    description: 'jobs processes heartbeat (job_owners), so the leases of a dead one are taken over in seconds; device task leases (job_tasks) keep one runner per device sweep',
    sqlite: [
      `CREATE TABLE job_owners (
         owner TEXT PRIMARY KEY,
         hostname TEXT NOT NULL,
         pid_space TEXT NOT NULL,
         pid INTEGER NOT NULL,
         started_at INTEGER NOT NULL,
         heartbeat_at INTEGER NOT NULL) WITHOUT ROWID`,
      `CREATE TABLE job_tasks (
         task TEXT PRIMARY KEY,
         owner TEXT NOT NULL,
         lease_until INTEGER NOT NULL) WITHOUT ROWID`,
      // A dead owner's leases are released by owner (releaseOwner): without it, a scan of the queue.
      `CREATE INDEX queue_lease_owner ON queue (lease_owner)`,
    ],
    mysql: [
      `CREATE TABLE IF NOT EXISTS job_owners (
         owner VARCHAR(255) NOT NULL,
         hostname VARCHAR(255) NOT NULL,
         pid_space VARCHAR(255) NOT NULL,
         pid INT UNSIGNED NOT NULL,
         started_at BIGINT NOT NULL,
         heartbeat_at BIGINT NOT NULL,
         PRIMARY KEY (owner)) ${MYSQL_TABLE}`,
      `CREATE TABLE IF NOT EXISTS job_tasks (
         task VARCHAR(255) NOT NULL,
         owner VARCHAR(255) NOT NULL,
         lease_until BIGINT NOT NULL,
         PRIMARY KEY (task)) ${MYSQL_TABLE}`,
      // Last: a failure before it leaves only tables a re-run creates IF NOT EXISTS.
      `ALTER TABLE queue ADD KEY queue_lease_owner (lease_owner)`,
    ],
  },
];

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
