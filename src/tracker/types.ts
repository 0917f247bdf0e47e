// The metadata store's data types and interface. Two implementations (MySQL/MariaDB through
// mysql2, SQLite through better-sqlite3) pass the same role suites (test/tracker/*.conformance.ts,
// run by store.test.ts for every backend).
// All times are milliseconds since the epoch (integers). All ids are positive integers.
// Every method throws MogError (src/errors.ts) for expected failures; a lost database
// connection surfaces as MOGFTP_ERR_DB_UNAVAILABLE.

export type HostStatus = 'alive' | 'down' | 'dead';
export type DeviceStatus = 'alive' | 'readonly' | 'drain' | 'down' | 'dead';
/** What the monitor saw, kept apart from the operator's status. */
export type ObservedState = 'unknown' | 'writeable' | 'readonly' | 'unreachable';
import type { ChecksumAlg } from '../checksum.ts';
import type { LoginAttempts, UserKeys } from './auth-types.ts';
export type { ChecksumAlg } from '../checksum.ts';
export type EntryKind = 'file' | 'dir';
export type QueueName = 'replicate' | 'delete' | 'fsck';

/** The parent id of a domain's top-level entries: the root directory itself has no row. */
export const ROOT_ID = 0;

export interface Domain {
  id: number;
  name: string;
}

export interface FileClass {
  id: number;
  domainId: number;
  name: string;
  mindevcount: number;
  /** Replicas that must succeed before an upload is acknowledged; 1..mindevcount. */
  writeQuorum: number;
  checksum: ChecksumAlg;
}

export interface Host {
  id: number;
  name: string;
  /** IPv4 or IPv6 literal, or a host name. */
  address: string;
  httpPort: number;
  status: HostStatus;
}

export interface Device {
  id: number; // the devid, never reused
  hostId: number;
  status: DeviceStatus;
  weight: number;
  mbTotal: number | null;
  mbUsed: number | null;
  observed: ObservedState;
  /** When the monitor last recorded an observation (ms), null if never. */
  observedAt: number | null;
  /** When `observed` last changed value (ms), null if never; used by auto-dead. */
  observedSince: number | null;
}

/** A device with its host, as placement and readers need it. */
export interface DeviceView extends Device {
  hostName: string;
  hostAddress: string;
  hostPort: number;
  hostStatus: HostStatus;
}

export interface FileRow {
  fid: number;
  domainId: number;
  classId: number;
  length: number;
  /** Lower-case hex digest in the class's algorithm, null when the class has 'none'. */
  checksum: string | null;
  checksumAlg: ChecksumAlg;
  /** Cached replica count (number of replica rows). */
  devcount: number;
  createdAt: number;
}

export interface Entry {
  id: number;
  domainId: number;
  parentId: number;
  name: string;
  kind: EntryKind;
  /** The file's current fid; null for directories. */
  fid: number | null;
  /** The file's length (from its fid); 0 for directories. */
  size: number;
  mtime: number;
  /** Unix permission bits as stored (SITE CHMOD); default 0o644 files, 0o755 dirs. */
  mode: number;
  /**
   * A directory's own class for the files created under it (admin dir set-class); absent (or
   * null): it inherits its parent's. Never set on files (their class is FileRow.classId).
   */
  classId?: number | null;
}

export interface Reservation {
  fid: number;
  domainId: number;
  classId: number;
  devids: number[];
  createdAt: number;
  /** The quota this upload is charged to, when it was reserved for a user (null: none, e.g. jobs). */
  quota: QuotaGrant | null;
}

/** Whose quota a write is charged to: the user's row is re-read (and locked) in the write's transaction. */
export interface QuotaHolder {
  userId: number;
  /** The user's home directory entry (ROOT_ID for the domain's root): usage is counted below it. */
  homeId: number;
}

