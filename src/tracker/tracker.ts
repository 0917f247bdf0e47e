// Placement, device views and authentication for the doors: where an upload's copies go and
// which replicas a read tries first (policy.ts, device-state.ts), the device and class tables
// as briefly cached views, the account behind a session, and logins through the shared
// throttle. It is not a way to the store: callers are given the store roles they use (the
// Volume, src/vfs/deps.ts; the WebDAV handlers, src/dav/context.ts). It holds no state that
// another front-end could disagree with, except short-lived caches of the device, class and
// user tables (admin changes are seen within `deviceCacheMs`) and the devices it saw fail.
import { describeError, ErrorCodes, mogError } from '../errors.ts';
import { isReadableDevice } from './device-state.ts';
import { chooseDevicesForUpload } from './policy.ts';
import { LoginDenied, loginThrottleOf, processHashGate, type LoginSource } from './login-throttle.ts';
import { hashPassword, isWeakerThanCurrent, UNKNOWN_USER_HASH, verifyPassword } from './passwords.ts';
import { VerifiedLogins } from './verified-logins.ts';
import type { Catalog, DeviceView, Entry, FileClass, FileRow, InheritedClass, Queues, QuotaRequest, Replicas, Reservation, Uploads, User, Users } from './types.ts';

/**
 * The store roles the tracker reads and writes: devices and classes (Catalog), accounts and the
 * login throttle (Users), reservations (Uploads), replica rows and their bad marks (Replicas),
 * and the fsck queue a damaged copy goes to (Queues).
 */
type TrackerStore = Pick<Catalog, 'listDevices' | 'getClassById' | 'getClass'> &
  Users &
  Pick<Uploads, 'reserveUpload'> &
  Pick<Replicas, 'replicasOf' | 'badReplicasOf' | 'fileForRead' | 'markBadReplica'> &
  Pick<Queues, 'enqueue'>;

export interface TrackerOptions {
  /** How long the device list may be reused before it is read again. */
  deviceCacheMs?: number;
  maxFullPercent?: number;
  minFreeMb?: number;
}

/**
 * Where a replica of a file lives or is to be written: a device and its host's address
 * (src/storage/layout.ts turns it into the replica's URL). Reads get them from replicasFor,
 * uploads from reserveUpload.
 */
export interface ReplicaLocation {
  devid: number;
  hostId: number;
  address: string;
  port: number;
}

export interface UploadReservation extends Reservation {
  cls: FileClass;
  targets: ReplicaLocation[];
  /** Devices on other hosts to use instead of a target that fails before any byte is sent. */
  spares: ReplicaLocation[];
}

interface ClassCacheEntry {
  at: number;
  cls: Promise<FileClass | null>;
}

const SPARE_TARGETS = 2;
/** How long a session may act on a user row it read (removal, read-only, quota changes reach it within this). */
const USER_CACHE_MS = 1000;
/** How long a device that refused a write is left out of placement by this front-end. */
const SUSPECT_MS = 10_000;

export class Tracker {
  private deviceCache: { at: number; devices: Promise<DeviceView[]> } | null = null;
  private readonly classCache = new Map<number, ClassCacheEntry>();
  private readonly defaultClassCache = new Map<number, ClassCacheEntry>();
  private readonly userCache = new Map<string, { at: number; user: Promise<User | null> }>();
  /** Name and password pairs verified lately: a repeated login costs no scrypt. */
  private readonly verifiedLogins = new VerifiedLogins();
  /** Devices this process saw fail, until the monitor's view catches up. */
  private readonly suspects = new Map<number, number>();

  constructor(
    private readonly store: TrackerStore,
    private readonly opts: TrackerOptions = {},
  ) {}

  /**
   * Checks a login from `from` through the shared login throttle (login-throttle.ts): refused
   * without hashing while the address is banned, counted against it when wrong. Throws
   * LoginDenied (code AUTH_FAILED), or the store's error when the database cannot be asked.
   */
  async authenticate(name: string, password: string, from: LoginSource): Promise<User> {
    const throttle = loginThrottleOf(this.store);
    const proven = this.verifiedLogins.recall(name, password);
    if (proven !== null) {
      const current = await this.store.getUser(name);
      if (current && current.passwordHash === proven) {
        await throttle.admitProven(from, name);
        return current;
      }
      this.verifiedLogins.forget(name, password); // the password changed, or the user went
    }
    const user = await throttle.attempt(from, name, async (hash) => {
      const found = await this.store.getUser(name);
      // Unknown users are checked against a hash of the same cost: timing does not tell which names exist.
      const ok = await hash(() => verifyPassword(password, found?.passwordHash ?? UNKNOWN_USER_HASH));
      return found && ok ? found : null;
    });
    if (isWeakerThanCurrent(user.passwordHash)) void this.rehash(user, password, from);
    else this.verifiedLogins.remember(name, password, user.passwordHash);
    return user;
  }

