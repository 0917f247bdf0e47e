// Schema version 6. Bad replicas: copies a read found damaged, until fsck has looked at them.
// Databases in use were made by exactly this DDL (its text too: SQLite keeps it): never edit
// it; a change is a new version.
import { MYSQL_TABLE, type Migration } from './migration.ts';

export const SCHEMA_V6: Migration = {
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
};
