// The Store, written once over the Driver seam (driver.ts): every operation is a generator of
// SQL statements that the SQLite driver runs inside BEGIN IMMEDIATE and the MySQL driver runs
// on one pooled connection inside BEGIN/COMMIT (retried whole on deadlock).
//
// Locking on MySQL (READ COMMITTED): a statement that creates a child takes a shared lock on
// the parent row (or on the domain row, for the root); rmdir and removeDomain take exclusive
// locks before checking for children, so the two orders serialise. SQLite needs none of it:
// one writer at a time. `forShare`/`forUpdate` are empty strings there.
import { mogError, ErrorCodes } from '../../errors.ts';
import { validateName } from '../names.ts';
import { ROOT_ID } from '../types.ts';
import type {
  BadReplica,
  ChecksumAlg,
  CommitResult,
  CommitUploadInput,
  Device,
  DeviceStatus,
  DeviceView,
  Domain,
  Entry,
  FileClass,
  FileRow,
  Host,
  HostStatus,
  ObservedState,
  JobOwner,
  StoredFidState,
  QueueItem,
  QueueName,
  Reservation,
  Store,
  User,
  DavLock,
  DavProp,
  DirClass,
  InheritedClass,
  DavPropPatch,
  NewDavLock,
  DeviceUsage,
  FileStats,
  FsckEvent,
  NewFsckEvent,
  LoginAttempt,
  LoginPolicy,
  QuotaGrant,
  QuotaHolder,
  QuotaRequest,
  QuotaUsage,
} from '../types.ts';
import { checkClientAddress, checkPolicy, LoginWork } from './logins.ts';
import { ClassTreeWork } from './classes-tree.ts';
import { BadReplicaWork } from './bad-replicas.ts';
import { checkLockPath, checkNewLock, checkPatch, checkTimes, DavWork } from './dav.ts';
import { checkFsckEvents, checkMinOthers, RepairWork } from './repair.ts';
import { JobLeaseWork } from './job-leases.ts';
import { storedFidStates } from './orphans.ts';
import { checkHolder, checkQuotaAmounts, grantOf, QuotaWork, TREE_CTE, type ChargedUser } from './quota.ts';
import type { Dialect, Driver, Work } from './driver.ts';
import { all, get, placeholders, run } from './driver.ts';
import { runMigrations, schemaVersionWork } from './migrations.ts';
import type { Migration } from './schema/migration.ts';
import {
  checkAddress,
  checkChecksumAlg,
  checkClassCounts,
  checkDeviceStatus,
  checkDevids,
  checkDigest,
  checkHomeDir,
  checkHostStatus,
  checkId,
  checkInt,
  checkLabel,
  checkLimit,
  checkMode,
  checkObserved,
  checkPort,
  checkQueue,
  checkTime,
  decodeDevids,
  encodeDevids,
  num,
  numOrNull,
  str,
  toClass,
  toDevice,
  toDeviceView,
  toDomain,
  toEntry as toEntryRow,
  toFile,
  toHost,
  toQueueItem,
  toReservation,
  toUser,
  uniqueDevids,
} from './rows.ts';

const notFound = (msg: string) => mogError(ErrorCodes.NOT_FOUND, msg);
const exists = (msg: string) => mogError(ErrorCodes.EXISTS, msg);
const inUse = (msg: string) => mogError(ErrorCodes.IN_USE, msg);
const invalid = (msg: string) => mogError(ErrorCodes.INVALID_ARGUMENT, msg);

const DEFAULT_FILE_MODE = 0o644;
const DEFAULT_DIR_MODE = 0o755;
const DEFAULT_DEVICE_WEIGHT = 100;

const ENTRY_COLS = 'id, domain_id, parent_id, name, kind, fid, size, mtime, mode, class_id';
const CLASS_COLS = 'id, domain_id, name, mindevcount, write_quorum, checksum';
const HOST_COLS = 'id, name, address, http_port, status';
const DEVICE_COLS = 'devid, host_id, status, weight, mb_total, mb_used, observed, observed_at, observed_since';
const FILE_COLS = 'fid, domain_id, class_id, length, checksum, checksum_alg, devcount, created_at';
const RESERVATION_COLS = 'fid, domain_id, class_id, devids, created_at, user_id, quota_reserved, lease_until';
const QUEUE_COLS = 'queue, fid, devids, nexttry, failcount, lease_owner, lease_until';
const USER_COLS = 'id, name, password_hash, domain_id, home_dir, read_only, quota_bytes';
const DEVICE_VIEW_SQL = `SELECT d.devid, d.host_id, d.status, d.weight, d.mb_total, d.mb_used, d.observed,
  d.observed_at, d.observed_since, h.name AS host_name, h.address AS host_address,
  h.http_port AS host_port, h.status AS host_status
  FROM devices d JOIN hosts h ON h.id = d.host_id`;

const ENTRY_COL_NAMES = ENTRY_COLS.split(', ');
const WALK_STEP = 16;
const walkSqlCache = new Map<number, string>();

/**
 * SELECT of `depth` path components below one parent: e0 is the child named by the last
 * placeholder of the WHERE, each e<i> a child of e<i-1> (a file has no children, so the chain
 * ends at one). Placeholders, in order: the names of e1..e<depth-1>, then domain, parent, name of e0.
 */
function walkSql(depth: number): string {
  let sql = walkSqlCache.get(depth);
  if (sql) return sql;
  const cols = [];
  const joins = [];
  for (let i = 0; i < depth; i++) {
    cols.push(...ENTRY_COL_NAMES.map((c) => `e${i}.${c} AS e${i}_${c}`));
    if (i > 0) joins.push(`LEFT JOIN entries e${i} ON e${i}.domain_id = e0.domain_id AND e${i}.parent_id = e${i - 1}.id AND e${i}.name = ?`);
  }
  sql = `SELECT ${cols.join(', ')} FROM entries e0 ${joins.join(' ')} WHERE e0.domain_id = ? AND e0.parent_id = ? AND e0.name = ?`;
  walkSqlCache.set(depth, sql);
  return sql;
}

/** An entry, with its directory class when it has one (entries.class_id, schema v7): absent means inherit. */
function toEntry(r: Record<string, unknown>): Entry {
  const e = toEntryRow(r);
  if (r.class_id != null) e.classId = num(r.class_id);
  return e;
}

/** The root directory has no row; resolvePath([]) returns this stand-in for it. */
function rootEntry(domainId: number): Entry {
  return { id: ROOT_ID, domainId, parentId: ROOT_ID, name: '', kind: 'dir', fid: null, size: 0, mtime: 0, mode: DEFAULT_DIR_MODE };
}

export class SqlStore implements Store {
  readonly kind: 'sqlite' | 'mysql';
  private readonly d: Dialect;

  private readonly dav: DavWork;
  private readonly repair: RepairWork;
  private readonly logins: LoginWork;
  private readonly badReplicas: BadReplicaWork;
  private readonly quota: QuotaWork;
  private readonly jobLeases: JobLeaseWork;
  private readonly classTree: ClassTreeWork;

  constructor(private readonly driver: Driver) {
    this.kind = driver.kind;
    this.d = driver.dialect;
    this.dav = new DavWork(driver.dialect);
    this.repair = new RepairWork(driver.dialect);
    this.logins = new LoginWork(driver.dialect);
    this.badReplicas = new BadReplicaWork(driver.dialect);
    this.quota = new QuotaWork(driver.dialect);
    this.jobLeases = new JobLeaseWork(driver.dialect);
    this.classTree = new ClassTreeWork(driver.dialect);
  }

  async migrate(): Promise<number> {
    return runMigrations(this.driver);
  }

  /** Migrates along a given list of steps (tests use it to stage older and newer schemas). */
  async migrateWith(migrations: readonly Migration[]): Promise<number> {
    return runMigrations(this.driver, migrations);
  }

  async schemaVersion(): Promise<number> {
    return this.driver.read(() => schemaVersionWork(this.kind));
  }

  async close(): Promise<void> {
    return this.driver.close();
  }

  // --- domains and classes --------------------------------------------------------------

