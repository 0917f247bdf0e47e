// A MogileFS 2.x database for the import tests, on the test MariaDB: the tables and columns of
// MogileFS-Server's lib/MogileFS/Store.pm (TABLE_* and the MySQL upgrade_* steps: device status
// with readonly and drain, class.hashtype and replpolicy, the checksum table), latin1 like a
// database mogdbsetup made with the server's default character set. One difference: host has no
// UNIQUE(hostip), because the test's nodes all listen on 127.0.0.1 (upstream's own harness gives
// each host a loopback address of its own, as /work/shared/mogilefs does).
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import mysql from 'mysql2/promise';
import { MYSQL_TEST_HOST, MYSQL_TEST_PORT, mysqlAdminOptions } from '../harness/db.ts';

const TABLES = [
  `CREATE TABLE domain (
     dmid SMALLINT UNSIGNED NOT NULL PRIMARY KEY,
     namespace VARCHAR(255),
     UNIQUE (namespace))`,
  `CREATE TABLE class (
     dmid SMALLINT UNSIGNED NOT NULL,
     classid TINYINT UNSIGNED NOT NULL,
     PRIMARY KEY (dmid, classid),
     classname VARCHAR(50),
     UNIQUE (dmid, classname),
     mindevcount TINYINT UNSIGNED NOT NULL,
     replpolicy VARCHAR(255),
     hashtype TINYINT UNSIGNED)`,
  `CREATE TABLE file (
     fid INT UNSIGNED NOT NULL,
     PRIMARY KEY (fid),
     dmid SMALLINT UNSIGNED NOT NULL,
     dkey VARCHAR(255),
     UNIQUE dkey (dmid, dkey),
     length BIGINT UNSIGNED,
     classid TINYINT UNSIGNED NOT NULL,
     devcount TINYINT UNSIGNED NOT NULL,
     INDEX devcount (dmid, classid, devcount))`,
  `CREATE TABLE tempfile (
     fid INT UNSIGNED NOT NULL AUTO_INCREMENT,
     PRIMARY KEY (fid),
     createtime INT UNSIGNED NOT NULL,
     classid TINYINT UNSIGNED NOT NULL,
     dmid SMALLINT UNSIGNED NOT NULL,
     dkey VARCHAR(255),
     devids VARCHAR(60))`,
  `CREATE TABLE file_to_delete (fid INT UNSIGNED NOT NULL, PRIMARY KEY (fid))`,
  `CREATE TABLE file_on (
     fid INT UNSIGNED NOT NULL,
     devid MEDIUMINT UNSIGNED NOT NULL,
     PRIMARY KEY (fid, devid),
     INDEX (devid))`,
  `CREATE TABLE host (
     hostid MEDIUMINT UNSIGNED NOT NULL PRIMARY KEY,
     status ENUM('alive','dead','down','readonly'),
     http_port MEDIUMINT UNSIGNED DEFAULT 7500,
     http_get_port MEDIUMINT UNSIGNED,
     hostname VARCHAR(40),
     hostip VARCHAR(15),
     altip VARCHAR(15),
     altmask VARCHAR(18),
     UNIQUE (hostname),
     UNIQUE (altip))`,
  `CREATE TABLE device (
     devid MEDIUMINT UNSIGNED NOT NULL,
     hostid MEDIUMINT UNSIGNED NOT NULL,
     status ENUM('alive','dead','down','readonly','drain'),
     weight MEDIUMINT DEFAULT 100,
     mb_total INT UNSIGNED,
     mb_used INT UNSIGNED,
     mb_asof INT UNSIGNED,
     PRIMARY KEY (devid),
     INDEX (status))`,
  `CREATE TABLE checksum (
     fid INT UNSIGNED NOT NULL PRIMARY KEY,
     hashtype TINYINT UNSIGNED NOT NULL,
     checksum VARBINARY(64) NOT NULL)`,
];

export interface MogileFsDb {
  /** mysql://root@HOST:PORT/NAME, as --from takes it. */
  url: string;
  conn: mysql.Connection;
  drop(): Promise<void>;
}

/** A fresh MogileFS database with the schema and no rows. */
export async function createMogileFsDb(): Promise<MogileFsDb> {
  const name = `mogimport_src_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = await mysql.createConnection(mysqlAdminOptions());
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET latin1`);
  } finally {
    await admin.end();
  }
  const conn = await mysql.createConnection({ ...mysqlAdminOptions(), database: name });
  for (const sql of TABLES) await conn.query(`${sql} ENGINE=InnoDB`);
  return {
    url: `mysql://root@${MYSQL_TEST_HOST}:${MYSQL_TEST_PORT}/${name}`,
    conn,
    async drop() {
      await conn.end().catch(() => undefined);
      const c = await mysql.createConnection(mysqlAdminOptions());
      try {
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await c.end();
      }
    },
  };
}

/** dev<devid>/B/MMM/TTT/<10 digits>.fid, relative to a node's root. */
export function fidRelPath(devid: number, fid: number): string {
  const n = String(fid).padStart(10, '0');
  return join(`dev${devid}`, n.slice(0, 1), n.slice(1, 4), n.slice(4, 7), `${n}.fid`);
}

/** Every file under the roots (path, mode, size, sha256) in one digest, and the listing it was made of. */
export async function hashTree(roots: string[]): Promise<{ digest: string; files: string[] }> {
  const lines: string[] = [];
  for (const [i, root] of roots.entries()) {
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) {
          lines.push(`${i} ${relative(root, p)}/`);
          await walk(p);
        } else {
          const st = await stat(p);
          const sum = createHash('sha256').update(await readFile(p)).digest('hex');
          lines.push(`${i} ${relative(root, p)} ${(st.mode & 0o7777).toString(8)} ${st.size} ${sum} ${st.mtimeMs}`);
        }
      }
    };
    await walk(root);
  }
  lines.sort();
  return { digest: createHash('sha256').update(lines.join('\n')).digest('hex'), files: lines };
}
