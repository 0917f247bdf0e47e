// Fills a mogftp database with many committed 4 KiB files in one directory, straight in SQL
// (INSERT ... SELECT over a generated sequence), in seconds instead of one transaction per file.
// The rows look exactly like committed uploads: a files row, one replica row per device, an
// entry. Fids come from the fid counter, advanced past them first, so live uploads never collide.
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2/promise';
import { parseDbUrl } from '../../src/tracker/open.ts';

export interface BulkFiles {
  dbUrl: string;
  domainId: number;
  classId: number;
  parentId: number;
  count: number;
  devids: number[];
}

const FAKE_SHA256 = 'e'.repeat(64);

/** Numbers 0..count-1 from a 1000-row recursive sequence crossed with itself (up to 1 000 000). */
function sequence(count: number): string {
  if (count > 1_000_000) throw new Error('bulk insert supports up to 1 000 000 rows');
  return `WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 999),
    seq(n) AS (SELECT a.n * 1000 + b.n AS n FROM d a CROSS JOIN d b WHERE a.n * 1000 + b.n < ${count})`;
}

export async function insertFiles(b: BulkFiles): Promise<void> {
  const loc = parseDbUrl(b.dbUrl);
  const now = Date.now();
  if (loc.kind === 'sqlite') {
    const db = new Database(loc.path, { timeout: 30_000 });
    try {
      db.transaction(() => {
        const base = Number((db.prepare(`UPDATE counters SET v = v + ? WHERE name = 'fid' RETURNING v`).get(b.count) as { v: number }).v) - b.count;
        db.prepare(
          `INSERT INTO files (fid, domain_id, class_id, length, checksum, checksum_alg, devcount, created_at)
           ${sequence(b.count)} SELECT ? + n + 1, ?, ?, 4096, ?, 'sha256', ?, ? FROM seq`,
        ).run(base, b.domainId, b.classId, FAKE_SHA256, b.devids.length, now);
        for (const devid of b.devids) {
          db.prepare(`INSERT INTO replicas (fid, devid) ${sequence(b.count)} SELECT ? + n + 1, ? FROM seq`).run(base, devid);
        }
        db.prepare(
          `INSERT INTO entries (domain_id, parent_id, name, kind, fid, size, mtime, mode)
           ${sequence(b.count)} SELECT ?, ?, printf('f%07d', n), 'file', ? + n + 1, 4096, ?, 420 FROM seq`,
        ).run(b.domainId, b.parentId, base, now);
      }).immediate();
    } finally {
      db.close();
    }
    return;
  }
  const conn = await mysql.createConnection({ host: loc.host, port: loc.port, user: loc.user, password: loc.password, database: loc.database });
  try {
    await conn.query('START TRANSACTION');
    await conn.query(`UPDATE counters SET v = LAST_INSERT_ID(v + ?) WHERE name = 'fid'`, [b.count]);
    const [[row]] = (await conn.query('SELECT LAST_INSERT_ID() AS v')) as [RowDataPacket[], unknown];
    const base = Number(row!.v) - b.count;
    await conn.query(
      `INSERT INTO files (fid, domain_id, class_id, length, checksum, checksum_alg, devcount, created_at)
       ${sequence(b.count)} SELECT ? + n + 1, ?, ?, 4096, ?, 'sha256', ?, ? FROM seq`,
      [base, b.domainId, b.classId, FAKE_SHA256, b.devids.length, now],
    );
    for (const devid of b.devids) {
      await conn.query(`INSERT INTO replicas (fid, devid) ${sequence(b.count)} SELECT ? + n + 1, ? FROM seq`, [base, devid]);
    }
    await conn.query(
      `INSERT INTO entries (domain_id, parent_id, name, kind, fid, size, mtime, mode)
       ${sequence(b.count)} SELECT ?, ?, CONCAT('f', LPAD(n, 7, '0')), 'file', ? + n + 1, 4096, ?, 420 FROM seq`,
      [b.domainId, b.parentId, base, now],
    );
    await conn.query('COMMIT');
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await conn.end();
  }
}
