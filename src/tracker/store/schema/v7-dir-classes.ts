// Schema version 7. A class on a directory, inherited by the files created under it.
// Databases in use were made by exactly this DDL (its text too: SQLite keeps it): never edit
// it; a change is a new version.
import type { Migration } from './migration.ts';

export const SCHEMA_V7: Migration = {
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
};
