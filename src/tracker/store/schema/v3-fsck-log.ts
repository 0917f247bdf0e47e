// Schema version 3. The fsck event log, and the queue flag that keeps an item re-requested while it was leased.
// Databases in use were made by exactly this DDL (its text too: SQLite keeps it): never edit
// it; a change is a new version.
import { MYSQL_TABLE, type Migration } from './migration.ts';

export const SCHEMA_V3: Migration = {
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
};
