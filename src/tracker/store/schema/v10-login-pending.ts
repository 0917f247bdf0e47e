// Schema version 10. The login throttle counts hashes in flight (pending) and wrong passwords
// (failures) apart: a burst of honest logins from one address is told "busy", never banned.
// Databases in use were made by exactly this DDL (its text too: SQLite keeps it): never edit
// it; a change is a new version.
import type { Migration } from './migration.ts';

// Only a column is added, as every migration does, so the mogftp before it keeps working during a
// rolling restart. The old `attempts` column, which counted both, now holds the checks in flight:
// a count left over from before the upgrade (or written by a front-end not yet restarted) is a
// burst that ends with its window (one minute by default), never a ban.
export const SCHEMA_V10: Migration = {
  version: 10,
  description: 'login attempts: in-flight password checks (pending) counted apart from failures; only failures ban',
  sqlite: [`ALTER TABLE login_attempts ADD COLUMN failures INTEGER NOT NULL DEFAULT 0`],
  mysql: [`ALTER TABLE login_attempts ADD COLUMN failures INT UNSIGNED NOT NULL DEFAULT 0`],
};