/** An upload's claim on its user's quota, made with the reservation (Store.reserveUpload). */
export interface QuotaRequest extends QuotaHolder {
  /** Bytes that must fit now (QUOTA_EXCEEDED otherwise): the known size, or 1 for a size not known yet. */
  need: number;
  /** Bytes to reserve when they fit (≥ need); less is granted when less is left. */
  want: number;
  /**
   * The file entry the upload will replace: its size is credited while this upload is the only
   * live one replacing it (a second overwrite in parallel gets no credit: the old bytes are freed once).
   */
  replacesEntryId: number | null;
  /** How long the reservation counts without being grown or renewed. */
  leaseMs: number;
}

/** What an upload holds against its user's quota. */
export interface QuotaGrant {
  userId: number;
  /** The user's quota when granted; null: the user has none (nothing is counted, no grows needed). */
  quotaBytes: number | null;
  /** Bytes reserved: the upload may write this many before it must grow the reservation. */
  granted: number;
  /** The reservation stops counting after this (ms); growReservation renews it. */
  leaseUntil: number;
}

/** What a user's home is charged with, as quotas count it. */
export interface QuotaUsage {
  quotaBytes: number | null;
  /** Sizes of the files under the home. */
  files: number;
  /** Dead properties of the home and the entries under it: namespaces, names and values, in bytes. */
  props: number;
  /** DAV:owner XML of the user's active locks, in bytes. */
  locks: number;
  /** Live upload reservations of the user, beyond the size of the files they replace. */
  reserved: number;
}

export interface QueueItem {
  queue: QueueName;
  fid: number;
  /** Extra data, e.g. the devices an aborted upload may have written to. */
  devids: number[];
  failcount: number;
  nextTry: number;
  leaseOwner: string | null;
  leaseUntil: number | null;
}

export interface User {
  id: number;
  name: string;
  /** `scrypt$N$r$p$saltB64$hashB64`, made by src/tracker/passwords.ts. */
  passwordHash: string;
  domainId: number;
  /** Absolute path inside the domain, e.g. '/' or '/alice'. */
  homeDir: string;
  readOnly: boolean;
  quotaBytes: number | null;
}

export interface CommitUploadInput {
  fid: number;
  parentId: number;
  name: string;
  length: number;
  checksum: string | null;
  /** Devices that hold a verified copy; may be fewer than mindevcount (then replication is queued). */
  devids: number[];
  mtime: number;
  /** Mode for a new entry; an overwritten entry keeps its mode. */
  mode?: number;
}

export interface CommitResult {
  entry: Entry;
  /** The fid the entry pointed at before, now queued for deletion. */
  replacedFid: number | null;
}

/**
 * Quotas as reservations (store/quota.ts). An upload's reservation carries the bytes it may
 * write; opening and growing one is one transaction that locks the user's row (serialising the
 * user's writes on MariaDB; SQLite writers are serial anyway), re-reads the user (gone:
 * AUTH_FAILED, read-only: PERMISSION_DENIED) and checks usage + the OLDER live reservations of
 * the user + the request ≤ quota. Older uploads have priority: a younger one never takes room an
 * older one was promised, so of uploads that cannot all fit, the oldest is never refused for the
 * others' sake. commitUpload re-checks the final size (usage − the replaced file + length + older
 * reservations ≤ quota) and turns the reservation into usage; abortUpload releases it; a
 * reservation whose lease ran out (its front-end died) stops counting and the reaper removes it.
 * PROPPATCH values and lock owners count too: patchDavProps and createDavLock take a holder.
 */
export interface Quotas {
  /**
   * Grows an upload's reservation to at least `need` bytes (`want` when that fits) and renews its
   * lease. QUOTA_EXCEEDED when `need` does not fit; UPLOAD_ABORTED when the reservation is gone (aborted, reaped).
   */
  growReservation(fid: number, need: number, want: number, leaseMs: number, now: number): Promise<QuotaGrant>;
  /** What the user's home is charged with now (AVBL, quota-available-bytes). */
  quotaUsage(holder: QuotaHolder, now: number): Promise<QuotaUsage>;
}

/** A copy a read found damaged, until fsck has looked at it (store/bad-replicas.ts). */
export interface BadReplica {
  fid: number;
  devid: number;
  foundAt: number;
  /** What the read saw, e.g. "sha256 mismatch" or "ended at byte 10 of 20". */
  reason: string;
}

