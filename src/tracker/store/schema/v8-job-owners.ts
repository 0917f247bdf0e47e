// Schema version 8. Jobs processes and their heartbeats (job_owners) and device task leases (job_tasks).
// Databases in use were made by exactly this DDL (its text too: SQLite keeps it): never edit
// it; a change is a new version.
import { MYSQL_TABLE, type Migration } from './migration.ts';

export const SCHEMA_V8: Migration = {
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
};
