// The Repair role: the fsck log, devcount fixes, guarded replica removal and the statistics
// behind `mogftp admin stats`. RepairWork holds the SQL as units of work over the Driver seam
// (driver.ts); SqlRepair checks the arguments and runs them.
import { ErrorCodes, mogError } from '../../errors.ts';
import type { DeviceUsage, FileStats, FsckCode, FsckEvent, NewFsckEvent, Repair } from '../types.ts';
import type { Dialect, Driver, Work } from './driver.ts';
import { all, get, run } from './driver.ts';
import { checkId, checkInt, checkLimit, checkTime, num, numOrNull, str } from './rows.ts';

const invalid = (msg: string) => mogError(ErrorCodes.INVALID_ARGUMENT, msg);

const FSCK_CODES: readonly FsckCode[] = ['NOPA', 'POVI', 'MISS', 'BLEN', 'BSUM', 'BCNT', 'REPL', 'SRCH', 'FOND', 'NSUM', 'GONE'];
/** Longer details are cut: the log is for people, and one line says enough. */
const MAX_DETAIL_CHARS = 1000;
const FSCK_COLS = 'id, at, fid, devid, code, detail';

/** Copies that count toward a class: the same rule as the placement policy's. */
const COUNTED_DEVICE = `d.status IN ('alive', 'readonly') AND h.status = 'alive'`;

/**
 * Hosts that could hold a copy: alive, with at least one alive device of weight > 0 (the
 * operator's statuses; the monitor's last look is left out so a flapping node does not make
 * the count flap). A file is "on too few hosts" when it has its mindevcount of counted copies
 * but they sit on fewer distinct hosts than min(mindevcount, this number): copies the jobs can
 * spread. Files short of copies are counted as under-replicated instead, never twice.
 */
const USABLE_HOSTS = `SELECT COUNT(DISTINCT h.id) AS n FROM hosts h JOIN devices d ON d.host_id = h.id
  WHERE h.status = 'alive' AND d.status = 'alive' AND d.weight > 0`;

/** The grouped replicas of some files, and the too-few-hosts test (parameter: usable hosts, twice). */
const SPREAD_FROM = `FROM replicas r JOIN devices d ON d.devid = r.devid JOIN hosts h ON h.id = d.host_id
  JOIN files f ON f.fid = r.fid JOIN classes c ON c.id = f.class_id`;
const SPREAD_HAVING = `GROUP BY r.fid, c.mindevcount
  HAVING COUNT(*) >= c.mindevcount
     AND COUNT(DISTINCT d.host_id) < CASE WHEN c.mindevcount < ? THEN c.mindevcount ELSE ? END`;

function checkFsckEvents(events: NewFsckEvent[]): NewFsckEvent[] {
  if (!Array.isArray(events)) throw invalid('fsck events must be a list');
  return events.map((e) => {
    checkTime('Event time', e.at);
    checkId('Fid', e.fid);
    if (e.devid !== null) checkId('Device id', e.devid);
    if (!FSCK_CODES.includes(e.code)) throw invalid(`Unknown fsck event code ${JSON.stringify(e.code)}`);
    if (typeof e.detail !== 'string') throw invalid('An fsck event needs a detail text');
    const detail = e.detail.replace(/[\r\n]+/g, ' ');
    return { ...e, detail: detail.length > MAX_DETAIL_CHARS ? detail.slice(0, MAX_DETAIL_CHARS - 1) + '…' : detail };
  });
}

const toFsckEvent = (r: Record<string, unknown>): FsckEvent => ({
  id: num(r.id),
  at: num(r.at),
  fid: num(r.fid),
  devid: numOrNull(r.devid),
  code: str(r.code) as FsckCode,
  detail: str(r.detail),
});

class RepairWork {
  constructor(private readonly d: Dialect) {}

  *addFsckEvents(events: NewFsckEvent[]): Work<void> {
    for (const e of events) {
      yield* run('INSERT INTO fsck_log (at, fid, devid, code, detail) VALUES (?, ?, ?, ?, ?)', e.at, e.fid, e.devid, e.code, e.detail);
    }
  }

