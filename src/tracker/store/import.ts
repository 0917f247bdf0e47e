// The Import role: a MogileFS cluster's rows written with their own ids (`admin import
// mogilefs`, src/mogilefs/import/). Hosts keep their hostids, devices their devids (so every
// /dev<devid>/.../<fid>.fid copy stays where it is), files their fids. Everything is "create or
// leave as it is": a second run over the same source changes nothing, and a run cut short
// resumes by running again (each batch of files is one transaction).
import { mogError, ErrorCodes } from '../../errors.ts';
import type { ChecksumAlg, DeviceStatus, Domain, FileClass, Host, Import, ImportFile, ImportOutcome } from '../types.ts';
import type { Dialect, Driver, Work } from './driver.ts';
import { all, get, placeholders, run } from './driver.ts';
import { DEFAULT_DIR_MODE, DEFAULT_FILE_MODE } from './entries.ts';
import { QueueWork } from './queue-work.ts';
import { checkAddress, checkChecksumAlg, checkClassCounts, checkDeviceStatus, checkHostStatus, checkId, checkInt, checkLabel, checkPort, num, str, toClass, toDomain } from './rows.ts';

const exists = (msg: string) => mogError(ErrorCodes.EXISTS, msg);
const IN_BATCH = 500;

/** A namespace lookup within one transaction; the cache dies with it (a retried transaction starts afresh). */
type DirCache = Map<string, { id: number; kind: string; fid: number | null }>;

export class SqlImport implements Import {
  private readonly d: Dialect;
  private readonly work: ImportWork;

  constructor(private readonly driver: Driver) {
    this.d = driver.dialect;
    this.work = new ImportWork(new QueueWork(driver.dialect));
  }

  async importHost(h: Host): Promise<'created' | 'updated' | 'same'> {
    const id = checkId('Host id', h.id);
    const name = checkLabel('Host name', h.name);
    const address = checkAddress(h.address);
    const port = checkPort(h.httpPort);
    const status = checkHostStatus(h.status);
    const d = this.d;
    return this.driver.write(function* () {
      const byName = yield* get('SELECT id FROM hosts WHERE name = ?', name);
      if (byName && num(byName.id) !== id) throw exists(`Host "${name}" exists here with id ${num(byName.id)}, not MogileFS's hostid ${id}`);
      const cur = yield* get(`SELECT name, address, http_port, status FROM hosts WHERE id = ?${d.forUpdate}`, id);
      if (!cur) {
        yield* run('INSERT INTO hosts (id, name, address, http_port, status) VALUES (?, ?, ?, ?, ?)', id, name, address, port, status);
        return 'created';
      }
      if (str(cur.name) === name && str(cur.address) === address && num(cur.http_port) === port && str(cur.status) === status) return 'same';
      yield* run('UPDATE hosts SET name = ?, address = ?, http_port = ?, status = ? WHERE id = ?', name, address, port, status, id);
      return 'updated';
    });
  }

  async importDevice(dv: { id: number; hostId: number; status: DeviceStatus; weight: number; mbTotal: number | null; mbUsed: number | null }): Promise<'created' | 'updated' | 'same'> {
    const devid = checkInt('Device id', dv.id, 1, 0xffffffff);
    const status = checkDeviceStatus(dv.status);
    const weight = checkInt('Weight', dv.weight, 0, 0xffffffff);
    const d = this.d;
    return this.driver.write(function* () {
      if (!(yield* get(`SELECT id FROM hosts WHERE id = ?${d.forShare}`, dv.hostId))) throw mogError(ErrorCodes.NOT_FOUND, `Host ${dv.hostId} of device ${devid} does not exist`);
      if (yield* get('SELECT devid FROM retired_devids WHERE devid = ?', devid)) throw exists(`Device id ${devid} was removed from this mogftp database and is never reused`);
      const cur = yield* get(`SELECT host_id, status, weight FROM devices WHERE devid = ?${d.forUpdate}`, devid);
      yield* run(`UPDATE counters SET v = ? WHERE name = 'devid' AND v < ?`, devid, devid);
      if (!cur) {
        yield* run(
          `INSERT INTO devices (devid, host_id, status, weight, mb_total, mb_used, observed) VALUES (?, ?, ?, ?, ?, ?, 'unknown')`,
          devid, dv.hostId, status, weight, dv.mbTotal, dv.mbUsed,
        );
        return 'created';
      }
      if (num(cur.host_id) !== dv.hostId) throw exists(`Device ${devid} exists here on host ${num(cur.host_id)}, not on MogileFS's host ${dv.hostId}`);
      if (str(cur.status) === status && num(cur.weight) === weight) return 'same';
      yield* run('UPDATE devices SET status = ?, weight = ? WHERE devid = ?', status, weight, devid);
      return 'updated';
    });
  }

