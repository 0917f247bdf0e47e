// A MogileFS 2.x database for the import tests, on the test MariaDB: the tables and columns of
// MogileFS-Server's lib/MogileFS/Store.pm (TABLE_* and the MySQL upgrade_* steps: device status
// with readonly and drain, class.hashtype and replpolicy, the checksum table), latin1 like a
// database mogdbsetup made with the server's default character set. One difference: host has no
// UNIQUE(hostip), because the test's nodes all listen on 127.0.0.1 (upstream's own harness gives
// each host a loopback address of its own, as /work/shared/mogilefs does).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
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

// --- the rows and files the import tests put in it ----------------------------------------

export interface FixtureFile {
  fid: number;
  dmid: number;
  key: Buffer;
  classid: number;
  devids: number[];
  data: Buffer | null;
  /** Where mogftp must put it; null: not imported. */
  path: string | null;
}

export const k = (s: string) => Buffer.from(s, 'utf8');
export const esc = (key: Buffer) => `/.mogilefs-keys/${key.toString('base64url')}.k`;
export const bytes = (n: number) => randomBytes(n);

export function fixtureFiles(): FixtureFile[] {
  const f = (fid: number, key: Buffer, classid: number, devids: number[], data: Buffer | null, path: string | null, dmid = 1): FixtureFile => ({ fid, dmid, key, classid, devids, data, path });
  const badUtf8 = Buffer.from([0x66, 0xff, 0x2f, 0x67]);
  return [
    f(2, k('photos/2006/a.jpg'), 1, [1, 3], bytes(3_000_000), '/photos/2006/a.jpg'),
    f(3, k('docs/readme.txt'), 2, [2], bytes(100), '/docs/readme.txt'),
    f(5, k('a'), 1, [1, 2], bytes(10), esc(k('a'))), // also a prefix of a/b: escaped
    f(6, k('a/b'), 1, [2, 3], bytes(70_000), '/a/b'),
    f(7, k('x//y'), 0, [1], bytes(5), esc(k('x//y'))),
    f(8, k('dots/../up'), 1, [3], bytes(6), esc(k('dots/../up'))),
    f(9, badUtf8, 1, [1], bytes(7), esc(badUtf8)),
    f(10, k('tab\there'), 1, [2], bytes(8), esc(k('tab\there'))),
    f(11, k(''), 1, [1], bytes(9), esc(k(''))),
    f(12, k('.mogilefs-keys/x'), 1, [3], bytes(11), esc(k('.mogilefs-keys/x'))),
    f(13, k('empty'), 1, [1, 2], Buffer.alloc(0), '/empty'),
    f(14, k('sp ace/ü.txt'), 1, [1, 3], bytes(12), '/sp ace/ü.txt'),
    f(20, k('docs/readme.txt'), 1, [1, 2], bytes(13), '/docs/readme.txt', 2),
    f(21, k('orphan-domain'), 1, [1], bytes(14), null, 9),
    f(23, k('lost/dev99'), 1, [1, 99], bytes(15), '/lost/dev99'),
    f(101, k('last'), 2, [2, 3], bytes(16), '/last'),
  ];
}

export const md5 = (b: Buffer) => createHash('md5').update(b).digest();

export async function fillSource(src: MogileFsDb, nodes: Array<{ root: string; port: number }>, files: FixtureFile[]): Promise<void> {
  const q = (sql: string, params: unknown[] = []) => src.conn.query(sql, params);
  await q(`INSERT INTO domain VALUES (1, 'testdom'), (2, 'other')`);
  await q(`INSERT INTO class (dmid, classid, classname, mindevcount, replpolicy, hashtype) VALUES
    (1, 1, 'two', 2, 'MultipleHosts()', 1), (1, 2, 'one', 1, NULL, NULL), (2, 1, 'triple', 3, 'MultipleDevices()', NULL)`);
  const hostRows = nodes.map((n, i) => [i + 1, 'alive', n.port, `st${i + 1}`, '127.0.0.1']);
  await q('INSERT INTO host (hostid, status, http_port, hostname, hostip) VALUES ?', [hostRows]);
  // dev1 on st1, dev2 (readonly) on st2, dev3 on st3 (nginx), dev4 on st1 (dead), dev5 on st2 (drain).
  await q(`INSERT INTO device (devid, hostid, status, weight, mb_total, mb_used) VALUES
    (1, 1, 'alive', 100, 1000, 10), (2, 2, 'readonly', 50, 1000, 10), (3, 3, 'alive', 100, 1000, 10), (4, 1, 'dead', 100, NULL, NULL), (5, 2, 'drain', 100, 1000, 10)`);
  const roots = new Map([[1, nodes[0]!.root], [2, nodes[1]!.root], [3, nodes[2]!.root]]);
  for (const f of files) {
    await q('INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (?, ?, ?, ?, ?, ?)', [f.fid, f.dmid, f.key, f.data?.length ?? null, f.classid, f.devids.length]);
    for (const devid of f.devids) {
      await q('INSERT INTO file_on (fid, devid) VALUES (?, ?)', [f.fid, devid]);
      const root = roots.get(devid);
      if (!root || !f.data) continue;
      const p = join(root, fidRelPath(devid, f.fid));
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, f.data, { mode: 0o644 });
    }
  }
  await q('INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (22, 1, ?, NULL, 1, 0)', [k('never-closed')]);
  await q('INSERT INTO checksum (fid, hashtype, checksum) VALUES (2, 1, ?), (3, 2, ?)', [md5(files[0]!.data!), randomBytes(20)]);
  await q('INSERT INTO tempfile (fid, createtime, classid, dmid, dkey) VALUES (120, 0, 1, 1, ?)', [k('uploading')]);
  await q('ALTER TABLE tempfile AUTO_INCREMENT = 150');
}
