// The Catalog role: the cluster's shape (domains and their classes, hosts and their devices) and
// its settings. Units of work over the Driver seam (driver.ts); the SQL that writes hosts and
// devices lives in devices.ts.
import { mogError, ErrorCodes } from '../../errors.ts';
import type { Catalog, ChecksumAlg, Device, DeviceStatus, DeviceView, Domain, FileClass, Host, HostStatus, ObservedState } from '../types.ts';
import { DEVICE_VIEW_SQL, DeviceWork, HOST_COLS } from './devices.ts';
import type { Dialect, Driver } from './driver.ts';
import { all, get, run } from './driver.ts';
import {
  checkAddress,
  checkChecksumAlg,
  checkClassCounts,
  checkDeviceStatus,
  checkHostStatus,
  checkId,
  checkInt,
  checkLabel,
  checkObserved,
  checkPort,
  checkTime,
  num,
  str,
  toClass,
  toDeviceView,
  toDomain,
  toHost,
} from './rows.ts';

const CLASS_COLS = 'id, domain_id, name, mindevcount, write_quorum, checksum';
const DEFAULT_DEVICE_WEIGHT = 100;

const notFound = (msg: string) => mogError(ErrorCodes.NOT_FOUND, msg);
const exists = (msg: string) => mogError(ErrorCodes.EXISTS, msg);
const inUse = (msg: string) => mogError(ErrorCodes.IN_USE, msg);
const invalid = (msg: string) => mogError(ErrorCodes.INVALID_ARGUMENT, msg);

export class SqlCatalog implements Catalog {
  private readonly d: Dialect;
  private readonly devices: DeviceWork;

  constructor(private readonly driver: Driver) {
    this.d = driver.dialect;
    this.devices = new DeviceWork(driver.dialect);
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

  // --- hosts and devices (the SQL of the writes lives in devices.ts) ----------------------

  async createHost(h: { name: string; address: string; httpPort: number; status?: HostStatus }): Promise<Host> {
    const name = checkLabel('Host name', h.name);
    const address = checkAddress(h.address);
    const httpPort = checkPort(h.httpPort);
    const status = checkHostStatus(h.status ?? 'alive');
    return this.driver.write(() => this.devices.createHost(name, address, httpPort, status));
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
    return this.driver.write(() => this.devices.updateHost(id, next));
  }

  async removeHost(id: number): Promise<void> {
    return this.driver.write(() => this.devices.removeHost(id));
  }

  async createDevice(dv: { hostId: number; devid?: number; status?: DeviceStatus; weight?: number }): Promise<Device> {
    checkId('Host id', dv.hostId);
    if (dv.devid !== undefined) checkInt('Device id', dv.devid, 1, 0xffffffff);
    const status = checkDeviceStatus(dv.status ?? 'alive');
    const weight = checkInt('Weight', dv.weight ?? DEFAULT_DEVICE_WEIGHT, 0, 0xffffffff);
    return this.driver.write(() => this.devices.createDevice(dv.hostId, dv.devid, status, weight));
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
    return this.driver.write(() => this.devices.updateDevice(devid, status, weight));
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
    return this.driver.write(() => this.devices.removeDevice(devid));
  }

  // --- settings ---------------------------------------------------------------------------

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

  async compareAndSetSetting(key: string, expected: string | null, value: string): Promise<boolean> {
    checkLabel('Setting name', key);
    if (typeof value !== 'string' || (expected !== null && typeof expected !== 'string'))
      throw invalid('A setting value must be a string');
    const d = this.d;
    return this.driver.write(function* () {
      if (expected === null) {
        return (yield* run(`${d.insertIgnore} INTO settings (\`key\`, value) VALUES (?, ?)`, key, value)).changes > 0;
      }
      const cur = yield* get(`SELECT value FROM settings WHERE \`key\` = ?${d.forUpdate}`, key);
      if (!cur || str(cur.value) !== expected) return false;
      yield* run('UPDATE settings SET value = ? WHERE `key` = ?', value, key);
      return true;
    });
  }
}