  async createDomain(name: string): Promise<Domain> {
    checkLabel('Domain name', name);
    return this.driver.write(function* () {
      if (yield* get('SELECT id FROM domains WHERE name = ?', name)) throw exists(`Domain "${name}" already exists`);
      const { insertId } = yield* run('INSERT INTO domains (name) VALUES (?)', name);
      yield* run(
        'INSERT INTO classes (domain_id, name, mindevcount, write_quorum, checksum) VALUES (?, ?, ?, ?, ?)',
        insertId, 'default', 2, 2, 'sha256',
      );
      return { id: insertId, name };
    });
  }

  async listDomains(): Promise<Domain[]> {
    return this.driver.read(function* () {
      return (yield* all('SELECT id, name FROM domains ORDER BY name')).map(toDomain);
    });
  }

  async getDomain(name: string): Promise<Domain | null> {
    return this.driver.read(function* () {
      const r = yield* get('SELECT id, name FROM domains WHERE name = ?', name);
      return r ? toDomain(r) : null;
    });
  }

  async removeDomain(name: string): Promise<void> {
    const d = this.d;
    return this.driver.write(function* () {
      const dom = yield* get(`SELECT id FROM domains WHERE name = ?${d.forUpdate}`, name);
      if (!dom) throw notFound(`Domain "${name}" does not exist`);
      const id = num(dom.id);
      yield* all(`SELECT id FROM classes WHERE domain_id = ?${d.forUpdate}`, id);
      const checks: Array<[string, string]> = [
        ['SELECT 1 AS x FROM entries WHERE domain_id = ? LIMIT 1', 'files or directories'],
        ['SELECT 1 AS x FROM files WHERE domain_id = ? LIMIT 1', 'files'],
        ['SELECT 1 AS x FROM reservations WHERE domain_id = ? LIMIT 1', 'uploads in progress'],
        ['SELECT 1 AS x FROM users WHERE domain_id = ? LIMIT 1', 'users'],
      ];
      for (const [sql, what] of checks) {
        if (yield* get(sql, id)) throw inUse(`Domain "${name}" still has ${what}; remove them first`);
      }
      yield* run('DELETE FROM classes WHERE domain_id = ?', id);
      yield* run('DELETE FROM domains WHERE id = ?', id);
    });
  }

  async createClass(domainId: number, name: string, opts: { mindevcount: number; writeQuorum?: number; checksum?: ChecksumAlg }): Promise<FileClass> {
    checkId('Domain id', domainId);
    checkLabel('Class name', name);
    const { mindevcount, writeQuorum } = checkClassCounts(opts?.mindevcount, opts?.writeQuorum);
    const checksum = checkChecksumAlg(opts.checksum ?? 'sha256');
    const d = this.d;
    return this.driver.write(function* () {
      if (!(yield* get(`SELECT id FROM domains WHERE id = ?${d.forShare}`, domainId))) throw notFound(`Domain ${domainId} does not exist`);
      if (yield* get('SELECT id FROM classes WHERE domain_id = ? AND name = ?', domainId, name))
        throw exists(`Class "${name}" already exists in this domain`);
      const { insertId } = yield* run(
        'INSERT INTO classes (domain_id, name, mindevcount, write_quorum, checksum) VALUES (?, ?, ?, ?, ?)',
        domainId, name, mindevcount, writeQuorum, checksum,
      );
      return { id: insertId, domainId, name, mindevcount, writeQuorum, checksum };
    });
  }

  async listClasses(domainId?: number): Promise<FileClass[]> {
    return this.driver.read(function* () {
      const rows =
        domainId === undefined
          ? yield* all(`SELECT ${CLASS_COLS} FROM classes ORDER BY domain_id, name`)
          : yield* all(`SELECT ${CLASS_COLS} FROM classes WHERE domain_id = ? ORDER BY name`, domainId);
      return rows.map(toClass);
    });
  }

  async getClass(domainId: number, name: string): Promise<FileClass | null> {
    return this.driver.read(function* () {
      const r = yield* get(`SELECT ${CLASS_COLS} FROM classes WHERE domain_id = ? AND name = ?`, domainId, name);
      return r ? toClass(r) : null;
    });
  }

  async getClassById(id: number): Promise<FileClass | null> {
    return this.driver.read(function* () {
      const r = yield* get(`SELECT ${CLASS_COLS} FROM classes WHERE id = ?`, id);
      return r ? toClass(r) : null;
    });
  }

  async updateClass(id: number, changes: { mindevcount?: number; writeQuorum?: number; checksum?: ChecksumAlg }): Promise<FileClass> {
    checkId('Class id', id);
    if (changes.checksum !== undefined) checkChecksumAlg(changes.checksum);
    const d = this.d;
    return this.driver.write(function* () {
      const r = yield* get(`SELECT ${CLASS_COLS} FROM classes WHERE id = ?${d.forUpdate}`, id);
      if (!r) throw notFound(`Class ${id} does not exist`);
      const cur = toClass(r);
      const mindevcount = changes.mindevcount ?? cur.mindevcount;
      // A quorum that was "all copies" follows mindevcount, as the default does; a smaller one
      // stays, cut down to mindevcount if that shrank below it.
      const quorum =
        changes.writeQuorum ?? (cur.writeQuorum === cur.mindevcount ? mindevcount : Math.min(cur.writeQuorum, mindevcount));
      const counts = checkClassCounts(mindevcount, quorum);
      const checksum = changes.checksum ?? cur.checksum;
      yield* run(
        'UPDATE classes SET mindevcount = ?, write_quorum = ?, checksum = ? WHERE id = ?',
        counts.mindevcount, counts.writeQuorum, checksum, id,
      );
      return { ...cur, ...counts, checksum };
    });
  }

  async removeClass(id: number): Promise<void> {
    const d = this.d;
    return this.driver.write(function* () {
      const r = yield* get(`SELECT name FROM classes WHERE id = ?${d.forUpdate}`, id);
      if (!r) throw notFound(`Class ${id} does not exist`);
      if (yield* get('SELECT 1 AS x FROM files WHERE class_id = ? LIMIT 1', id))
        throw inUse(`Class "${str(r.name)}" is still used by files`);
      if (yield* get('SELECT 1 AS x FROM reservations WHERE class_id = ? LIMIT 1', id))
        throw inUse(`Class "${str(r.name)}" is used by uploads in progress`);
      if (yield* get('SELECT 1 AS x FROM entries WHERE class_id = ? LIMIT 1', id))
        throw inUse(`Class "${str(r.name)}" is set on directories; clear it first ('admin dir list-classes', 'admin dir clear-class')`);
      yield* run('DELETE FROM classes WHERE id = ?', id);
    });
  }

  // --- hosts and devices ----------------------------------------------------------------

  async createHost(h: { name: string; address: string; httpPort: number; status?: HostStatus }): Promise<Host> {
    const name = checkLabel('Host name', h.name);
    const address = checkAddress(h.address);
    const httpPort = checkPort(h.httpPort);
    const status = checkHostStatus(h.status ?? 'alive');
    return this.driver.write(function* () {
      if (yield* get('SELECT id FROM hosts WHERE name = ?', name)) throw exists(`Host "${name}" already exists`);
      const { insertId } = yield* run(
        'INSERT INTO hosts (name, address, http_port, status) VALUES (?, ?, ?, ?)',
        name, address, httpPort, status,
      );
      return { id: insertId, name, address, httpPort, status };
    });
  }

  async listHosts(): Promise<Host[]> {
    return this.driver.read(function* () {
      return (yield* all(`SELECT ${HOST_COLS} FROM hosts ORDER BY id`)).map(toHost);
    });
  }

  async getHost(nameOrId: string | number): Promise<Host | null> {
    return this.driver.read(function* () {
      const r =
        typeof nameOrId === 'number'
          ? yield* get(`SELECT ${HOST_COLS} FROM hosts WHERE id = ?`, nameOrId)
          : yield* get(`SELECT ${HOST_COLS} FROM hosts WHERE name = ?`, nameOrId);
      return r ? toHost(r) : null;
    });
  }