  *listFsckEvents(afterId: number, fid: number | undefined, limit: number): Work<FsckEvent[]> {
    const rows =
      fid === undefined
        ? yield* all(`SELECT ${FSCK_COLS} FROM fsck_log WHERE id > ? ORDER BY id LIMIT ?`, afterId, limit)
        : yield* all(`SELECT ${FSCK_COLS} FROM fsck_log WHERE id > ? AND fid = ? ORDER BY id LIMIT ?`, afterId, fid, limit);
    return rows.map(toFsckEvent);
  }

  *countFsckEvents(afterId: number): Work<Record<string, number>> {
    const rows = yield* all('SELECT code, COUNT(*) AS n FROM fsck_log WHERE id > ? GROUP BY code ORDER BY code', afterId);
    return Object.fromEntries(rows.map((r) => [str(r.code), num(r.n)]));
  }

  *lastFsckEventId(): Work<number> {
    const r = yield* get('SELECT MAX(id) AS id FROM fsck_log');
    return r?.id == null ? 0 : num(r.id);
  }

  *clearFsckEvents(): Work<number> {
    return (yield* run('DELETE FROM fsck_log')).changes;
  }

  *fixDevcount(fid: number): Work<{ before: number; after: number } | null> {
    const f = yield* get(`SELECT devcount FROM files WHERE fid = ?${this.d.forUpdate}`, fid);
    if (!f) return null;
    const after = num((yield* get('SELECT COUNT(*) AS n FROM replicas WHERE fid = ?', fid))!.n);
    const before = num(f.devcount);
    if (before !== after) yield* run('UPDATE files SET devcount = ? WHERE fid = ?', after, fid);
    return { before, after };
  }

  *fidsOfClass(classId: number, afterFid: number, limit: number): Work<number[]> {
    const rows = yield* all('SELECT fid FROM files WHERE class_id = ? AND fid > ? ORDER BY fid LIMIT ?', classId, afterFid, limit);
    return rows.map((r) => num(r.fid));
  }

  *removeReplicaIfCovered(fid: number, devid: number, minOthers: number): Work<boolean> {
    // The file row lock serialises every guarded removal (and addReplica) of this fid.
    if (!(yield* get(`SELECT fid FROM files WHERE fid = ?${this.d.forUpdate}`, fid))) return false;
    if (!(yield* get('SELECT devid FROM replicas WHERE fid = ? AND devid = ?', fid, devid))) return true;
    const others = yield* get(
      `SELECT COUNT(*) AS n FROM replicas r JOIN devices d ON d.devid = r.devid JOIN hosts h ON h.id = d.host_id
       WHERE r.fid = ? AND r.devid <> ? AND ${COUNTED_DEVICE}`,
      fid, devid,
    );
    if (num(others!.n) < minOthers) return false;
    yield* run('DELETE FROM replicas WHERE fid = ? AND devid = ?', fid, devid);
    yield* run('UPDATE files SET devcount = devcount - 1 WHERE fid = ? AND devcount > 0', fid);
    return true;
  }

  *fileStats(): Work<FileStats> {
    const totals = yield* get('SELECT COUNT(*) AS files, COALESCE(SUM(length), 0) AS bytes FROM files');
    const under = yield* get(
      `SELECT COUNT(*) AS n FROM files f JOIN classes c ON c.id = f.class_id
       WHERE (SELECT COUNT(*) FROM replicas r JOIN devices d ON d.devid = r.devid JOIN hosts h ON h.id = d.host_id
              WHERE r.fid = f.fid AND ${COUNTED_DEVICE}) < c.mindevcount`,
    );
    const usable = num((yield* get(USABLE_HOSTS))!.n);
    const spread = yield* get(
      `SELECT COUNT(*) AS n FROM (SELECT r.fid ${SPREAD_FROM} WHERE ${COUNTED_DEVICE} ${SPREAD_HAVING}) x`,
      usable, usable,
    );
    return {
      files: num(totals!.files),
      bytes: num(totals!.bytes),
      underReplicated: num(under!.n),
      onTooFewHosts: num(spread!.n),
      usableHosts: usable,
    };
  }

