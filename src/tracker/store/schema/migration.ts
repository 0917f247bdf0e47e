// What one schema version is: its DDL for each dialect. The versions live one to a file beside
// this one (v1-core.ts ... ) and migrations.ts applies them in order.
//
// Choices that hold across both dialects:
// - Names that must be unique and byte-exact (namespace entries, domains, classes, hosts, users,
//   setting keys) are VARBINARY on MariaDB/MySQL: utf8mb4_bin is a PAD SPACE collation there, so
//   'a' and 'a ' would collide in a unique index and sort as equals. VARBINARY compares and sorts
//   bytes, exactly like SQLite's default BINARY collation on UTF-8 text.
// - Times are integer milliseconds; sizes and fids are 64-bit.
// - No foreign keys: the root directory (parent 0) has no row, and the store checks references
//   itself, under the row locks its transactions take.

export interface Migration {
  version: number;
  description: string;
  sqlite: string[];
  mysql: string[];
}

/** The table options every MariaDB/MySQL table is created with. */
export const MYSQL_TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';
