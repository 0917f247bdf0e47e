// The SQL of the Catalog role's hosts and devices (catalog.ts checks the arguments and runs
// these): units of work over the Driver seam (driver.ts). A device id is never handed out twice:
// removed devices leave a tombstone in retired_devids, and the devid counter only grows.
import { mogError, ErrorCodes } from '../../errors.ts';
import type { Device, DeviceStatus, Host, HostStatus } from '../types.ts';
import type { Dialect, Work } from './driver.ts';
import { all, get, run } from './driver.ts';
import { num, str, toDevice, toHost } from './rows.ts';

export const HOST_COLS = 'id, name, address, http_port, status';
const DEVICE_COLS = 'devid, host_id, status, weight, mb_total, mb_used, observed, observed_at, observed_since';
export const DEVICE_VIEW_SQL = `SELECT d.devid, d.host_id, d.status, d.weight, d.mb_total, d.mb_used, d.observed,
  d.observed_at, d.observed_since, h.name AS host_name, h.address AS host_address,
  h.http_port AS host_port, h.status AS host_status
  FROM devices d JOIN hosts h ON h.id = d.host_id`;

const notFound = (msg: string) => mogError(ErrorCodes.NOT_FOUND, msg);
const exists = (msg: string) => mogError(ErrorCodes.EXISTS, msg);
const inUse = (msg: string) => mogError(ErrorCodes.IN_USE, msg);

/** A host's fields after a change; undefined ones keep their value. */
interface HostChanges {
  name: string | undefined;
  address: string | undefined;
  httpPort: number | undefined;
  status: HostStatus | undefined;
}

export class DeviceWork {
  constructor(private readonly d: Dialect) {}

  *createHost(name: string, address: string, httpPort: number, status: HostStatus): Work<Host> {
    if (yield* get('SELECT id FROM hosts WHERE name = ?', name)) throw exists(`Host "${name}" already exists`);
    const { insertId } = yield* run(
      'INSERT INTO hosts (name, address, http_port, status) VALUES (?, ?, ?, ?)',
      name, address, httpPort, status,
    );
    return { id: insertId, name, address, httpPort, status };
  }

  *updateHost(id: number, next: HostChanges): Work<Host> {
    const r = yield* get(`SELECT ${HOST_COLS} FROM hosts WHERE id = ?${this.d.forUpdate}`, id);
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
  }

  *removeHost(id: number): Work<void> {
    const h = yield* get(`SELECT name FROM hosts WHERE id = ?${this.d.forUpdate}`, id);
    if (!h) throw notFound(`Host ${id} does not exist`);
    const devs = yield* all(`SELECT devid, status FROM devices WHERE host_id = ?${this.d.forUpdate}`, id);
    const live = devs.filter((r) => str(r.status) !== 'dead').map((r) => num(r.devid));
    if (live.length)
      throw inUse(`Host "${str(h.name)}" still has devices that are not dead (${live.map((x) => `dev${x}`).join(', ')}); mark them dead first`);
    // Dead devices go with the host, but only once nothing claims to be stored on them.
    for (const r of devs) {
      const devid = num(r.devid);
      if (yield* get('SELECT 1 AS x FROM replicas WHERE devid = ? LIMIT 1', devid))
        throw inUse(`Dead device dev${devid} on host "${str(h.name)}" is still listed as holding files; wait until they are re-replicated`);
      yield* this.retire(devid);
    }
    yield* run('DELETE FROM hosts WHERE id = ?', id);
  }

  /** `devid` undefined: the next free one. EXISTS when a given devid is taken or was ever used. */
  *createDevice(hostId: number, devid: number | undefined, status: DeviceStatus, weight: number): Work<Device> {
    if (!(yield* get(`SELECT id FROM hosts WHERE id = ?${this.d.forShare}`, hostId))) throw notFound(`Host ${hostId} does not exist`);
    const counter = num((yield* get(`SELECT v FROM counters WHERE name = 'devid'${this.d.forUpdate}`))!.v);
    let id: number;
    if (devid !== undefined) {
      id = devid;
      if (yield* this.taken(id)) throw exists(`Device id ${id} is taken (device ids are never reused, even after removal)`);
    } else {
      id = counter + 1;
      while (yield* this.taken(id)) id++;
    }
    if (id > counter) yield* run(`UPDATE counters SET v = ? WHERE name = 'devid'`, id);
    yield* run(
      `INSERT INTO devices (devid, host_id, status, weight, observed) VALUES (?, ?, ?, ?, 'unknown')`,
      id, hostId, status, weight,
    );
    return {
      id, hostId, status, weight, mbTotal: null, mbUsed: null,
      observed: 'unknown', observedAt: null, observedSince: null,
    } satisfies Device;
  }

  *updateDevice(devid: number, status: DeviceStatus | undefined, weight: number | undefined): Work<Device> {
    const r = yield* get(`SELECT ${DEVICE_COLS} FROM devices WHERE devid = ?${this.d.forUpdate}`, devid);
    if (!r) throw notFound(`Device ${devid} does not exist`);
    const dev = { ...toDevice(r), ...(status !== undefined && { status }), ...(weight !== undefined && { weight }) };
    yield* run('UPDATE devices SET status = ?, weight = ? WHERE devid = ?', dev.status, dev.weight, devid);
    return dev;
  }

  *removeDevice(devid: number): Work<void> {
    if (!(yield* get(`SELECT devid FROM devices WHERE devid = ?${this.d.forUpdate}`, devid))) throw notFound(`Device ${devid} does not exist`);
    if (yield* get('SELECT 1 AS x FROM replicas WHERE devid = ? LIMIT 1', devid))
      throw inUse(`Device dev${devid} still holds files; drain it or mark it dead and let them re-replicate first`);
    yield* this.retire(devid);
  }

  /** Removes a device and leaves its tombstone. */
  private *retire(devid: number): Work<void> {
    yield* run('DELETE FROM devices WHERE devid = ?', devid);
    yield* run('INSERT INTO retired_devids (devid, retired_at) VALUES (?, ?)', devid, Date.now());
  }

  private *taken(devid: number): Work<boolean> {
    return Boolean(
      (yield* get('SELECT devid FROM devices WHERE devid = ?', devid)) ||
        (yield* get('SELECT devid FROM retired_devids WHERE devid = ?', devid)),
    );
  }
}
