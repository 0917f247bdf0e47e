// A MogileFS 2.x database, read only: what `mogftp admin import mogilefs` takes over (hosts,
// devices, domains, classes, files, file_on, checksum). The tables are MogileFS-Server's own
// (lib/MogileFS/Store.pm); columns added by its later upgrades (class.hashtype, class.replpolicy,
// the checksum table) are looked up first, since an older cluster may lack them. The session is
// READ ONLY: MariaDB refuses any write on it, so an import can never change the MogileFS database.
import mysql from 'mysql2/promise';
import { describeError, ErrorCodes, mogError } from '../errors.ts';
import { parseDbUrl, redactDbUrl } from './open.ts';

export interface MogHost {
  hostid: number;
  hostname: string;
  hostip: string;
  httpPort: number;
  httpGetPort: number | null;
  /** As stored: alive, dead, down, readonly (2.40+), or null. */
  status: string | null;
}

export interface MogDevice {
  devid: number;
  hostid: number;
  /** As stored: alive, dead, down, readonly, drain, or null. */
  status: string | null;
  weight: number | null;
  mbTotal: number | null;
  mbUsed: number | null;
}

export interface MogDomain {
  dmid: number;
  namespace: string;
}

export interface MogClass {
  dmid: number;
  classid: number;
  classname: string;
  mindevcount: number;
  /** 1 = MD5, 2 = SHA-1 (MogileFS::Checksum); null: none. */
  hashtype: number | null;
  replpolicy: string | null;
}

export interface MogFile {
  fid: number;
  dmid: number;
  /** The key's bytes as stored: any bytes, not necessarily UTF-8. */
  dkey: Buffer;
  length: number | null;
  classid: number;
  /** file_on: the devices holding a copy. */
  devids: number[];
  /** The checksum table's row, hex, when there is one. */
  checksum: { hashtype: number; hex: string } | null;
}

type Rows = mysql.RowDataPacket[];

export class MogileFsSource {
  private constructor(
    private readonly conn: mysql.Connection,
    private readonly columns: Set<string>,
    readonly where: string,
  ) {}

  /** Connects to mysql://USER:PW@HOST:PORT/DB and checks that it holds MogileFS's tables. */
  static async open(url: string): Promise<MogileFsSource> {
    const loc = parseDbUrl(url);
    if (loc.kind !== 'mysql') throw mogError(ErrorCodes.INVALID_ARGUMENT, `--from must be a mysql:// URL of the MogileFS database, not ${redactDbUrl(url)}`);
    const where = `${loc.host}:${loc.port}/${loc.database}`;
    let conn: mysql.Connection;
    try {
      conn = await mysql.createConnection({
        host: loc.host, port: loc.port, user: loc.user, password: loc.password, database: loc.database,
        connectTimeout: 10_000, supportBigNumbers: true, bigNumberStrings: false,
      });
    } catch (err) {
      throw mogError(ErrorCodes.DB_UNAVAILABLE, `Cannot connect to the MogileFS database ${where}: ${describeError(err)}`, err);
    }
    try {
      await conn.query('SET SESSION TRANSACTION READ ONLY');
      const [cols] = await conn.query<Rows>(
        'SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = DATABASE()',
      );
      const columns = new Set(cols.map((r) => `${String(r.t).toLowerCase()}.${String(r.c).toLowerCase()}`));
      for (const need of ['host.hostid', 'device.devid', 'domain.dmid', 'class.classid', 'file.fid', 'file_on.devid']) {
        if (!columns.has(need)) throw mogError(ErrorCodes.INVALID_ARGUMENT, `${where} is not a MogileFS 2.x database: it has no ${need} column`);
      }
      return new MogileFsSource(conn, columns, where);
    } catch (err) {
      await conn.end().catch(() => undefined);
      throw err;
    }
  }

  private has(column: string): boolean {
    return this.columns.has(column);
  }

  private async rows(sql: string, params: unknown[] = []): Promise<Rows> {
    try {
      return (await this.conn.query<Rows>(sql, params))[0];
    } catch (err) {
      throw mogError(ErrorCodes.DB_UNAVAILABLE, `Reading the MogileFS database ${this.where} failed: ${describeError(err)}`, err);
    }
  }

  async hosts(): Promise<MogHost[]> {
    const getPort = this.has('host.http_get_port') ? 'http_get_port' : 'NULL';
    const rows = await this.rows(`SELECT hostid, hostname, hostip, http_port, ${getPort} AS http_get_port, status FROM host ORDER BY hostid`);
    return rows.map((r) => ({
      hostid: Number(r.hostid),
      hostname: String(r.hostname ?? ''),
      hostip: String(r.hostip ?? ''),
      httpPort: r.http_port == null ? 7500 : Number(r.http_port),
      httpGetPort: r.http_get_port == null ? null : Number(r.http_get_port),
      status: r.status == null ? null : String(r.status),
    }));
  }