  /**
   * Looks at the next `limit` files after `afterFid` (by fid) and returns those on too few hosts
   * (the rule at USABLE_HOSTS) and the last fid looked at (null: no file after afterFid). Two
   * range reads on the primary keys, so a full walk costs one pass over files and replicas.
   */
  *fidsOnTooFewHosts(afterFid: number, limit: number): Work<{ fids: number[]; lastFid: number | null }> {
    const page = yield* all('SELECT fid FROM files WHERE fid > ? ORDER BY fid LIMIT ?', afterFid, limit);
    if (page.length === 0) return { fids: [], lastFid: null };
    const lastFid = num(page[page.length - 1]!.fid);
    const usable = num((yield* get(USABLE_HOSTS))!.n);
    if (usable < 2) return { fids: [], lastFid }; // one host: nothing to spread over
    const rows = yield* all(
      `SELECT r.fid ${SPREAD_FROM} WHERE r.fid > ? AND r.fid <= ? AND ${COUNTED_DEVICE} ${SPREAD_HAVING} ORDER BY r.fid`,
      afterFid, lastFid, usable, usable,
    );
    return { fids: rows.map((r) => num(r.fid)), lastFid };
  }

  *deviceUsage(): Work<DeviceUsage[]> {
    const rows = yield* all(
      `SELECT r.devid, COUNT(*) AS replicas, COALESCE(SUM(f.length), 0) AS bytes
       FROM replicas r JOIN files f ON f.fid = r.fid GROUP BY r.devid ORDER BY r.devid`,
    );
    return rows.map((r) => ({ devid: num(r.devid), replicas: num(r.replicas), bytes: num(r.bytes) }));
  }
}

function checkMinOthers(v: unknown): number {
  return checkInt('Copies to keep', v, 0, 255);
}

export class SqlRepair implements Repair {
  private readonly repair: RepairWork;

  constructor(private readonly driver: Driver) {
    this.repair = new RepairWork(driver.dialect);
  }

  async addFsckEvents(events: NewFsckEvent[]): Promise<void> {
    const checked = checkFsckEvents(events);
    if (checked.length === 0) return;
    return this.driver.write(() => this.repair.addFsckEvents(checked));
  }

  async listFsckEvents(opts: { afterId?: number; fid?: number; limit: number }): Promise<FsckEvent[]> {
    const afterId = checkInt('Event id', opts.afterId ?? 0, 0);
    if (opts.fid !== undefined) checkId('Fid', opts.fid);
    const limit = checkLimit(opts.limit);
    return this.driver.read(() => this.repair.listFsckEvents(afterId, opts.fid, limit));
  }

  async countFsckEvents(afterId = 0): Promise<Record<string, number>> {
    checkInt('Event id', afterId, 0);
    return this.driver.read(() => this.repair.countFsckEvents(afterId));
  }

  async lastFsckEventId(): Promise<number> {
    return this.driver.read(() => this.repair.lastFsckEventId());
  }

  async clearFsckEvents(): Promise<number> {
    return this.driver.write(() => this.repair.clearFsckEvents());
  }

  async fixDevcount(fid: number): Promise<{ before: number; after: number } | null> {
    checkId('Fid', fid);
    return this.driver.write(() => this.repair.fixDevcount(fid));
  }

  async fidsOfClass(classId: number, afterFid: number, limit: number): Promise<number[]> {
    checkId('Class id', classId);
    checkInt('Fid', afterFid, 0);
    checkLimit(limit);
    return this.driver.read(() => this.repair.fidsOfClass(classId, afterFid, limit));
  }

  async removeReplicaIfCovered(fid: number, devid: number, minOthers: number): Promise<boolean> {
    checkId('Fid', fid);
    checkId('Device id', devid);
    const floor = checkMinOthers(minOthers);
    return this.driver.write(() => this.repair.removeReplicaIfCovered(fid, devid, floor));
  }

  async fileStats(): Promise<FileStats> {
    return this.driver.read(() => this.repair.fileStats());
  }

  async fidsOnTooFewHosts(afterFid: number, limit: number): Promise<{ fids: number[]; lastFid: number | null }> {
    checkInt('Fid', afterFid, 0);
    return this.driver.read(() => this.repair.fidsOnTooFewHosts(afterFid, checkLimit(limit)));
  }

  async deviceUsage(): Promise<DeviceUsage[]> {
    return this.driver.read(() => this.repair.deviceUsage());
  }
}