  async updateHost(id: number, changes: { address?: string; httpPort?: number; status?: HostStatus; name?: string }): Promise<Host> {
    const next = {
      name: changes.name === undefined ? undefined : checkLabel('Host name', changes.name),
      address: changes.address === undefined ? undefined : checkAddress(changes.address),
      httpPort: changes.httpPort === undefined ? undefined : checkPort(changes.httpPort),
      status: changes.status === undefined ? undefined : checkHostStatus(changes.status),
    };
    const d = this.d;
    return this.driver.write(function* () {
      const r = yield* get(`SELECT ${HOST_COLS} FROM hosts WHERE id = ?${d.forUpdate}`, id);
      if (!r) throw notFound(`Host ${id} does not exist`);
      const cur = toHost(r);
      if (next.name !== undefined && next.name !== cur.name && (yield* get('SELECT id FROM hosts WHERE name = ?', next.name)))
        throw exists(`Host "${next.name}" already exists`);
      const host: Host = {
        id,
        name: next.name ?? cur.name,
        address: next.address ?? cur.address,
        httpPort: next.httpPort ?? cur.httpPort,
        status: next.status ?? cur.status,
      };
      yield* run(
        'UPDATE hosts SET name = ?, address = ?, http_port = ?, status = ? WHERE id = ?',
        host.name, host.address, host.httpPort, host.status, id,
      );
      return host;
    });
  }

  async removeHost(id: number): Promise<void> {
    const d = this.d;
    return this.driver.write(function* () {
      const h = yield* get(`SELECT name FROM hosts WHERE id = ?${d.forUpdate}`, id);
      if (!h) throw notFound(`Host ${id} does not exist`);
      const devs = yield* all(`SELECT devid, status FROM devices WHERE host_id = ?${d.forUpdate}`, id);
      const live = devs.filter((r) => str(r.status) !== 'dead').map((r) => num(r.devid));
      if (live.length)
        throw inUse(`Host "${str(h.name)}" still has devices that are not dead (${live.map((x) => `dev${x}`).join(', ')}); mark them dead first`);
      // Dead devices go with the host, but only once nothing claims to be stored on them.
      for (const r of devs) {
        const devid = num(r.devid);
        if (yield* get('SELECT 1 AS x FROM replicas WHERE devid = ? LIMIT 1', devid))
          throw inUse(`Dead device dev${devid} on host "${str(h.name)}" is still listed as holding files; wait until they are re-replicated`);
        yield* run('DELETE FROM devices WHERE devid = ?', devid);
        yield* run('INSERT INTO retired_devids (devid, retired_at) VALUES (?, ?)', devid, Date.now());
      }
      yield* run('DELETE FROM hosts WHERE id = ?', id);
    });
  }

  async createDevice(dv: { hostId: number; devid?: number; status?: DeviceStatus; weight?: number }): Promise<Device> {
    checkId('Host id', dv.hostId);
    if (dv.devid !== undefined) checkInt('Device id', dv.devid, 1, 0xffffffff);
    const status = checkDeviceStatus(dv.status ?? 'alive');
    const weight = checkInt('Weight', dv.weight ?? DEFAULT_DEVICE_WEIGHT, 0, 0xffffffff);
    const d = this.d;
    return this.driver.write(function* () {
      if (!(yield* get(`SELECT id FROM hosts WHERE id = ?${d.forShare}`, dv.hostId))) throw notFound(`Host ${dv.hostId} does not exist`);
      const counter = num((yield* get(`SELECT v FROM counters WHERE name = 'devid'${d.forUpdate}`))!.v);
      function* taken(devid: number): Work<boolean> {
        return Boolean(
          (yield* get('SELECT devid FROM devices WHERE devid = ?', devid)) ||
            (yield* get('SELECT devid FROM retired_devids WHERE devid = ?', devid)),
        );
      }
      let devid: number;
      if (dv.devid !== undefined) {
        devid = dv.devid;
        if (yield* taken(devid)) throw exists(`Device id ${devid} is taken (device ids are never reused, even after removal)`);
      } else {
        devid = counter + 1;
        while (yield* taken(devid)) devid++;
      }
      if (devid > counter) yield* run(`UPDATE counters SET v = ? WHERE name = 'devid'`, devid);
      yield* run(
        `INSERT INTO devices (devid, host_id, status, weight, observed) VALUES (?, ?, ?, ?, 'unknown')`,
        devid, dv.hostId, status, weight,
      );
      return {
        id: devid, hostId: dv.hostId, status, weight, mbTotal: null, mbUsed: null,
        observed: 'unknown', observedAt: null, observedSince: null,
      } satisfies Device;
    });
  }

  async listDevices(): Promise<DeviceView[]> {
    return this.driver.read(function* () {
      return (yield* all(`${DEVICE_VIEW_SQL} ORDER BY d.devid`)).map(toDeviceView);
    });
  }

  async getDevice(devid: number): Promise<DeviceView | null> {
    return this.driver.read(function* () {
      const r = yield* get(`${DEVICE_VIEW_SQL} WHERE d.devid = ?`, devid);
      return r ? toDeviceView(r) : null;
    });
  }

  async updateDevice(devid: number, changes: { status?: DeviceStatus; weight?: number }): Promise<Device> {
    const status = changes.status === undefined ? undefined : checkDeviceStatus(changes.status);
    const weight = changes.weight === undefined ? undefined : checkInt('Weight', changes.weight, 0, 0xffffffff);
    const d = this.d;
    return this.driver.write(function* () {
      const r = yield* get(`SELECT ${DEVICE_COLS} FROM devices WHERE devid = ?${d.forUpdate}`, devid);
      if (!r) throw notFound(`Device ${devid} does not exist`);
      const dev = { ...toDevice(r), ...(status !== undefined && { status }), ...(weight !== undefined && { weight }) };
      yield* run('UPDATE devices SET status = ?, weight = ? WHERE devid = ?', dev.status, dev.weight, devid);
      return dev;
    });
  }

  async observeDevice(devid: number, obs: { observed: ObservedState; mbTotal?: number | null; mbUsed?: number | null; at: number }): Promise<void> {
    const observed = checkObserved(obs.observed);
    const at = checkTime('Observation time', obs.at);
    // observed_since comes first: MySQL evaluates SET left to right with already-updated values.
    const sets = ['observed_since = CASE WHEN observed = ? THEN observed_since ELSE ? END', 'observed = ?', 'observed_at = ?'];
    const params: unknown[] = [observed, at, observed, at];
    for (const [col, v] of [['mb_total', obs.mbTotal], ['mb_used', obs.mbUsed]] as const) {
      if (v === undefined) continue;
      sets.push(`${col} = ?`);
      params.push(v === null ? null : checkInt(col, v, 0));
    }
    return this.driver.write(function* () {
      const { changes } = yield* run(`UPDATE devices SET ${sets.join(', ')} WHERE devid = ?`, ...params, devid);
      if (changes === 0) throw notFound(`Device ${devid} does not exist`);
    });
  }

  async removeDevice(devid: number): Promise<void> {
    const d = this.d;
    return this.driver.write(function* () {
      if (!(yield* get(`SELECT devid FROM devices WHERE devid = ?${d.forUpdate}`, devid))) throw notFound(`Device ${devid} does not exist`);
      if (yield* get('SELECT 1 AS x FROM replicas WHERE devid = ? LIMIT 1', devid))
        throw inUse(`Device dev${devid} still holds files; drain it or mark it dead and let them re-replicate first`);
      yield* run('DELETE FROM devices WHERE devid = ?', devid);
      yield* run('INSERT INTO retired_devids (devid, retired_at) VALUES (?, ?)', devid, Date.now());
    });
  }

  // --- files and replicas ---------------------------------------------------------------