  async importDomain(name: string): Promise<{ domain: Domain; created: boolean }> {
    checkLabel('Domain name', name);
    return this.driver.write(function* () {
      const cur = yield* get('SELECT id, name FROM domains WHERE name = ?', name);
      if (cur) return { domain: toDomain(cur), created: false };
      const { insertId } = yield* run('INSERT INTO domains (name) VALUES (?)', name);
      // The same default class a domain made by `admin domain add` has (MogileFS's is mindevcount 2 too).
      yield* run('INSERT INTO classes (domain_id, name, mindevcount, write_quorum, checksum) VALUES (?, ?, ?, ?, ?)', insertId, 'default', 2, 2, 'sha256');
      return { domain: { id: insertId, name }, created: true };
    });
  }

  async importClass(domainId: number, name: string, opts: { mindevcount: number; checksum: ChecksumAlg }): Promise<{ cls: FileClass; created: boolean }> {
    checkId('Domain id', domainId);
    checkLabel('Class name', name);
    const { mindevcount, writeQuorum } = checkClassCounts(opts.mindevcount, opts.mindevcount);
    const checksum = checkChecksumAlg(opts.checksum);
    return this.driver.write(function* () {
      const cur = yield* get('SELECT id, domain_id, name, mindevcount, write_quorum, checksum FROM classes WHERE domain_id = ? AND name = ?', domainId, name);
      if (cur) return { cls: toClass(cur), created: false };
      const { insertId } = yield* run(
        'INSERT INTO classes (domain_id, name, mindevcount, write_quorum, checksum) VALUES (?, ?, ?, ?, ?)',
        domainId, name, mindevcount, writeQuorum, checksum,
      );
      return { cls: { id: insertId, domainId, name, mindevcount, writeQuorum, checksum }, created: true };
    });
  }

  async importFiles(files: ImportFile[], escapeFor: (names: string[]) => string[]): Promise<ImportOutcome[]> {
    for (const f of files) {
      checkId('Fid', f.fid);
      checkInt('Length', f.length, 0);
    }
    return this.driver.write(() => this.work.files(files, escapeFor));
  }

  async presentFids(fids: number[]): Promise<number[]> {
    return this.driver.read(() => this.work.present(fids));
  }

  async recordChecksum(fid: number, alg: ChecksumAlg, checksum: string): Promise<boolean> {
    checkId('Fid', fid);
    checkChecksumAlg(alg);
    const hexLength = alg === 'md5' ? 32 : alg === 'sha256' ? 64 : 0;
    if (hexLength === 0 || checksum.length !== hexLength || !/^[0-9a-f]+$/.test(checksum))
      throw mogError(ErrorCodes.INVALID_ARGUMENT, `"${checksum}" is not a lower-case hex ${alg} digest`);
    return this.driver.write(function* () {
      const { changes } = yield* run('UPDATE files SET checksum = ?, checksum_alg = ? WHERE fid = ? AND checksum IS NULL', checksum, alg, fid);
      return changes > 0;
    });
  }

  async raiseFidFloor(fid: number): Promise<number> {
    checkInt('Fid', fid, 0);
    return this.driver.write(function* () {
      yield* run(`UPDATE counters SET v = ? WHERE name = 'fid' AND v < ?`, fid, fid);
      return num((yield* get(`SELECT v FROM counters WHERE name = 'fid'`))!.v);
    });
  }
}

/** The SQL of importFiles (a class of its own: the role's class has no methods but its role's). */
class ImportWork {
  constructor(private readonly queue: QueueWork) {}