  async devices(): Promise<MogDevice[]> {
    const weight = this.has('device.weight') ? 'weight' : 'NULL';
    const rows = await this.rows(`SELECT devid, hostid, status, ${weight} AS weight, mb_total, mb_used FROM device ORDER BY devid`);
    return rows.map((r) => ({
      devid: Number(r.devid),
      hostid: Number(r.hostid),
      status: r.status == null ? null : String(r.status),
      weight: r.weight == null ? null : Number(r.weight),
      mbTotal: r.mb_total == null ? null : Number(r.mb_total),
      mbUsed: r.mb_used == null ? null : Number(r.mb_used),
    }));
  }

  async domains(): Promise<MogDomain[]> {
    const rows = await this.rows('SELECT dmid, namespace FROM domain ORDER BY dmid');
    return rows.map((r) => ({ dmid: Number(r.dmid), namespace: String(r.namespace ?? '') }));
  }

  async classes(): Promise<MogClass[]> {
    const hashtype = this.has('class.hashtype') ? 'hashtype' : 'NULL';
    const policy = this.has('class.replpolicy') ? 'replpolicy' : 'NULL';
    const rows = await this.rows(`SELECT dmid, classid, classname, mindevcount, ${hashtype} AS hashtype, ${policy} AS replpolicy FROM class ORDER BY dmid, classid`);
    return rows.map((r) => ({
      dmid: Number(r.dmid),
      classid: Number(r.classid),
      classname: String(r.classname ?? ''),
      mindevcount: Number(r.mindevcount),
      hashtype: r.hashtype == null ? null : Number(r.hashtype),
      replpolicy: r.replpolicy == null ? null : String(r.replpolicy),
    }));
  }

  /** The files with fid > afterFid, ascending, at most `limit`, with their copies and checksums. */
  async filesAfter(afterFid: number, limit: number): Promise<MogFile[]> {
    const rows = await this.rows(
      'SELECT fid, dmid, CAST(dkey AS BINARY) AS dkey, length, classid FROM file WHERE fid > ? ORDER BY fid LIMIT ?',
      [afterFid, limit],
    );
    if (rows.length === 0) return [];
    const fids = rows.map((r) => Number(r.fid));
    const on = new Map<number, number[]>();
    for (const r of await this.rows('SELECT fid, devid FROM file_on WHERE fid IN (?) ORDER BY fid, devid', [fids])) {
      const list = on.get(Number(r.fid)) ?? [];
      list.push(Number(r.devid));
      on.set(Number(r.fid), list);
    }
    const sums = new Map<number, { hashtype: number; hex: string }>();
    if (this.has('checksum.fid')) {
      for (const r of await this.rows('SELECT fid, hashtype, HEX(checksum) AS hex FROM checksum WHERE fid IN (?)', [fids])) {
        sums.set(Number(r.fid), { hashtype: Number(r.hashtype), hex: String(r.hex).toLowerCase() });
      }
    }
    return rows.map((r) => {
      const fid = Number(r.fid);
      return {
        fid,
        dmid: Number(r.dmid),
        dkey: Buffer.isBuffer(r.dkey) ? r.dkey : Buffer.from(String(r.dkey ?? ''), 'utf8'),
        length: r.length == null ? null : Number(r.length),
        classid: Number(r.classid),
        devids: on.get(fid) ?? [],
        checksum: sums.get(fid) ?? null,
      };
    });
  }

  async fileCount(): Promise<number> {
    return Number((await this.rows('SELECT COUNT(*) AS n FROM file'))[0]?.n ?? 0);
  }

  /**
   * The highest fid MogileFS ever handed out: files, uploads in progress (tempfile), fids queued
   * for deletion, and tempfile's AUTO_INCREMENT (fids of uploads already gone). mogftp's own
   * fids start above it, so no fid of the old cluster is ever given to a new file.
   */
  async highestFid(): Promise<number> {
    let top = 0;
    for (const table of ['file', 'tempfile', 'file_to_delete', 'file_to_delete2', 'file_to_delete_later', 'file_to_replicate', 'file_on']) {
      if (!this.has(`${table}.fid`)) continue;
      top = Math.max(top, Number((await this.rows(`SELECT COALESCE(MAX(fid), 0) AS m FROM ${table}`))[0]?.m ?? 0));
    }
    const auto = await this.rows(
      `SELECT AUTO_INCREMENT AS a FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'tempfile'`,
    );
    const next = auto[0]?.a;
    if (next != null) top = Math.max(top, Number(next) - 1);
    return top;
  }

  async close(): Promise<void> {
    await this.conn.end().catch(() => undefined);
  }
}
