// Schema version 9. SSH public keys of users (user_keys), for the SFTP door's publickey logins.
// Databases in use were made by exactly this DDL (its text too: SQLite keeps it): never edit
// it; a change is a new version.
import { MYSQL_TABLE, type Migration } from './migration.ts';

// A key is found by its user and its SHA-256 fingerprint ('SHA256:' + 43 base64 characters):
// the primary key, so a login's look-up is one index probe and a user cannot hold a key twice.
// No foreign key (see migration.ts): removeUser deletes the user's keys in its own transaction.
export const SCHEMA_V9: Migration = {
  version: 9,
  description: "users' SSH public keys (user_keys: user, fingerprint, type, wire blob, comment, when added)",
  sqlite: [
    `CREATE TABLE user_keys (
         user_id INTEGER NOT NULL,
         fingerprint TEXT NOT NULL,
         algorithm TEXT NOT NULL,
         key_blob BLOB NOT NULL,
         comment TEXT NOT NULL,
         created_at INTEGER NOT NULL,
         PRIMARY KEY (user_id, fingerprint)) WITHOUT ROWID`,
  ],
  mysql: [
    `CREATE TABLE IF NOT EXISTS user_keys (
         user_id INT UNSIGNED NOT NULL,
         fingerprint VARBINARY(64) NOT NULL,
         algorithm VARBINARY(64) NOT NULL,
         key_blob VARBINARY(4096) NOT NULL,
         comment VARBINARY(1024) NOT NULL,
         created_at BIGINT NOT NULL,
         PRIMARY KEY (user_id, fingerprint)) ${MYSQL_TABLE}`,
  ],
};