  *files(files: ImportFile[], escapeFor: (names: string[]) => string[]): Work<ImportOutcome[]> {
    const present = new Set(yield* this.present(files.map((f) => f.fid)));
    const cache: DirCache = new Map();
    const out: ImportOutcome[] = [];
    const mindev = new Map<number, number>();
    for (const f of files) {
      if (present.has(f.fid)) {
        out.push({ fid: f.fid, state: 'present', names: f.names, escapedBecause: null, moved: [] });
        continue;
      }
      const moved: ImportOutcome['moved'] = [];
      let names = f.names;
      let place = yield* this.makeParents(f.domainId, names, cache, escapeFor, moved, f.mtime);
      let escapedBecause: string | null = null;
      if (typeof place === 'string') {
        escapedBecause = place;
        names = f.escapedNames;
        place = yield* this.makeParents(f.domainId, names, cache, escapeFor, moved, f.mtime);
        if (typeof place === 'string') throw exists(`fid ${f.fid}: its escaped place /${names.join('/')} is taken too (${place})`);
      }
      yield* run(
        `INSERT INTO files (fid, domain_id, class_id, length, checksum, checksum_alg, devcount, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        f.fid, f.domainId, f.classId, f.length, f.checksum, f.checksumAlg, f.devids.length, f.mtime,
      );
      if (f.devids.length) {
        yield* run(`INSERT INTO replicas (fid, devid) VALUES ${f.devids.map(() => '(?, ?)').join(', ')}`, ...f.devids.flatMap((devid) => [f.fid, devid]));
      }
      const { insertId } = yield* run(
        `INSERT INTO entries (domain_id, parent_id, name, kind, fid, size, mtime, mode) VALUES (?, ?, ?, 'file', ?, ?, ?, ?)`,
        f.domainId, place, names[names.length - 1], f.fid, f.length, f.mtime, DEFAULT_FILE_MODE,
      );
      cache.set(`${f.domainId}/${place}/${names[names.length - 1]}`, { id: insertId, kind: 'file', fid: f.fid });
      if (!mindev.has(f.classId)) mindev.set(f.classId, num((yield* get('SELECT mindevcount FROM classes WHERE id = ?', f.classId))?.mindevcount ?? 1));
      if (f.devids.length < mindev.get(f.classId)!) yield* this.queue.enqueue('replicate', f.fid, [], f.mtime);
      if (f.checksum === null && f.checksumAlg !== 'none') yield* this.queue.enqueue('fsck', f.fid, [], f.mtime);
      out.push({ fid: f.fid, state: 'imported', names, escapedBecause, moved });
    }
    return out;
  }

  /**
   * Makes the directories above `names` and returns the parent's id, or why the final name is
   * taken. A file standing where a directory is needed (key `a` before key `a/b`) moves to its
   * escaped place: a key that is also a prefix of another key is the one escaped, whichever
   * was imported first.
   */
  private *makeParents(
    domainId: number, names: string[], cache: DirCache, escapeFor: (names: string[]) => string[],
    moved: ImportOutcome['moved'], mtime: number,
  ): Work<number | string> {
    let parent = 0;
    for (let i = 0; i < names.length - 1; i++) {
      const at = yield* this.lookup(domainId, parent, names[i]!, cache);
      if (at?.kind === 'dir') {
        parent = at.id;
        continue;
      }
      if (at) {
        const from = names.slice(0, i + 1);
        const to = escapeFor(from);
        const toParent = yield* this.makeParents(domainId, to, cache, escapeFor, moved, mtime);
        if (typeof toParent === 'string') throw exists(`cannot move /${from.join('/')} to its escaped place: ${toParent}`);
        yield* run('UPDATE entries SET parent_id = ?, name = ? WHERE id = ?', toParent, to[to.length - 1], at.id);
        cache.delete(`${domainId}/${parent}/${names[i]}`);
        cache.set(`${domainId}/${toParent}/${to[to.length - 1]}`, at);
        moved.push({ fid: at.fid ?? 0, from, to });
      }
      const { insertId } = yield* run(
        `INSERT INTO entries (domain_id, parent_id, name, kind, fid, size, mtime, mode) VALUES (?, ?, ?, 'dir', NULL, 0, ?, ?)`,
        domainId, parent, names[i], mtime, DEFAULT_DIR_MODE,
      );
      cache.set(`${domainId}/${parent}/${names[i]}`, { id: insertId, kind: 'dir', fid: null });
      parent = insertId;
    }
    const last = yield* this.lookup(domainId, parent, names[names.length - 1]!, cache);
    if (!last) return parent;
    return last.kind === 'dir' ? 'a directory of other keys has its name' : `another file (fid ${last.fid}) has its name`;
  }

  private *lookup(domainId: number, parentId: number, name: string, cache: DirCache): Work<{ id: number; kind: string; fid: number | null } | null> {
    const key = `${domainId}/${parentId}/${name}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const r = yield* get('SELECT id, kind, fid FROM entries WHERE domain_id = ? AND parent_id = ? AND name = ?', domainId, parentId, name);
    if (!r) return null;
    const found = { id: num(r.id), kind: str(r.kind), fid: r.fid == null ? null : num(r.fid) };
    cache.set(key, found);
    return found;
  }

  *present(fids: number[]): Work<number[]> {
    const out: number[] = [];
    for (let i = 0; i < fids.length; i += IN_BATCH) {
      const part = fids.slice(i, i + IN_BATCH);
      if (part.length) out.push(...(yield* all(`SELECT fid FROM files WHERE fid IN ${placeholders(part.length)}`, ...part)).map((r) => num(r.fid)));
    }
    return out;
  }
}