  /** Stores a hash of today's cost for a user whose hash is older; after the login, never in its way. */
  private async rehash(user: User, password: string, from: LoginSource): Promise<void> {
    try {
      const passwordHash = await processHashGate.run(Number.MAX_SAFE_INTEGER, () => hashPassword(password));
      // Not over a password an operator changed meanwhile (the window left is one query wide).
      if ((await this.store.getUser(user.name))?.passwordHash !== user.passwordHash) return;
      await this.store.updateUser(user.name, { passwordHash });
      from.log?.('info', 'password re-hashed with current parameters', { user: user.name });
    } catch (err) {
      // Busy or a store failure: the old hash still works, and the next login tries again.
      from.log?.(err instanceof LoginDenied ? 'debug' : 'warn', 'password not re-hashed', { user: user.name, error: describeError(err) });
    }
  }

  /** Devices with their hosts, cached briefly: placement and reads consult them on every transfer. */
  devices(): Promise<DeviceView[]> {
    const ttl = this.opts.deviceCacheMs ?? 2000;
    const now = Date.now();
    if (!this.deviceCache || now - this.deviceCache.at > ttl) {
      const devices = this.store.listDevices();
      this.deviceCache = { at: now, devices };
      devices.catch(() => (this.deviceCache = null));
    }
    return this.deviceCache.devices;
  }

  invalidateDevices(): void {
    this.deviceCache = null;
  }

  async classById(id: number): Promise<FileClass> {
    const cls = await this.cachedClass(this.classCache, id, () => this.store.getClassById(id));
    if (!cls) throw mogError(ErrorCodes.NOT_FOUND, `File class ${id} does not exist`);
    return cls;
  }

  /** The domain's "default" class, cached like classById: every new upload asks for it. */
  async defaultClass(domainId: number): Promise<FileClass> {
    const cls = await this.cachedClass(this.defaultClassCache, domainId, () => this.store.getClass(domainId, 'default'));
    if (!cls) throw mogError(ErrorCodes.NOT_FOUND, 'The domain has no "default" class');
    return cls;
  }

  /**
   * The class a new file gets: the one a directory on its way passed down (nearestDirClass), else
   * the domain's "default". Both come from the cache: an upload costs no extra round trip.
   */
  classForNewFile(domainId: number, inherited: InheritedClass): Promise<FileClass> {
    return inherited.classId === null ? this.defaultClass(domainId) : this.classById(inherited.classId);
  }

  /** A class read at most once per `deviceCacheMs` per key; a failed read is not kept. */
  private cachedClass(cache: Map<number, ClassCacheEntry>, key: number, load: () => Promise<FileClass | null>): Promise<FileClass | null> {
    const now = Date.now();
    let hit = cache.get(key);
    if (!hit || now - hit.at > (this.opts.deviceCacheMs ?? 2000)) {
      hit = { at: now, cls: load() };
      cache.set(key, hit);
      hit.cls.catch(() => cache.delete(key));
    }
    return hit.cls;
  }

  /**
   * Reserves a fid and picks up to mindevcount devices on distinct hosts. Fails with NO_DEVICES
   * when fewer hosts than the write quorum can take the file: such an upload could never be durable.
   */
  async reserveUpload(domainId: number, cls: FileClass, quota?: QuotaRequest): Promise<UploadReservation> {
    const now = Date.now();
    const all = await this.devices();
    const pick = (devices: DeviceView[]) =>
      chooseDevicesForUpload(devices, cls.mindevcount + SPARE_TARGETS, {
        maxFullPercent: this.opts.maxFullPercent,
        minFreeMb: this.opts.minFreeMb,
      });
    let picked = pick(all.filter((d) => !((this.suspects.get(d.id) ?? 0) > now)));
    // Suspicion is only a hint: rather try a device that failed lately than refuse the upload.
    if (picked.length < cls.writeQuorum) picked = pick(all);
    const chosen = picked.slice(0, cls.mindevcount);
    const spares = picked.slice(cls.mindevcount);
    if (chosen.length < cls.writeQuorum) {
      throw mogError(
        ErrorCodes.NO_DEVICES,
        `Not enough writable storage: ${chosen.length} host(s) available, ${cls.writeQuorum} needed`,
      );
    }
    const reservation = await this.store.reserveUpload({
      domainId,
      classId: cls.id,
      devids: picked.map((d) => d.id),
      now,
      quota,
    });
    return { ...reservation, cls, targets: chosen.map(toLocation), spares: spares.map(toLocation) };
  }