/**
 * Copies marked bad by a read (issue 16). Reads put marked copies last; fsck re-checks them,
 * drops the truly bad ones and clears the mark of a copy that is fine.
 */
export interface BadReplicas {
  /** Marks a recorded copy bad; false when the copy is not recorded (deleted, repaired meanwhile). */
  markBadReplica(fid: number, devid: number, reason: string, now: number): Promise<boolean>;
  /** Clears a mark; false when there was none. */
  clearBadReplica(fid: number, devid: number): Promise<boolean>;
  badReplicasOf(fid: number): Promise<BadReplica[]>;
  /** Marks on any of `fids`. */
  badReplicasOfFiles(fids: number[]): Promise<BadReplica[]>;
  /** Forgets marks whose copy is no longer recorded. */
  pruneBadReplicas(): Promise<number>;
}

/** A directory with a class of its own, as `admin dir list-classes` shows it. */
export interface DirClass {
  domainId: number;
  entryId: number;
  /** The directory's path in the domain, '/a/b'. */
  path: string;
  classId: number;
  className: string;
}

/** Where a new file's class comes from: the nearest directory with a class, else the domain default. */
export interface InheritedClass {
  /** null: no directory on the way up has a class (the domain's "default" applies). */
  classId: number | null;
  /** The directory that set it; null when none did. */
  fromEntryId: number | null;
}

/**
 * Classes on the directory tree (store/classes-tree.ts). A class set on a directory is the class
 * of every file created under it, unless a nearer directory sets another one; a file keeps its
 * class when renamed or moved, and an overwrite keeps the class of the file it replaces. Changing
 * the class of existing files queues them for replication, which adds or trims copies.
 */
export interface ClassTree {
  /** Sets (classId) or clears (null) a directory's class. NOT_FOUND for an unknown entry or a class of another domain; NOT_A_DIRECTORY for a file. */
  setDirClass(entryId: number, classId: number | null): Promise<Entry>;
  /** The class a file created in directory `dirId` (ROOT_ID: the root) inherits. NOT_FOUND if the directory is gone. */
  inheritedClass(domainId: number, dirId: number): Promise<InheritedClass>;
  /** Directories that have a class of their own, by domain then path. */
  listDirClasses(domainId?: number): Promise<DirClass[]>;
  /** Moves a file to another class of its domain and queues it for replication; false when it had that class already. */
  setFileClass(fid: number, classId: number): Promise<boolean>;
  /**
   * One page of `setFileClass` over the files below directory `dirId` (ROOT_ID: the whole domain):
   * the files with fid > afterFid, ascending, at most `limit`. Returns the fids looked at (the last
   * is the next page's afterFid; fewer than `limit`: done) and how many changed class.
   */
  setClassUnder(domainId: number, dirId: number, classId: number, afterFid: number, limit: number): Promise<{ fids: number[]; changed: number }>;
}

/** A running jobs process, as it registered itself (store/job-leases.ts). */
export interface JobOwner {
  /** The lease owner id its queue items and task leases carry. */
  owner: string;
  hostname: string;
  /** Where `pid` means something: hostname, boot id and pid namespace; equal ones share a process table. */
  pidSpace: string;
  pid: number;
  startedAt: number;
  heartbeatAt: number;
}

/**
 * Lease recovery for the jobs processes (store/job-leases.ts): each heartbeats its job_owners
 * row; a claim given `staleBefore` also takes the items of owners silent since then; a
 * restarted process releases its dead predecessor's leases at once. Device tasks (a sweep of
 * one device) are leased the same way, so one process at a time works a device.
 */
export interface JobLeases {
  /** Registers (or re-registers) a jobs process. */
  registerJobOwner(o: JobOwner): Promise<void>;
  /** False when the owner's row is gone: another process released its leases. */
  heartbeatJobOwner(owner: string, now: number): Promise<boolean>;
  listJobOwners(): Promise<JobOwner[]>;
  /** Removes the owner; its queue items become claimable at once, its task leases free. Returns the items it held. */
  releaseJobOwner(owner: string): Promise<number>;
  /** Whether `owner` holds the item's lease now (a takeover since the claim makes this false). */
  holdsLease(queue: QueueName, fid: number, owner: string): Promise<boolean>;
  /** Takes or renews a task lease until now + ttlMs; false while another live owner holds it. */
  acquireTaskLease(task: string, owner: string, opts: { now: number; ttlMs: number; staleBefore: number }): Promise<boolean>;
  releaseTaskLease(task: string, owner: string): Promise<void>;
  /** The orphan sweep's look-up: what is known of each fid found on the device (at most 1000). */
  storedFidStates(devid: number, fids: number[]): Promise<StoredFidState[]>;
}

