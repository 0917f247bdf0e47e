// Schema version 4. Login attempts per client address (the login throttle every front-end shares).
// Databases in use were made by exactly this DDL (its text too: SQLite keeps it): never edit
// it; a change is a new version.
import { MYSQL_TABLE, type Migration } from './migration.ts';

export const SCHEMA_V4: Migration = {
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
};