  /**
   * The account behind an open session as it is now, read at most once per USER_CACHE_MS: a
   * removed user (or one removed and created again under the same name) gets AUTH_FAILED.
   * Sessions check it before each operation, so an admin's change reaches them within that time.
   */
  async currentUser(user: User): Promise<User> {
    const now = Date.now();
    let hit = this.userCache.get(user.name);
    if (!hit || now - hit.at > USER_CACHE_MS) {
      hit = { at: now, user: this.store.getUser(user.name) };
      this.userCache.set(user.name, hit);
      const mine = hit;
      hit.user.catch(() => this.userCache.get(user.name) === mine && this.userCache.delete(user.name));
    }
    const current = await hit.user;
    if (!current || current.id !== user.id) throw mogError(ErrorCodes.AUTH_FAILED, 'This account no longer exists');
    return current;
  }

  /** A device refused a write or a read: leave it out of this process's placement for a while. */
  reportDeviceFailure(devid: number): void {
    this.suspects.set(devid, Date.now() + SUSPECT_MS);
  }

  /**
   * The devices holding `fid`, best first: readable devices on live hosts, those the monitor
   * last saw as reachable before the unknown, unreachable ones last (they may have come back).
   */
  async replicasFor(fid: number): Promise<ReplicaLocation[]> {
    const [devids, devices, marked] = await Promise.all([this.store.replicasOf(fid), this.devices(), this.store.badReplicasOf(fid)]);
    return this.readOrder(devids, devices, marked.map((m) => m.devid));
  }

  /** The file row and its readable copies in the order replicasFor gives, from one store read (a download's start). */
  async fileForRead(fid: number): Promise<{ file: FileRow; replicas: ReplicaLocation[] } | null> {
    const [plan, devices] = await Promise.all([this.store.fileForRead(fid), this.devices()]);
    return plan && { file: plan.file, replicas: this.readOrder(plan.devids, devices, plan.bad) };
  }

  private readOrder(devids: number[], devices: DeviceView[], marked: number[]): ReplicaLocation[] {
    const byId = new Map(devices.map((d) => [d.id, d]));
    const usable = devids
      .map((id) => byId.get(id))
      .filter((d): d is DeviceView => !!d && isReadableDevice(d));
    const now = Date.now();
    // A copy a read found damaged comes after every other one: it is read only when nothing
    // else answers, and then the read's own checksum check still stands between it and the client.
    const bad = new Set(marked);
    const rank = (d: DeviceView) => readRank(d) + ((this.suspects.get(d.id) ?? 0) > now ? 4 : 0) + (bad.has(d.id) ? 8 : 0);
    usable.sort((a, b) => rank(a) - rank(b));
    return usable.map(toLocation);
  }

  /**
   * Reports a file with a damaged copy; fsck will check and repair the fid. With `found` (the
   * copy on that device failed the checksum or held too few bytes: never a mere timeout), the
   * copy is marked bad first, so reads skip it from now on.
   */
  async reportBadReplica(fid: number, found?: { devid: number; reason: string }): Promise<void> {
    if (found) await this.store.markBadReplica(fid, found.devid, found.reason, Date.now());
    await this.store.enqueue('fsck', fid, { now: Date.now() });
  }
}

function readRank(d: DeviceView): number {
  const observed = d.observed === 'unreachable' ? 2 : d.observed === 'unknown' ? 1 : 0;
  return observed * 2 + (d.status === 'drain' ? 1 : 0);
}

function toLocation(d: DeviceView): ReplicaLocation {
  return { devid: d.id, hostId: d.hostId, address: d.hostAddress, port: d.hostPort };
}

/**
 * The class directories pass down along `dirs` (the entries of a path walk, root side first;
 * only directories count): the nearest one's own class, else none (the domain default applies).
 */
export function nearestDirClass(dirs: readonly Entry[]): InheritedClass {
  for (let i = dirs.length - 1; i >= 0; i--) {
    const d = dirs[i]!;
    if (d.kind === 'dir' && d.classId != null) return { classId: d.classId, fromEntryId: d.id };
  }
  return { classId: null, fromEntryId: null };
}