/** What the database knows of a fid found on a device's disk (the orphan sweep). */
export interface StoredFidState {
  fid: number;
  /**
   * recorded: a replica record points at this device; reserved: an upload is in progress;
   * queued-delete: the delete queue has it; unrecorded-copy: a live file, but no record on this
   * device; unknown: no file, no reservation, not queued; foreign: above the highest fid this
   * database ever gave out (another cluster's, or a database restored from an older backup).
   */
  state: 'recorded' | 'reserved' | 'queued-delete' | 'unrecorded-copy' | 'unknown' | 'foreign';
}

/** Opening, migrating and closing the database. */
export interface StoreLifecycle {
  readonly kind: 'sqlite' | 'mysql';
  /** Creates or upgrades the schema (idempotent). Returns the schema version now in place. */
  migrate(): Promise<number>;
  /** The schema version in the database, 0 when there is none yet. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}

/** The cluster's shape: domains, classes, hosts, devices and cluster-wide settings. */
export interface Catalog {
  /** Creating a domain also creates its class 'default' (mindevcount 2, quorum 2, sha256). */
  createDomain(name: string): Promise<Domain>;
  listDomains(): Promise<Domain[]>;
  getDomain(name: string): Promise<Domain | null>;
  /** IN_USE while the domain has any entry or file; NOT_FOUND if unknown. Removes its classes. */
  removeDomain(name: string): Promise<void>;

  createClass(domainId: number, name: string, opts: { mindevcount: number; writeQuorum?: number; checksum?: ChecksumAlg }): Promise<FileClass>;
  listClasses(domainId?: number): Promise<FileClass[]>;
  getClass(domainId: number, name: string): Promise<FileClass | null>;
  getClassById(id: number): Promise<FileClass | null>;
  updateClass(id: number, changes: { mindevcount?: number; writeQuorum?: number; checksum?: ChecksumAlg }): Promise<FileClass>;
  /** IN_USE while files use the class. */
  removeClass(id: number): Promise<void>;
  createHost(h: { name: string; address: string; httpPort: number; status?: HostStatus }): Promise<Host>;
  listHosts(): Promise<Host[]>;
  getHost(nameOrId: string | number): Promise<Host | null>;
  updateHost(id: number, changes: { address?: string; httpPort?: number; status?: HostStatus; name?: string }): Promise<Host>;
  /** IN_USE while it has devices that are not dead. */
  removeHost(id: number): Promise<void>;