  async getFile(fid: number): Promise<FileRow | null> {
    return this.driver.read(function* () {
      const r = yield* get(`SELECT ${FILE_COLS} FROM files WHERE fid = ?`, fid);
      return r ? toFile(r) : null;
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
      if (!(yield* get(`SELECT fid FROM files WHERE fid = ?${d.forUpdate}`, fid))) throw notFound(`File ${fid} does not exist (deleted?)`);
      if (!(yield* get('SELECT devid FROM devices WHERE devid = ?', devid))) throw notFound(`Device ${devid} does not exist`);
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

  async listFids(afterFid: number, limit: number): Promise<FileRow[]> {
    checkLimit(limit);
    return this.driver.read(function* () {
      return (yield* all(`SELECT ${FILE_COLS} FROM files WHERE fid > ? ORDER BY fid LIMIT ?`, afterFid, limit)).map(toFile);
    });
  }

  // --- uploads --------------------------------------------------------------------------

  async reserveUpload(r: { domainId: number; classId: number; devids: number[]; now: number; quota?: QuotaRequest }): Promise<Reservation> {
    checkId('Domain id', r.domainId);
    checkId('Class id', r.classId);
    const devids = [...checkDevids(r.devids)];
    const now = checkTime('Time', r.now);
    const q = r.quota;
    if (q) {
      checkHolder(q);
      checkQuotaAmounts(q.need, q.want, q.leaseMs);
      if (q.replacesEntryId !== null) checkId('Replaced entry id', q.replacesEntryId);
    }
    const d = this.d;
    const quota = this.quota;
    // One transaction, one commit: on MySQL every autocommit statement is a log flush of its own,
    // and a reservation used to cost two (counter, then row). The counter's row lock is held
    // only until COMMIT, and InnoDB lets it go before it waits for the flush. The class check
    // rides on the INSERT (no row inserted: no such class), which saves a round trip.
    return this.driver.write(function* () {
      // The user's row first: every charged write locks it before anything else (one order, no deadlock).
      const user: ChargedUser | null = q ? yield* quota.lockUser(q.userId) : null;
      let grant: QuotaGrant | null = null;
      let creditEntry: number | null = null;
      if (q && user) {
        const { granted, credited } = yield* quota.room(user, { homeId: q.homeId, fid: null, creditEntryId: q.replacesEntryId, now }, q.need, q.want);
        grant = grantOf(user, granted, now + q.leaseMs);
        // Claimed only when granted: an overwrite racing another one of the same file gets no credit.
        if (credited > 0) creditEntry = q.replacesEntryId;
      }
      const fid = yield* d.bumpCounter('fid');
      const { changes } = yield* run(
        `INSERT INTO reservations (fid, domain_id, class_id, devids, created_at, user_id, home_id, quota_reserved, quota_credit_entry, lease_until)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM classes WHERE id = ? AND domain_id = ?`,
        fid, r.domainId, r.classId, encodeDevids(devids), now,
        q?.userId ?? null, q?.homeId ?? null, grant?.granted ?? 0, creditEntry, grant?.leaseUntil ?? 0,
        r.classId, r.domainId,
      );
      if (changes === 0) throw notFound(`Class ${r.classId} does not exist in domain ${r.domainId}`);
      return { fid, domainId: r.domainId, classId: r.classId, devids, createdAt: now, quota: grant };
    });
  }

  // --- quotas (the SQL lives in quota.ts) -------------------------------------------------

  async growReservation(fid: number, need: number, want: number, leaseMs: number, now: number): Promise<QuotaGrant> {
    checkId('Fid', fid);
    checkQuotaAmounts(need, want, leaseMs);
    checkTime('Now', now);
    const quota = this.quota;
    return this.driver.write(function* () {
      const r = yield* get('SELECT user_id, home_id, quota_credit_entry FROM reservations WHERE fid = ?', fid);
      if (!r) throw mogError(ErrorCodes.UPLOAD_ABORTED, `Upload ${fid} is no longer reserved (aborted or expired)`);
      if (r.user_id == null) throw invalid(`Upload ${fid} is not charged to a user`);
      const user = yield* quota.lockUser(num(r.user_id));
      const { granted } = yield* quota.room(user, { homeId: num(r.home_id), fid, creditEntryId: numOrNull(r.quota_credit_entry), now }, need, want);
      const leaseUntil = now + leaseMs;
      const { changes } = yield* run('UPDATE reservations SET quota_reserved = ?, lease_until = ? WHERE fid = ?', granted, leaseUntil, fid);
      if (changes === 0) throw mogError(ErrorCodes.UPLOAD_ABORTED, `Upload ${fid} is no longer reserved (aborted or expired)`);
      return grantOf(user, granted, leaseUntil);
    });
  }

  async quotaUsage(holder: QuotaHolder, now: number): Promise<QuotaUsage> {
    checkHolder(holder);
    checkTime('Now', now);
    return this.driver.read(() => this.quota.usage(holder, now));
  }

  async getReservation(fid: number): Promise<Reservation | null> {
    return this.driver.read(function* () {
      const r = yield* get(`SELECT ${RESERVATION_COLS} FROM reservations WHERE fid = ?`, fid);
      return r ? toReservation(r) : null;
    });
  }

  async staleReservations(olderThan: number, limit: number): Promise<Reservation[]> {
    checkLimit(limit);
    return this.driver.read(function* () {
      const rows = yield* all(
        `SELECT ${RESERVATION_COLS} FROM reservations WHERE created_at < ? ORDER BY created_at, fid LIMIT ?`,
        olderThan, limit,
      );
      return rows.map(toReservation);
    });
  }

  async commitUpload(c: CommitUploadInput): Promise<CommitResult> {
    checkId('Fid', c.fid);
    checkInt('Parent id', c.parentId, 0);
    validateName(c.name);
    checkInt('Length', c.length, 0);
    const devids = uniqueDevids(checkDevids(c.devids));
    checkTime('Modification time', c.mtime);
    const mode = checkMode(c.mode ?? DEFAULT_FILE_MODE);
    const d = this.d;
    const self = this;
    return this.driver.write(function* (): Work<CommitResult> {
      const res = yield* get(
        `SELECT r.domain_id, r.class_id, r.user_id, r.home_id, c.mindevcount, c.checksum FROM reservations r
         JOIN classes c ON c.id = r.class_id WHERE r.fid = ?${d.forShare}`,
        c.fid,
      );
      if (!res) throw notFound(`Upload ${c.fid} is no longer reserved (aborted or expired)`);
      // A charged upload re-reads its user (gone or read-only: nothing is committed).
      const user = res.user_id == null ? null : yield* self.quota.lockUser(num(res.user_id));
      const domainId = num(res.domain_id);
      const alg = str(res.checksum) as ChecksumAlg;
      const checksum = checkDigest(alg, c.checksum);
      yield* self.parentWork(domainId, c.parentId);
      const oldRow = yield* get(
        `SELECT ${ENTRY_COLS} FROM entries WHERE domain_id = ? AND parent_id = ? AND name = ?${d.forUpdate}`,
        domainId, c.parentId, c.name,
      );
      const old = oldRow ? toEntry(oldRow) : null;
      if (old?.kind === 'dir') throw mogError(ErrorCodes.IS_A_DIRECTORY, `"${c.name}" is a directory`);
      if (user) yield* self.finalQuotaWork(user, num(res.home_id), c.fid, c.length - (old?.size ?? 0));

      const gone = yield* run('DELETE FROM reservations WHERE fid = ?', c.fid);
      if (gone.changes === 0) throw notFound(`Upload ${c.fid} is no longer reserved (aborted or expired)`);
      yield* run(
        `INSERT INTO files (fid, domain_id, class_id, length, checksum, checksum_alg, devcount, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        c.fid, domainId, num(res.class_id), c.length, checksum, alg, devids.length, Date.now(),
      );
      if (devids.length) {
        yield* run(
          `INSERT INTO replicas (fid, devid) VALUES ${devids.map(() => '(?, ?)').join(', ')}`,
          ...devids.flatMap((devid) => [c.fid, devid]),
        );
      }
      let entry: Entry;
      if (old) {
        yield* run('UPDATE entries SET fid = ?, size = ?, mtime = ? WHERE id = ?', c.fid, c.length, c.mtime, old.id);
        yield* self.dropFileWork(old.fid!);
        entry = { ...old, fid: c.fid, size: c.length, mtime: c.mtime };
      } else {
        const { insertId } = yield* run(
          `INSERT INTO entries (domain_id, parent_id, name, kind, fid, size, mtime, mode) VALUES (?, ?, ?, 'file', ?, ?, ?, ?)`,
          domainId, c.parentId, c.name, c.fid, c.length, c.mtime, mode,
        );
        entry = { id: insertId, domainId, parentId: c.parentId, name: c.name, kind: 'file', fid: c.fid, size: c.length, mtime: c.mtime, mode };
      }
      if (devids.length < num(res.mindevcount)) yield* self.enqueueWork('replicate', c.fid, [], Date.now());
      return { entry, replacedFid: old ? old.fid : null };
    });
  }

  async abortUpload(fid: number): Promise<void> {
    const d = this.d;
    const self = this;
    return this.driver.write(function* () {
      const r = yield* get(`SELECT devids FROM reservations WHERE fid = ?${d.forUpdate}`, fid);
      if (!r) return; // already committed, aborted or reaped
      yield* run('DELETE FROM reservations WHERE fid = ?', fid);
      yield* self.enqueueWork('delete', fid, decodeDevids(r.devids), Date.now());
    });
  }

  // --- namespace ------------------------------------------------------------------------

  async getEntry(id: number): Promise<Entry | null> {
    return this.driver.read(function* () {
      const r = yield* get(`SELECT ${ENTRY_COLS} FROM entries WHERE id = ?`, id);
      return r ? toEntry(r) : null;
    });
  }

  async lookup(domainId: number, parentId: number, name: string): Promise<Entry | null> {
    return this.driver.read(function* () {
      const r = yield* get(`SELECT ${ENTRY_COLS} FROM entries WHERE domain_id = ? AND parent_id = ? AND name = ?`, domainId, parentId, name);
      return r ? toEntry(r) : null;
    });
  }

  /** `[]` resolves to a stand-in for the root (id ROOT_ID, which has no row). */
  async resolvePath(domainId: number, names: string[]): Promise<Entry | null> {
    if (names.length === 0) return rootEntry(domainId);
    const chain = await this.walkPath(domainId, names);
    return chain.length === names.length ? chain[chain.length - 1]! : null;
  }

  async walkPath(domainId: number, names: string[]): Promise<Entry[]> {
    return this.driver.read(function* () {
      const chain: Entry[] = [];
      let parent = rootEntry(domainId);
      // One query per WALK_STEP components (a chain of LEFT JOINs): a path costs one round trip
      // whatever its depth, where a lookup per component cost one each.
      for (let at = 0; at < names.length; at += WALK_STEP) {
        if (parent.kind !== 'dir') break;
        const step = names.slice(at, at + WALK_STEP);
        const row = yield* get(walkSql(step.length), ...step.slice(1), domainId, parent.id, step[0]);
        if (!row) break;
        for (let i = 0; i < step.length && row[`e${i}_id`] !== null && row[`e${i}_id`] !== undefined; i++) {
          chain.push(toEntry(Object.fromEntries(ENTRY_COL_NAMES.map((c) => [c, row[`e${i}_${c}`]]))));
        }
        if (chain.length < at + step.length) break;
        parent = chain[chain.length - 1]!;
      }
      return chain;
    });
  }

  async listDir(domainId: number, parentId: number, opts: { after?: string; limit: number }): Promise<Entry[]> {
    const limit = checkLimit(opts.limit);
    return this.driver.read(function* () {
      const rows =
        opts.after === undefined
          ? yield* all(`SELECT ${ENTRY_COLS} FROM entries WHERE domain_id = ? AND parent_id = ? ORDER BY name LIMIT ?`, domainId, parentId, limit)
          : yield* all(
              `SELECT ${ENTRY_COLS} FROM entries WHERE domain_id = ? AND parent_id = ? AND name > ? ORDER BY name LIMIT ?`,
              domainId, parentId, opts.after, limit,
            );
      return rows.map(toEntry);
    });
  }

  async mkdir(domainId: number, parentId: number, name: string, opts: { mtime: number; mode?: number }): Promise<Entry> {
    checkId('Domain id', domainId);
    checkInt('Parent id', parentId, 0);
    validateName(name);
    const mtime = checkTime('Modification time', opts.mtime);
    const mode = checkMode(opts.mode ?? DEFAULT_DIR_MODE);
    const self = this;
    return this.driver.write(function* (): Work<Entry> {
      yield* self.parentWork(domainId, parentId);
      if (yield* get('SELECT id FROM entries WHERE domain_id = ? AND parent_id = ? AND name = ?', domainId, parentId, name))
        throw exists(`"${name}" already exists`);
      const { insertId } = yield* run(
        `INSERT INTO entries (domain_id, parent_id, name, kind, fid, size, mtime, mode) VALUES (?, ?, ?, 'dir', NULL, 0, ?, ?)`,
        domainId, parentId, name, mtime, mode,
      );
      return { id: insertId, domainId, parentId, name, kind: 'dir', fid: null, size: 0, mtime, mode };
    });
  }

  async rmdir(id: number): Promise<void> {
    const d = this.d;
    return this.driver.write(function* () {
      const r = yield* get(`SELECT ${ENTRY_COLS} FROM entries WHERE id = ?${d.forUpdate}`, id);
      if (!r) throw notFound('No such directory');
      const e = toEntry(r);
      if (e.kind !== 'dir') throw mogError(ErrorCodes.NOT_A_DIRECTORY, `"${e.name}" is not a directory`);
      if (yield* get('SELECT 1 AS x FROM entries WHERE domain_id = ? AND parent_id = ? LIMIT 1', e.domainId, e.id))
        throw mogError(ErrorCodes.NOT_EMPTY, `Directory "${e.name}" is not empty`);
      yield* run('DELETE FROM entries WHERE id = ?', id);
    });
  }

  async removeFile(id: number): Promise<void> {
    const d = this.d;
    const self = this;
    return this.driver.write(function* () {
      const r = yield* get(`SELECT ${ENTRY_COLS} FROM entries WHERE id = ?${d.forUpdate}`, id);
      if (!r) throw notFound('No such file');
      const e = toEntry(r);
      if (e.kind !== 'file') throw mogError(ErrorCodes.IS_A_DIRECTORY, `"${e.name}" is a directory`);
      yield* run('DELETE FROM entries WHERE id = ?', id);
      yield* self.dropFileWork(e.fid!);
    });
  }

  async rename(id: number, toParentId: number, toName: string): Promise<{ entry: Entry; replacedFid: number | null }> {
    checkId('Entry id', id);
    checkInt('Parent id', toParentId, 0);
    validateName(toName);
    const d = this.d;
    const self = this;
    return this.driver.write(function* () {
      const r = yield* get(`SELECT ${ENTRY_COLS} FROM entries WHERE id = ?${d.forUpdate}`, id);
      if (!r) throw notFound('No such file or directory');
      const e = toEntry(r);
      if (e.parentId === toParentId && e.name === toName) return { entry: e, replacedFid: null };
      yield* self.parentWork(e.domainId, toParentId);
      if (e.kind === 'dir' && toParentId !== e.parentId) {
        // Walk up from the target; share-locking each ancestor stops a concurrent move from
        // building a cycle with this one (one of the two then deadlocks, retries and sees it).
        let cur = toParentId;
        for (let depth = 0; cur !== ROOT_ID; depth++) {
          if (cur === e.id) throw mogError(ErrorCodes.INVALID_MOVE, `Cannot move directory "${e.name}" into itself`);
          if (depth > 100_000) throw mogError(ErrorCodes.INTERNAL, 'The directory tree has a cycle');
          const up = yield* get(`SELECT parent_id FROM entries WHERE id = ?${d.forShare}`, cur);
          if (!up) throw notFound('The target directory no longer exists');
          cur = num(up.parent_id);
        }
      }
      const t = yield* get(
        `SELECT ${ENTRY_COLS} FROM entries WHERE domain_id = ? AND parent_id = ? AND name = ?${d.forUpdate}`,
        e.domainId, toParentId, toName,
      );
      let replacedFid: number | null = null;
      if (t) {
        const target = toEntry(t);
        if (e.kind !== 'file' || target.kind !== 'file') throw exists(`"${toName}" already exists`);
        yield* run('DELETE FROM entries WHERE id = ?', target.id);
        yield* self.dropFileWork(target.fid!);
        replacedFid = target.fid;
      }
      yield* run('UPDATE entries SET parent_id = ?, name = ? WHERE id = ?', toParentId, toName, id);
      return { entry: { ...e, parentId: toParentId, name: toName }, replacedFid };
    });
  }

  async setMtime(id: number, mtime: number): Promise<void> {
    checkTime('Modification time', mtime);
    // One statement: autocommit saves MySQL the START TRANSACTION and COMMIT round trips.
    return this.driver.auto(function* () {
      const { changes } = yield* run('UPDATE entries SET mtime = ? WHERE id = ?', mtime, id);
      if (changes === 0) throw notFound('No such file or directory');
    });
  }

  async setMode(id: number, mode: number): Promise<void> {
    checkMode(mode);
    // One statement: autocommit saves MySQL the START TRANSACTION and COMMIT round trips.
    return this.driver.auto(function* () {
      const { changes } = yield* run('UPDATE entries SET mode = ? WHERE id = ?', mode, id);
      if (changes === 0) throw notFound('No such file or directory');
    });
  }

  async usageUnder(domainId: number, dirId: number): Promise<number> {
    return this.driver.read(function* () {
      const r =
        dirId === ROOT_ID
          ? yield* get(`SELECT COALESCE(SUM(size), 0) AS total FROM entries WHERE domain_id = ? AND kind = 'file'`, domainId)
          : yield* get(
              // The walk of store/quota.ts (TREE_CTE: child lookups through the path index).
              `${TREE_CTE}
               SELECT COALESCE(SUM(e.size), 0) AS total FROM tree t CROSS JOIN entries e
               WHERE e.domain_id = ? AND e.parent_id = t.id AND e.kind = 'file'`,
              dirId, domainId, domainId, domainId,
            );
      return num(r?.total ?? 0);
    });
  }

  // --- queues ---------------------------------------------------------------------------

  async enqueue(queue: QueueName, fid: number, opts: { devids?: number[]; delayMs?: number; now?: number } = {}): Promise<void> {
    checkQueue(queue);
    checkId('Fid', fid);
    const devids = checkDevids(opts.devids ?? []);
    const nextTry = (opts.now ?? Date.now()) + (opts.delayMs ?? 0);
    checkTime('Next try', nextTry);
    return this.driver.write(() => this.enqueueWork(queue, fid, devids, nextTry));
  }

  async claim(
    queue: QueueName,
    owner: string,
    opts: { limit: number; leaseMs: number; now: number; staleBefore?: number; exclude?: number[] },
  ): Promise<QueueItem[]> {
    checkQueue(queue);
    checkLabel('Lease owner', owner);
    const limit = checkLimit(opts.limit);
    const leaseUntil = checkTime('Now', opts.now) + checkInt('Lease', opts.leaseMs, 1);
    if (opts.staleBefore !== undefined) checkTime('Stale-before time', opts.staleBefore);
    const exclude = opts.exclude ?? [];
    if (!Array.isArray(exclude) || exclude.length > 1000) throw invalid('claim excludes at most 1000 fids');
    exclude.forEach((f) => checkId('Fid', f));
    // The SQL lives in job-leases.ts (it also takes over the items of silent owners).
    return this.driver.write(() =>
      this.jobLeases.claim(queue, owner, { limit, now: opts.now, leaseUntil, staleBefore: opts.staleBefore, exclude }),
    );
  }

  async complete(queue: QueueName, fid: number, owner: string): Promise<boolean> {
    return this.driver.write(function* () {
      // Asked for again while we worked (requeued): the new request may need work we did not do,
      // so the item stays, released and due; failcount starts over as for a fresh request.
      const kept = yield* run(
        `UPDATE queue SET lease_owner = NULL, lease_until = NULL, requeued = 0, failcount = 0
         WHERE queue = ? AND fid = ? AND lease_owner = ? AND requeued = 1`,
        queue, fid, owner,
      );
      if (kept.changes > 0) return true;
      const { changes } = yield* run('DELETE FROM queue WHERE queue = ? AND fid = ? AND lease_owner = ?', queue, fid, owner);
      return changes > 0;
    });
  }

  async retry(queue: QueueName, fid: number, owner: string, opts: { delayMs: number; now: number }): Promise<boolean> {
    const nextTry = checkTime('Now', opts.now) + checkInt('Delay', opts.delayMs, 0);
    return this.driver.write(function* () {
      const { changes } = yield* run(
        `UPDATE queue SET lease_owner = NULL, lease_until = NULL, requeued = 0, failcount = failcount + 1, nexttry = ?
         WHERE queue = ? AND fid = ? AND lease_owner = ?`,
        nextTry, queue, fid, owner,
      );
      return changes > 0;
    });
  }

  async queueDepth(queue: QueueName): Promise<number> {
    return this.driver.read(function* () {
      return num((yield* get('SELECT COUNT(*) AS n FROM queue WHERE queue = ?', queue))!.n);
    });
  }

  // --- users and settings ---------------------------------------------------------------

  async createUser(u: Omit<User, 'id'>): Promise<User> {
    const user = checkUser(u);
    const d = this.d;
    return this.driver.write(function* () {
      if (!(yield* get(`SELECT id FROM domains WHERE id = ?${d.forShare}`, user.domainId))) throw notFound(`Domain ${user.domainId} does not exist`);
      if (yield* get('SELECT id FROM users WHERE name = ?', user.name)) throw exists(`User "${user.name}" already exists`);
      const { insertId } = yield* run(
        'INSERT INTO users (name, password_hash, domain_id, home_dir, read_only, quota_bytes) VALUES (?, ?, ?, ?, ?, ?)',
        user.name, user.passwordHash, user.domainId, user.homeDir, user.readOnly ? 1 : 0, user.quotaBytes,
      );
      return { id: insertId, ...user };
    });
  }

  async getUser(name: string): Promise<User | null> {
    return this.driver.read(function* () {
      const r = yield* get(`SELECT ${USER_COLS} FROM users WHERE name = ?`, name);
      return r ? toUser(r) : null;
    });
  }

  async listUsers(): Promise<User[]> {
    return this.driver.read(function* () {
      return (yield* all(`SELECT ${USER_COLS} FROM users ORDER BY name`)).map(toUser);
    });
  }

  async updateUser(name: string, changes: Partial<Omit<User, 'id' | 'name'>>): Promise<User> {
    const d = this.d;
    return this.driver.write(function* () {
      const r = yield* get(`SELECT ${USER_COLS} FROM users WHERE name = ?${d.forUpdate}`, name);
      if (!r) throw notFound(`User "${name}" does not exist`);
      const cur = toUser(r);
      const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
      const next = { ...cur, ...checkUser({ ...cur, ...defined }) };
      if (next.domainId !== cur.domainId && !(yield* get(`SELECT id FROM domains WHERE id = ?${d.forShare}`, next.domainId)))
        throw notFound(`Domain ${next.domainId} does not exist`);
      yield* run(
        'UPDATE users SET password_hash = ?, domain_id = ?, home_dir = ?, read_only = ?, quota_bytes = ? WHERE id = ?',
        next.passwordHash, next.domainId, next.homeDir, next.readOnly ? 1 : 0, next.quotaBytes, cur.id,
      );
      return next;
    });
  }

  async removeUser(name: string): Promise<void> {
    return this.driver.write(function* () {
      const { changes } = yield* run('DELETE FROM users WHERE name = ?', name);
      if (changes === 0) throw notFound(`User "${name}" does not exist`);
    });
  }

  async getSetting(key: string): Promise<string | null> {
    return this.driver.read(function* () {
      const r = yield* get('SELECT value FROM settings WHERE `key` = ?', key);
      return r ? str(r.value) : null;
    });
  }

  async setSetting(key: string, value: string): Promise<void> {
    checkLabel('Setting name', key);
    if (typeof value !== 'string') throw invalid('A setting value must be a string');
    const d = this.d;
    return this.driver.write(function* () {
      const { changes } = yield* run(`${d.insertIgnore} INTO settings (\`key\`, value) VALUES (?, ?)`, key, value);
      if (changes === 0) yield* run('UPDATE settings SET value = ? WHERE `key` = ?', value, key);
    });
  }

  // --- login attempts (the SQL lives in logins.ts) -------------------------------------

  async takeLoginAttempt(address: string, policy: LoginPolicy, now: number): Promise<LoginAttempt> {
    checkClientAddress(address);
    checkPolicy(policy);
    return this.driver.write(() => this.logins.take(address, policy, now));
  }

  async settleLoginAttempt(address: string, ok: boolean, policy: LoginPolicy, now: number): Promise<number> {
    checkClientAddress(address);
    checkPolicy(policy);
    return this.driver.write(() => this.logins.settle(address, ok, policy, now));
  }

  async loginBannedFor(address: string, now: number): Promise<number> {
    checkClientAddress(address);
    return this.driver.read(() => this.logins.bannedFor(address, now));
  }

  async pruneLoginAttempts(before: number): Promise<number> {
    return this.driver.write(() => this.logins.prune(before));
  }

  async clearLoginAttempts(address: string): Promise<boolean> {
    checkClientAddress(address);
    return this.driver.write(() => this.logins.clear(address));
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

  // --- classes on the directory tree (the SQL lives in classes-tree.ts) -------------------

  async setDirClass(entryId: number, classId: number | null): Promise<Entry> {
    checkId('Entry id', entryId);
    if (classId !== null) checkId('Class id', classId);
    const tree = this.classTree;
    return this.driver.write(function* () {
      yield* tree.setDirClass(entryId, classId);
      return toEntry((yield* get(`SELECT ${ENTRY_COLS} FROM entries WHERE id = ?`, entryId))!);
    });
  }

  async inheritedClass(domainId: number, dirId: number): Promise<InheritedClass> {
    checkId('Domain id', domainId);
    checkInt('Directory id', dirId, 0);
    return this.driver.read(() => this.classTree.inheritedClass(domainId, dirId));
  }

  async listDirClasses(domainId?: number): Promise<DirClass[]> {
    if (domainId !== undefined) checkId('Domain id', domainId);
    return this.driver.read(() => this.classTree.listDirClasses(domainId));
  }

  async setFileClass(fid: number, classId: number): Promise<boolean> {
    checkId('Fid', fid);
    checkId('Class id', classId);
    const { classTree: tree } = this;
    const self = this;
    return this.driver.write(function* () {
      const domainId = yield* tree.fileDomain(fid);
      yield* tree.lockClass(domainId, classId);
      const changed = yield* tree.setFilesClass(domainId, [fid], classId);
      // The replicate job compares the copies with the new class: it adds or trims them.
      for (const f of changed) yield* self.enqueueWork('replicate', f, [], Date.now());
      return changed.length > 0;
    });
  }

  async setClassUnder(domainId: number, dirId: number, classId: number, afterFid: number, limit: number): Promise<{ fids: number[]; changed: number }> {
    checkId('Domain id', domainId);
    checkInt('Directory id', dirId, 0);
    checkId('Class id', classId);
    checkInt('Fid', afterFid, 0);
    checkLimit(limit);
    const { classTree: tree } = this;
    const self = this;
    return this.driver.write(function* () {
      yield* tree.lockClass(domainId, classId);
      const fids = yield* tree.fidsUnder(domainId, dirId, afterFid, limit);
      const changed = yield* tree.setFilesClass(domainId, fids, classId);
      const now = Date.now();
      for (const f of changed) yield* self.enqueueWork('replicate', f, [], now);
      return { fids, changed: changed.length };
    });
  }

  // --- job leases: owners' heartbeats, takeovers, device tasks (the SQL lives in job-leases.ts)

  async registerJobOwner(o: JobOwner): Promise<void> {
    checkLabel('Lease owner', o.owner);
    checkLabel('Host name', o.hostname);
    checkLabel('Pid space', o.pidSpace);
    checkInt('Pid', o.pid, 0);
    checkTime('Start time', o.startedAt);
    checkTime('Heartbeat time', o.heartbeatAt);
    return this.driver.write(() => this.jobLeases.register(o));
  }

  async heartbeatJobOwner(owner: string, now: number): Promise<boolean> {
    checkTime('Heartbeat time', now);
    return this.driver.write(() => this.jobLeases.heartbeat(owner, now));
  }

  async listJobOwners(): Promise<JobOwner[]> {
    return this.driver.read(() => this.jobLeases.list());
  }

  async releaseJobOwner(owner: string): Promise<number> {
    checkLabel('Lease owner', owner);
    return this.driver.write(() => this.jobLeases.releaseOwner(owner));
  }

  async holdsLease(queue: QueueName, fid: number, owner: string): Promise<boolean> {
    checkQueue(queue);
    checkId('Fid', fid);
    return this.driver.read(() => this.jobLeases.holdsLease(queue, fid, owner));
  }

  async acquireTaskLease(task: string, owner: string, opts: { now: number; ttlMs: number; staleBefore: number }): Promise<boolean> {
    checkLabel('Task', task);
    checkLabel('Lease owner', owner);
    const until = checkTime('Now', opts.now) + checkInt('Task lease', opts.ttlMs, 1);
    checkTime('Stale-before time', opts.staleBefore);
    return this.driver.write(() => this.jobLeases.acquireTask(task, owner, opts.now, until, opts.staleBefore));
  }

  async releaseTaskLease(task: string, owner: string): Promise<void> {
    checkLabel('Task', task);
    return this.driver.write(() => this.jobLeases.releaseTask(task, owner));
  }

  async storedFidStates(devid: number, fids: number[]): Promise<StoredFidState[]> {
    checkId('Device id', devid);
    if (!Array.isArray(fids) || fids.length > 1000) throw invalid('storedFidStates takes at most 1000 fids');
    fids.forEach((f) => checkId('Fid', f));
    // The SQL lives in orphans.ts.
    return this.driver.read(() => storedFidStates(devid, fids));
  }

  // --- WebDAV (the SQL lives in dav.ts) --------------------------------------------------

  async getFiles(fids: number[]): Promise<FileRow[]> {
    const ids = [...new Set(fids)].filter((f) => Number.isSafeInteger(f) && f > 0);
    return this.driver.read(function* () {
      const out: FileRow[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        const batch = ids.slice(i, i + 500);
        out.push(...(yield* all(`SELECT ${FILE_COLS} FROM files WHERE fid IN ${placeholders(batch.length)}`, ...batch)).map(toFile));
      }
      return out.sort((a, b) => a.fid - b.fid);
    });
  }

  async davProps(domainId: number, entryIds: number[]): Promise<DavProp[]> {
    entryIds.forEach((id) => checkInt('Entry id', id, 0));
    if (entryIds.length === 0) return [];
    return this.driver.read(() => this.dav.props(domainId, entryIds));
  }

  async patchDavProps(domainId: number, entryId: number, ops: DavPropPatch[], holder?: QuotaHolder): Promise<void> {
    checkId('Domain id', domainId);
    checkInt('Entry id', entryId, 0);
    checkPatch(ops);
    if (holder) checkHolder(holder);
    const { dav, quota } = this;
    return this.driver.write(function* () {
      if (!holder) return yield* dav.patch(domainId, entryId, ops);
      // Applied, then measured: the transaction rolls back when it put the user over quota.
      const user = yield* quota.lockUser(holder.userId);
      const before = yield* quota.entryPropBytes(domainId, entryId);
      yield* dav.patch(domainId, entryId, ops);
      const after = yield* quota.entryPropBytes(domainId, entryId);
      yield* quota.assertWithin(user, holder.homeId, after - before, Date.now());
    });
  }

  async copyDavProps(domainId: number, fromId: number, toId: number): Promise<void> {
    checkInt('Entry id', fromId, 0);
    checkInt('Entry id', toId, 0);
    return this.driver.write(() => this.dav.copy(domainId, fromId, toId));
  }

  async purgeDavState(now: number): Promise<{ props: number; locks: number }> {
    checkTimes(now);
    return this.driver.write(() => this.dav.purge(now));
  }

  async createDavLock(lock: NewDavLock, now: number, holder?: QuotaHolder): Promise<DavLock> {
    checkNewLock(lock);
    checkTimes(now);
    if (holder) checkHolder(holder);
    const { dav, quota } = this;
    return this.driver.write(function* () {
      if (!holder) return yield* dav.create(lock, now);
      const user = yield* quota.lockUser(holder.userId);
      const created = yield* dav.create(lock, now);
      yield* quota.assertWithin(user, holder.homeId, lock.owner === null ? 0 : Buffer.byteLength(lock.owner), now);
      return created;
    });
  }

  async davLocksAt(domainId: number, path: string, opts: { descendants: boolean; now: number }): Promise<DavLock[]> {
    checkLockPath(path);
    checkTimes(opts.now);
    return this.driver.read(() => this.dav.locksAt(domainId, path, opts.descendants, opts.now));
  }

  async getDavLock(token: string, now: number): Promise<DavLock | null> {
    checkTimes(now);
    return this.driver.read(() => this.dav.getLock(token, now));
  }

  async refreshDavLock(token: string, timeoutMs: number, now: number): Promise<DavLock> {
    checkTimes(now, timeoutMs);
    return this.driver.write(() => this.dav.refresh(token, timeoutMs, now));
  }

  async removeDavLock(token: string): Promise<boolean> {
    return this.driver.write(() => this.dav.remove(token));
  }

  async removeDavLocksUnder(domainId: number, path: string): Promise<number> {
    checkLockPath(path);
    return this.driver.write(() => this.dav.removeUnder(domainId, path));
  }

  // --- repair (the SQL lives in repair.ts) ------------------------------------------------

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

  async enqueueMany(queue: QueueName, fids: number[], opts: { delayMs?: number; now?: number } = {}): Promise<void> {
    checkQueue(queue);
    if (!Array.isArray(fids) || fids.length > 1000) throw invalid('enqueueMany takes a list of at most 1000 fids');
    fids.forEach((f) => checkId('Fid', f));
    const nextTry = (opts.now ?? Date.now()) + (opts.delayMs ?? 0);
    checkTime('Next try', nextTry);
    const self = this;
    if (fids.length === 0) return;
    return this.driver.write(function* () {
      // Ascending order: two processes queueing overlapping lists lock rows in one order.
      for (const fid of [...new Set(fids)].sort((a, b) => a - b)) yield* self.enqueueWork(queue, fid, [], nextTry);
    });
  }

  async removeReplicaIfCovered(fid: number, devid: number, minOthers: number): Promise<boolean> {
    checkId('Fid', fid);
    checkId('Device id', devid);
    const floor = checkMinOthers(minOthers);
    return this.driver.write(() => this.repair.removeReplicaIfCovered(fid, devid, floor));
  }

  async compareAndSetSetting(key: string, expected: string | null, value: string): Promise<boolean> {
    checkLabel('Setting name', key);
    if (typeof value !== 'string' || (expected !== null && typeof expected !== 'string'))
      throw invalid('A setting value must be a string');
    return this.driver.write(() => this.repair.compareAndSetSetting(key, expected, value));
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

  // --- shared pieces of work ------------------------------------------------------------

  /**
   * The commit's quota check: usage with this file in place of the one it replaces (`growth`
   * bytes more), plus what older uploads of the user hold, must fit. A commit that adds nothing
   * is never refused (an overwrite with a smaller file after the quota was lowered).
   */
  private *finalQuotaWork(user: ChargedUser, homeId: number, fid: number, growth: number): Work<void> {
    if (user.quotaBytes === null || growth <= 0) return;
    const now = Date.now();
    const s = yield* this.quota.stored(user.domainId, homeId, user.name, now);
    const older = yield* this.quota.reserved(user.id, fid, now);
    if (s.files + growth + s.props + s.locks + older > user.quotaBytes)
      throw mogError(ErrorCodes.QUOTA_EXCEEDED, 'Quota exceeded: the file does not fit in your remaining space');
  }

  /** Checks that `parentId` is a directory of the domain (or its root) and keeps it so until commit. */
  private *parentWork(domainId: number, parentId: number): Work<void> {
    if (parentId === ROOT_ID) {
      if (!(yield* get(`SELECT id FROM domains WHERE id = ?${this.d.forShare}`, domainId))) throw notFound(`Domain ${domainId} does not exist`);
      return;
    }
    const p = yield* get(`SELECT domain_id, kind, name FROM entries WHERE id = ?${this.d.forShare}`, parentId);
    if (!p || num(p.domain_id) !== domainId) throw notFound('The parent directory no longer exists');
    if (str(p.kind) !== 'dir') throw mogError(ErrorCodes.NOT_A_DIRECTORY, `"${str(p.name)}" is not a directory`);
  }

  /**
   * Forgets a file that no entry points to any more: its files row goes, and a delete is queued
   * listing the devices that hold it. The replica rows stay until the delete job removes each
   * copy and calls removeReplica, so replicasOf(fid) keeps telling where the bytes are.
   */
  private *dropFileWork(fid: number): Work<void> {
    const devids = (yield* all('SELECT devid FROM replicas WHERE fid = ?', fid)).map((r) => num(r.devid));
    yield* run('DELETE FROM files WHERE fid = ?', fid);
    yield* this.enqueueWork('delete', fid, devids, Date.now());
  }

  private *enqueueWork(queue: QueueName, fid: number, devids: readonly number[], nextTry: number): Work<void> {
    const mine = uniqueDevids(devids);
    // Insert-or-merge without a dialect-specific upsert: INSERT IGNORE settles who creates the
    // row; the loser merges into it under a row lock. The loop covers a row completed in between.
    for (let attempt = 0; attempt < 3; attempt++) {
      const ins = yield* run(
        `${this.d.insertIgnore} INTO queue (queue, fid, devids, nexttry, failcount) VALUES (?, ?, ?, ?, 0)`,
        queue, fid, encodeDevids(mine), nextTry,
      );
      if (ins.changes > 0) return;
      const cur = yield* get(
        `SELECT devids, nexttry, lease_owner, requeued FROM queue WHERE queue = ? AND fid = ?${this.d.forUpdate}`,
        queue, fid,
      );
      if (!cur) continue;
      const had = decodeDevids(cur.devids);
      const merged = uniqueDevids([...had, ...mine]);
      const earliest = Math.min(num(cur.nexttry), nextTry);
      // A leased item is being worked on from a look taken before this request: flag it so
      // that its completion keeps it queued (the holder may have missed what we ask for).
      const requeued = cur.lease_owner != null ? 1 : num(cur.requeued);
      if (merged.length !== had.length || earliest !== num(cur.nexttry) || requeued !== num(cur.requeued)) {
        yield* run(
          'UPDATE queue SET devids = ?, nexttry = ?, requeued = ? WHERE queue = ? AND fid = ?',
          encodeDevids(merged), earliest, requeued, queue, fid,
        );
      }
      return;
    }
    throw mogError(ErrorCodes.INTERNAL, `Could not queue fid ${fid} on ${queue}`);
  }
}

function checkUser(u: Omit<User, 'id'>): Omit<User, 'id'> {
  const name = checkLabel('User name', u.name);
  if (typeof u.passwordHash !== 'string' || u.passwordHash.length === 0) throw invalid('A user needs a password hash');
  const domainId = checkId('Domain id', u.domainId);
  const homeDir = checkHomeDir(u.homeDir);
  if (typeof u.readOnly !== 'boolean') throw invalid('readOnly must be true or false');
  const quotaBytes = u.quotaBytes === null ? null : checkInt('Quota', u.quotaBytes, 0);
  return { name, passwordHash: u.passwordHash, domainId, homeDir, readOnly: u.readOnly, quotaBytes };
}
