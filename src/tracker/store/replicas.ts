// The Replicas role: file rows, where their copies are, and the copies a read marked bad (the
// SQL of those lives in bad-replicas.ts). Units of work over the Driver seam (driver.ts).
import { mogError, ErrorCodes } from '../../errors.ts';
import type { BadReplica, FileRow, Replicas } from '../types.ts';
import { BadReplicaWork } from './bad-replicas.ts';
import type { Dialect, Driver } from './driver.ts';
import { all, get, placeholders, run } from './driver.ts';
import { checkId, checkLimit, num, toFile } from './rows.ts';

const FILE_COLS = 'fid, domain_id, class_id, length, checksum, checksum_alg, devcount, created_at';
/** A download's plan: the file row on each of its copies' rows, with the copy's bad mark (bad_replicas.devid or NULL). */
const READ_PLAN_SQL =
  `SELECT ${FILE_COLS.split(', ').map((c) => `f.${c}`).join(', ')}, r.devid AS r_devid, b.devid AS b_devid FROM files f ` +
  'LEFT JOIN replicas r ON r.fid = f.fid LEFT JOIN bad_replicas b ON b.fid = r.fid AND b.devid = r.devid WHERE f.fid = ? ORDER BY r.devid';
/** Fids per IN list: well under both databases' parameter limits. */
const IN_BATCH = 500;

export class SqlReplicas implements Replicas {
  private readonly d: Dialect;
  private readonly badReplicas: BadReplicaWork;

  constructor(private readonly driver: Driver) {
    this.d = driver.dialect;
    this.badReplicas = new BadReplicaWork(driver.dialect);
  }

  async getFile(fid: number): Promise<FileRow | null> {
    return this.driver.read(function* () {
      const r = yield* get(`SELECT ${FILE_COLS} FROM files WHERE fid = ?`, fid);
      return r ? toFile(r) : null;
    });
  }

  async getFiles(fids: number[]): Promise<FileRow[]> {
    const ids = [...new Set(fids)].filter((f) => Number.isSafeInteger(f) && f > 0);
    return this.driver.read(function* () {
      const out: FileRow[] = [];
      for (let i = 0; i < ids.length; i += IN_BATCH) {
        const batch = ids.slice(i, i + IN_BATCH);
        out.push(...(yield* all(`SELECT ${FILE_COLS} FROM files WHERE fid IN ${placeholders(batch.length)}`, ...batch)).map(toFile));
      }
      return out.sort((a, b) => a.fid - b.fid);
    });
  }

  async listFids(afterFid: number, limit: number): Promise<FileRow[]> {
    checkLimit(limit);
    return this.driver.read(function* () {
      return (yield* all(`SELECT ${FILE_COLS} FROM files WHERE fid > ? ORDER BY fid LIMIT ?`, afterFid, limit)).map(toFile);
    });
  }

  /** One statement where getFile, replicasOf and badReplicasOf were three (a round trip each on MariaDB). */
  async fileForRead(fid: number): Promise<{ file: FileRow; devids: number[]; bad: number[] } | null> {
    return this.driver.read(function* () {
      const rows = yield* all(READ_PLAN_SQL, fid);
      if (rows.length === 0) return null;
      const copies = rows.filter((r) => r.r_devid != null);
      return {
        file: toFile(rows[0]!),
        devids: copies.map((r) => num(r.r_devid)),
        bad: copies.filter((r) => r.b_devid != null).map((r) => num(r.r_devid)),
      };
    });
  }

  async replicasOf(fid: number): Promise<number[]> {
    return this.driver.read(function* () {
      return (yield* all('SELECT devid FROM replicas WHERE fid = ? ORDER BY devid', fid)).map((r) => num(r.devid));
    });
  }

  async addReplica(fid: number, devid: number): Promise<void> {
    checkId('Fid', fid);
    checkId('Device id', devid);
    const d = this.d;
    return this.driver.write(function* () {
      // Locking the file row makes a concurrent delete either see this replica or make us fail,
      // so a copy made for a file being deleted cannot be forgotten.
      if (!(yield* get(`SELECT fid FROM files WHERE fid = ?${d.forUpdate}`, fid)))
        throw mogError(ErrorCodes.NOT_FOUND, `File ${fid} does not exist (deleted?)`);
      if (!(yield* get('SELECT devid FROM devices WHERE devid = ?', devid))) throw mogError(ErrorCodes.NOT_FOUND, `Device ${devid} does not exist`);
      const { changes } = yield* run(`${d.insertIgnore} INTO replicas (fid, devid) VALUES (?, ?)`, fid, devid);
      if (changes > 0) yield* run('UPDATE files SET devcount = devcount + 1 WHERE fid = ?', fid);
    });
  }

  async removeReplica(fid: number, devid: number): Promise<void> {
    return this.driver.write(function* () {
      const { changes } = yield* run('DELETE FROM replicas WHERE fid = ? AND devid = ?', fid, devid);
      if (changes > 0) yield* run('UPDATE files SET devcount = devcount - 1 WHERE fid = ? AND devcount > 0', fid);
    });
  }

  async fidsOnDevice(devid: number, afterFid: number, limit: number): Promise<number[]> {
    checkLimit(limit);
    return this.driver.read(function* () {
      const rows = yield* all('SELECT fid FROM replicas WHERE devid = ? AND fid > ? ORDER BY fid LIMIT ?', devid, afterFid, limit);
      return rows.map((r) => num(r.fid));
    });
  }

  // --- bad replicas (the SQL lives in bad-replicas.ts) ----------------------------------

  async markBadReplica(fid: number, devid: number, reason: string, now: number): Promise<boolean> {
    return this.driver.write(() => this.badReplicas.mark(fid, devid, reason, now));
  }

  async clearBadReplica(fid: number, devid: number): Promise<boolean> {
    return this.driver.write(() => this.badReplicas.clear(fid, devid));
  }

  async badReplicasOf(fid: number): Promise<BadReplica[]> {
    return this.driver.read(() => this.badReplicas.of(fid));
  }

  async badReplicasOfFiles(fids: number[]): Promise<BadReplica[]> {
    const ids = [...new Set(fids)].filter((f) => Number.isSafeInteger(f) && f > 0);
    return this.driver.read(() => this.badReplicas.ofFiles(ids));
  }

  async pruneBadReplicas(): Promise<number> {
    return this.driver.write(() => this.badReplicas.prune());
  }
}