  /** devid may be given (MogileFS lets the operator choose); EXISTS if taken, even by a removed device. */
  createDevice(d: { hostId: number; devid?: number; status?: DeviceStatus; weight?: number }): Promise<Device>;
  listDevices(): Promise<DeviceView[]>;
  getDevice(devid: number): Promise<DeviceView | null>;
  updateDevice(devid: number, changes: { status?: DeviceStatus; weight?: number }): Promise<Device>;
  /** Records a monitor observation; touches observedSince only when the state changes. */
  observeDevice(devid: number, obs: { observed: ObservedState; mbTotal?: number | null; mbUsed?: number | null; at: number }): Promise<void>;
  /** IN_USE while replicas reference it. The devid stays reserved forever. */
  removeDevice(devid: number): Promise<void>;
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;
  /** Sets a setting only if it holds `expected` now (null: absent); returns whether it did. */
  compareAndSetSetting(key: string, expected: string | null, value: string): Promise<boolean>;
}

/** File rows and where their copies are. */
export interface Replicas extends BadReplicas {
  getFile(fid: number): Promise<FileRow | null>;
  replicasOf(fid: number): Promise<number[]>;
  /**
   * A download's plan in one read: the file row, its copies' devices (ascending) and those of
   * them a read marked bad; null if the file is gone.
   */
  fileForRead(fid: number): Promise<{ file: FileRow; devids: number[]; bad: number[] } | null>;
  /** Idempotent; keeps files.devcount in step. */
  addReplica(fid: number, devid: number): Promise<void>;
  /** Idempotent; keeps files.devcount in step. */
  removeReplica(fid: number, devid: number): Promise<void>;
  /** Fids with a replica on the device, ascending, paged by fid. */
  fidsOnDevice(devid: number, afterFid: number, limit: number): Promise<number[]>;
  /** All live fids ascending, paged (fsck walks them). */
  listFids(afterFid: number, limit: number): Promise<FileRow[]>;
  /** The files with these fids (missing ones left out), in fid order: one query for a listing's ETags. */
  getFiles(fids: number[]): Promise<FileRow[]>;
}

/** The directory tree of each domain. */
export interface Namespace extends ClassTree {
  getEntry(id: number): Promise<Entry | null>;
  lookup(domainId: number, parentId: number, name: string): Promise<Entry | null>;
  /** Walks names from the root; null if any component is missing or a non-final one is a file. */
  resolvePath(domainId: number, names: string[]): Promise<Entry | null>;
  /**
   * The entries along `names` from the root, as far as they exist: [] when the first is missing,
   * all of them when the whole path exists (a file ends the walk). One round trip for paths of
   * up to 16 components, so a caller gets a file and its parent in one go.
   */
  walkPath(domainId: number, names: string[]): Promise<Entry[]>;
  /** One page of children ordered by name (binary order), strictly after `after` when given. */
  listDir(domainId: number, parentId: number, opts: { after?: string; limit: number }): Promise<Entry[]>;
  /** EXISTS if the name is taken; NOT_FOUND if the parent is gone. */
  mkdir(domainId: number, parentId: number, name: string, opts: { mtime: number; mode?: number }): Promise<Entry>;
  /** NOT_EMPTY if it has children; NOT_A_DIRECTORY if a file. */
  rmdir(id: number): Promise<void>;
  /** Removes a file entry and queues its fid for deletion. IS_A_DIRECTORY if a directory. */
  removeFile(id: number): Promise<void>;
  /**
   * Atomic move/rename. A file may replace an existing file at the target (whose fid is then
   * queued for deletion); any other clash is EXISTS. Moving a directory under itself is INVALID_MOVE.
   */
  rename(id: number, toParentId: number, toName: string): Promise<{ entry: Entry; replacedFid: number | null }>;
  setMtime(id: number, mtime: number): Promise<void>;
  setMode(id: number, mode: number): Promise<void>;
  /** Sum of file sizes under a directory (recursive), for quotas and AVBL. */
  usageUnder(domainId: number, dirId: number): Promise<number>;
}

/** Reserve, commit and abort of an upload (quota charged in the same transactions). */
export interface Uploads extends Quotas {
  /**
   * Allocates a fid unique across processes (never reused) and records the reservation; with
   * `quota`, charges it to the user in the same transaction (see Quotas).
   */
  reserveUpload(r: { domainId: number; classId: number; devids: number[]; now: number; quota?: QuotaRequest }): Promise<Reservation>;
  getReservation(fid: number): Promise<Reservation | null>;
  /** Reservations created before `olderThan`, for the reaper. */
  staleReservations(olderThan: number, limit: number): Promise<Reservation[]>;
  /**
   * One transaction: file row, replica rows, namespace entry (new, or an existing file entry
   * swapped to the new fid with the old fid queued for deletion), reservation removed,
   * a replicate item queued when devids.length < the class's mindevcount.
   * NOT_FOUND if the reservation or the parent directory is gone; IS_A_DIRECTORY if the name is a directory.
   * A reservation charged to a user re-checks the user and the final size (QUOTA_EXCEEDED: nothing committed).
   */
  commitUpload(c: CommitUploadInput): Promise<CommitResult>;
  /** Removes the reservation and queues a delete of `fid` on the reserved devices. */
  abortUpload(fid: number): Promise<void>;
}

/** The replicate, delete and fsck work queues and their leases. */
export interface Queues extends JobLeases {
  /** Upsert: an item already queued keeps its failcount; its nextTry becomes the earlier one; devids merge. */
  enqueue(queue: QueueName, fid: number, opts?: { devids?: number[]; delayMs?: number; now?: number }): Promise<void>;
  /**
   * Leases up to `limit` due items (nextTry <= now, not leased or lease expired) to `owner`
   * until now + leaseMs. Safe across processes: an item is never leased to two owners at once.
   * With `staleBefore`, items leased to a registered owner whose heartbeat is older are taken
   * over too (JobLeases); `exclude` leaves out fids the caller is still working on.
   */
  claim(
    queue: QueueName,
    owner: string,
    opts: { limit: number; leaseMs: number; now: number; staleBefore?: number; exclude?: number[] },
  ): Promise<QueueItem[]>;
  /** Removes the item if `owner` still holds its lease; returns whether it did. */
  complete(queue: QueueName, fid: number, owner: string): Promise<boolean>;
  /** Releases the lease, failcount + 1, nextTry = now + delayMs. */
  retry(queue: QueueName, fid: number, owner: string, opts: { delayMs: number; now: number }): Promise<boolean>;
  queueDepth(queue: QueueName): Promise<number>;
  /** enqueue() for many fids in one transaction (at most 1000 per call). */
  enqueueMany(queue: QueueName, fids: number[], opts?: { delayMs?: number; now?: number }): Promise<void>;
}

/** Accounts, their SSH keys and the shared login throttle. */
export interface Users extends LoginAttempts, UserKeys {
  createUser(u: Omit<User, 'id'>): Promise<User>;
  getUser(name: string): Promise<User | null>;
  listUsers(): Promise<User[]>;
  updateUser(name: string, changes: Partial<Omit<User, 'id' | 'name'>>): Promise<User>;
  removeUser(name: string): Promise<void>;
}

/** WebDAV dead properties and locks. */
export interface DavState {
  /** Dead properties of these entries (ROOT_ID = the domain's root), ordered by entry, namespace, name. */
  davProps(domainId: number, entryIds: number[]): Promise<DavProp[]>;
  /**
   * Applies the set/remove operations in order, in one transaction (PROPPATCH is atomic).
   * NOT_FOUND if the entry is gone; INVALID_ARGUMENT for a name or namespace too long to store.
   * With `holder`: QUOTA_EXCEEDED (nothing applied) when the patch adds bytes and the user's usage goes over quota.
   */
  patchDavProps(domainId: number, entryId: number, ops: DavPropPatch[], holder?: QuotaHolder): Promise<void>;
  /** Replaces the dead properties of `toId` with copies of those of `fromId` (COPY). */
  copyDavProps(domainId: number, fromId: number, toId: number): Promise<void>;
  /**
   * Removes what nothing refers to any more: dead properties of entries that were deleted
   * (by any front-end) and locks that expired before `now`. Returns how many rows went.
   */
  purgeDavState(now: number): Promise<{ props: number; locks: number }>;
  /**
   * Takes a lock unless an active one conflicts (LOCKED): one on the same path, on an ancestor
   * with depth infinity, or (for a depth-infinity request) below the path, where either is exclusive.
   */
  createDavLock(lock: NewDavLock, now: number, holder?: QuotaHolder): Promise<DavLock>;
  /** Active locks rooted at `path` or at any ancestor of it, and with `descendants` anywhere below it. */
  davLocksAt(domainId: number, path: string, opts: { descendants: boolean; now: number }): Promise<DavLock[]>;
  /** An active lock by token, or null. */
  getDavLock(token: string, now: number): Promise<DavLock | null>;
  /** Restarts the lock's timeout from `now`; NOT_FOUND if it is gone or expired. */
  refreshDavLock(token: string, timeoutMs: number, now: number): Promise<DavLock>;
  /** Removes one lock; false if it was not there. */
  removeDavLock(token: string): Promise<boolean>;
  /** Removes every lock rooted at `path` or below it (after DELETE or MOVE); returns how many. */
  removeDavLocksUnder(domainId: number, path: string): Promise<number>;
}

/** What fsck, drain, rebalance and the operator's views need beyond the other roles. */
export interface Repair {
  /** Appends fsck findings, in order, in one transaction. */
  addFsckEvents(events: NewFsckEvent[]): Promise<void>;
  /** Findings in id order, those with id > afterId (default 0), optionally of one fid. */
  listFsckEvents(opts: { afterId?: number; fid?: number; limit: number }): Promise<FsckEvent[]>;
  /** How many findings of each code have id > afterId (default 0). */
  countFsckEvents(afterId?: number): Promise<Record<string, number>>;
  /** The highest finding id so far, 0 when there is none (a run counts only what comes after). */
  lastFsckEventId(): Promise<number>;
  /** Removes every finding; returns how many went. */
  clearFsckEvents(): Promise<number>;
  /** Sets the file's cached devcount to its number of replica rows; null if the file is gone. */
  fixDevcount(fid: number): Promise<{ before: number; after: number } | null>;
  /** Live fids of a class, ascending, paged by fid. */
  fidsOfClass(classId: number, afterFid: number, limit: number): Promise<number[]>;
  /**
   * Removes a replica record only if at least `minOthers` OTHER replicas of the fid stay on
   * devices that count (alive or readonly, on an alive host). Serialised per fid: two processes
   * trimming different copies of one file cannot both pass the check. False (and nothing
   * removed) when the check fails or the file is gone; true when removed or already absent.
   */
  removeReplicaIfCovered(fid: number, devid: number, minOthers: number): Promise<boolean>;
  /** Live files, their bytes, and how many have fewer counted copies than their class wants. */
  fileStats(): Promise<FileStats>;
  /**
   * The next `limit` files after `afterFid` (ascending fid) checked for host spread: those on too
   * few hosts (see FileStats.onTooFewHosts) and the last fid looked at (null: none after afterFid).
   */
  fidsOnTooFewHosts(afterFid: number, limit: number): Promise<{ fids: number[]; lastFid: number | null }>;
  /** Replica records and their bytes per device; devices holding nothing are left out. */
  deviceUsage(): Promise<DeviceUsage[]>;
}

/**
 * The whole metadata store: every role. Code that needs only some of them asks for those
 * (e.g. `Namespace & DavState`), so what a module touches is visible in its signature.
 */
export interface Store extends StoreLifecycle, Catalog, Replicas, Namespace, Uploads, Queues, Users, DavState, Repair, Import {}

/** A MogileFS file as `admin import mogilefs` writes it: its fid, copies and key's place kept (store/import.ts). */
export interface ImportFile extends Pick<FileRow, 'fid' | 'domainId' | 'classId' | 'length' | 'checksum' | 'checksumAlg'> {
  /** Devices holding a copy (file_on); unknown devices are left out by the caller. */
  devids: number[];
  /** The key's place below the domain's root. */
  names: string[];
  /** Where it goes when that place is taken (a directory of another key, another file). */
  escapedNames: string[];
  mtime: number;
}

/** What importing one file did. */
export interface ImportOutcome {
  fid: number;
  /** present: the fid was imported before (a re-run); nothing touched. */
  state: 'imported' | 'present';
  /** Where it is now. */
  names: string[];
  /** Why it is at escapedNames rather than its own place, when it is. */
  escapedBecause: string | null;
  /** Files imported earlier that stood where this key needs a directory, moved to their escaped place. */
  moved: Array<{ fid: number; from: string[]; to: string[] }>;
}

/**
 * Writing a MogileFS cluster's rows with their own ids (issue 20): hosts, devices, domains,
 * classes and files are created or left as they are, so a re-run changes nothing. One
 * transaction per batch of files; the fid counter is raised above the highest imported fid.
 */
export interface Import {
  /** Creates the host with this id, or updates the one that has it. EXISTS when its name belongs to another id. */
  importHost(h: Host): Promise<'created' | 'updated' | 'same'>;
  /** Creates the device with this devid, or updates status and weight. EXISTS when the devid was retired or is on another host. */
  importDevice(d: { id: number; hostId: number; status: DeviceStatus; weight: number; mbTotal: number | null; mbUsed: number | null }): Promise<'created' | 'updated' | 'same'>;
  /** The domain of that name, created (with its default class) when missing. */
  importDomain(name: string): Promise<{ domain: Domain; created: boolean }>;
  /** The class of that name, created when missing; an existing class is left as it is. */
  importClass(domainId: number, name: string, opts: { mindevcount: number; checksum: ChecksumAlg }): Promise<{ cls: FileClass; created: boolean }>;
  /**
   * One transaction: each file whose fid is new gets its files row, replicas, namespace entry
   * (directories made on the way) and queue items (replicate when under its class's
   * mindevcount, fsck when it has no checksum). `escapeFor` names the escaped place of the key
   * whose own path is `names`, for a file that stands where a directory is needed.
   */
  importFiles(files: ImportFile[], escapeFor: (names: string[]) => string[]): Promise<ImportOutcome[]>;
  /** Of these fids, those with a files row. */
  presentFids(fids: number[]): Promise<number[]>;
  /** Raises the fid counter to at least `fid`; returns the counter. */
  raiseFidFloor(fid: number): Promise<number>;
  /** Records the checksum fsck computed for a file that had none (an imported one); false when it has one now, or is gone. */
  recordChecksum(fid: number, alg: ChecksumAlg, checksum: string): Promise<boolean>;
}

/** A WebDAV dead property: `value` is the XML content of the property element, as stored. */
export interface DavProp {
  entryId: number;
  /** Namespace URI; '' for none. */
  ns: string;
  name: string;
  value: string;
}

export type DavPropPatch = { op: 'set'; ns: string; name: string; value: string } | { op: 'remove'; ns: string; name: string };

export type DavLockScope = 'exclusive' | 'shared';

export interface NewDavLock {
  /** A URI such as `opaquelocktoken:<uuid>`, unique across the cluster. */
  token: string;
  domainId: number;
  /** The lock root: a domain path, '/' or '/a/b' (no trailing slash). It need not exist (RFC 4918 locks URLs). */
  path: string;
  depth: '0' | 'infinity';
  scope: DavLockScope;
  /** The client's DAV:owner XML, verbatim, or null. */
  owner: string | null;
  /** The user who took the lock. */
  principal: string;
  timeoutMs: number;
}

export interface DavLock extends NewDavLock {
  expiresAt: number;
}

export type FsckCode =
  | 'NOPA' // no intact copy anywhere: the file cannot be repaired (its damaged copies are left alone)
  | 'POVI' // policy violation: too few copies, or not on enough hosts, or too many
  | 'MISS' // a recorded copy is not on its node
  | 'BLEN' // a copy has the wrong length
  | 'BSUM' // a copy has the wrong checksum
  | 'BCNT' // the cached devcount disagreed with the replica records
  | 'REPL' // replication was queued (or a bad copy was dropped and is being replaced)
  | 'SRCH' // no intact recorded copy: every device is searched for one
  | 'FOND' // the search found an intact copy, now recorded
  | 'NSUM' // no checksum stored although the class has an algorithm
  | 'GONE'; // a copy was dropped because it was bad and a good copy exists

export interface NewFsckEvent {
  at: number;
  fid: number;
  devid: number | null;
  code: FsckCode;
  /** One line for the operator. */
  detail: string;
}

export interface FsckEvent extends NewFsckEvent {
  id: number;
}

export interface FileStats {
  files: number;
  bytes: number;
  /** Files with fewer copies on alive/readonly devices of alive hosts than their mindevcount. */
  underReplicated: number;
  /**
   * Files with their mindevcount of counted copies, but on fewer distinct alive hosts than
   * min(mindevcount, usableHosts): two copies of a mindevcount-2 file on one host, say.
   */
  onTooFewHosts: number;
  /** Alive hosts with at least one alive device of weight > 0 (hosts that could hold a copy). */
  usableHosts: number;
}

export interface DeviceUsage {
  devid: number;
  replicas: number;
  bytes: number;
}
