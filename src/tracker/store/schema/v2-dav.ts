// Schema version 2. WebDAV dead properties and locks, shared by every dav front-end.
// Databases in use were made by exactly this DDL (its text too: SQLite keeps it): never edit
// it; a change is a new version.
import { MYSQL_TABLE, type Migration } from './migration.ts';

export const SCHEMA_V2: Migration = {
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
};
