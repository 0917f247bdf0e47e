// Row mapping and argument validation shared by both stores. Rows arrive with snake_case
// columns; MySQL may hand back BIGINT/SUM as strings and VARBINARY as Buffers, so every
// value goes through num()/str() here and callers always get plain numbers and strings.
import { isIP } from 'node:net';
import { mogError, ErrorCodes } from '../../errors.ts';
import type {
  ChecksumAlg,
  Device,
  DeviceStatus,
  DeviceView,
  Domain,
  EntryKind,
  Entry,
  FileClass,
  FileRow,
  Host,
  HostStatus,
  ObservedState,
  QueueItem,
  QueueName,
  Reservation,
  User,
} from '../types.ts';
import type { Row } from './driver.ts';

export function num(v: unknown): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw mogError(ErrorCodes.INTERNAL, `Expected a number from the database, got ${String(v)}`);
  return n;
}

export function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}

export function str(v: unknown): string {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return String(v);
}

/** Devid lists are stored as comma-separated text: compact and readable in both dialects. */
export function encodeDevids(devids: readonly number[]): string {
  return devids.join(',');
}

export function decodeDevids(v: unknown): number[] {
  const s = v == null ? '' : str(v);
  return s === '' ? [] : s.split(',').map(Number);
}

/** Distinct devids in ascending order. */
export function uniqueDevids(devids: readonly number[]): number[] {
  return [...new Set(devids)].sort((a, b) => a - b);
}

export const toDomain = (r: Row): Domain => ({ id: num(r.id), name: str(r.name) });

export const toClass = (r: Row): FileClass => ({
  id: num(r.id),
  domainId: num(r.domain_id),
  name: str(r.name),
  mindevcount: num(r.mindevcount),
  writeQuorum: num(r.write_quorum),
  checksum: str(r.checksum) as ChecksumAlg,
});

export const toHost = (r: Row): Host => ({
  id: num(r.id),
  name: str(r.name),
  address: str(r.address),
  httpPort: num(r.http_port),
  status: str(r.status) as HostStatus,
});

export const toDevice = (r: Row): Device => ({
  id: num(r.devid),
  hostId: num(r.host_id),
  status: str(r.status) as DeviceStatus,
  weight: num(r.weight),
  mbTotal: numOrNull(r.mb_total),
  mbUsed: numOrNull(r.mb_used),
  observed: str(r.observed) as ObservedState,
  observedAt: numOrNull(r.observed_at),
  observedSince: numOrNull(r.observed_since),
});

export const toDeviceView = (r: Row): DeviceView => ({
  ...toDevice(r),
  hostName: str(r.host_name),
  hostAddress: str(r.host_address),
  hostPort: num(r.host_port),
  hostStatus: str(r.host_status) as HostStatus,
});

export const toFile = (r: Row): FileRow => ({
  fid: num(r.fid),
  domainId: num(r.domain_id),
  classId: num(r.class_id),
  length: num(r.length),
  checksum: r.checksum == null ? null : str(r.checksum),
  checksumAlg: str(r.checksum_alg) as ChecksumAlg,
  devcount: num(r.devcount),
  createdAt: num(r.created_at),
});

/** An entry, with its directory class when it has one (entries.class_id, schema v7): absent means inherit. */
export function toEntry(r: Row): Entry {
  const e: Entry = {
    id: num(r.id),
    domainId: num(r.domain_id),
    parentId: num(r.parent_id),
    name: str(r.name),
    kind: str(r.kind) as EntryKind,
    fid: numOrNull(r.fid),
    size: num(r.size),
    mtime: num(r.mtime),
    mode: num(r.mode),
  };
  if (r.class_id != null) e.classId = num(r.class_id);
  return e;
}

export const toReservation = (r: Row): Reservation => ({
  fid: num(r.fid),
  domainId: num(r.domain_id),
  classId: num(r.class_id),
  devids: decodeDevids(r.devids),
  createdAt: num(r.created_at),
  quota:
    r.user_id == null
      ? null
      : // quotaBytes is the user's, read when the quota is checked; a stored reservation does not know it.
        { userId: num(r.user_id), quotaBytes: null, granted: num(r.quota_reserved), leaseUntil: num(r.lease_until) },
});

export const toQueueItem = (r: Row): QueueItem => ({
  queue: str(r.queue) as QueueName,
  fid: num(r.fid),
  devids: decodeDevids(r.devids),
  failcount: num(r.failcount),
  nextTry: num(r.nexttry),
  leaseOwner: r.lease_owner == null ? null : str(r.lease_owner),
  leaseUntil: numOrNull(r.lease_until),
});

export const toUser = (r: Row): User => ({
  id: num(r.id),
  name: str(r.name),
  passwordHash: str(r.password_hash),
  domainId: num(r.domain_id),
  homeDir: str(r.home_dir),
  readOnly: num(r.read_only) !== 0,
  quotaBytes: numOrNull(r.quota_bytes),
});

// --- validation ---------------------------------------------------------------------------

const invalid = (msg: string) => mogError(ErrorCodes.INVALID_ARGUMENT, msg);

const HOST_STATUSES: readonly HostStatus[] = ['alive', 'down', 'dead'];
const DEVICE_STATUSES: readonly DeviceStatus[] = ['alive', 'readonly', 'drain', 'down', 'dead'];
const OBSERVED_STATES: readonly ObservedState[] = ['unknown', 'writeable', 'readonly', 'unreachable'];
const CHECKSUM_ALGS: readonly ChecksumAlg[] = ['sha256', 'md5', 'none'];
const QUEUE_NAMES: readonly QueueName[] = ['replicate', 'delete', 'fsck'];
const DIGEST_HEX_LENGTH: Record<Exclude<ChecksumAlg, 'none'>, number> = { sha256: 64, md5: 32 };

function oneOf<T extends string>(what: string, allowed: readonly T[], v: unknown): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    throw invalid(`${what} must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
  return v as T;
}

export const checkHostStatus = (v: unknown) => oneOf<HostStatus>('Host status', HOST_STATUSES, v);
export const checkDeviceStatus = (v: unknown) => oneOf<DeviceStatus>('Device status', DEVICE_STATUSES, v);
export const checkObserved = (v: unknown) => oneOf<ObservedState>('Observed state', OBSERVED_STATES, v);
export const checkChecksumAlg = (v: unknown) => oneOf<ChecksumAlg>('Checksum algorithm', CHECKSUM_ALGS, v);
export const checkQueue = (v: unknown) => oneOf<QueueName>('Queue name', QUEUE_NAMES, v);

export function checkInt(what: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
    throw invalid(`${what} must be an integer from ${min} to ${max} (got ${String(v)})`);
  return v;
}

export const checkId = (what: string, v: unknown) => checkInt(what, v, 1);
export const checkTime = (what: string, v: unknown) => checkInt(what, v, 0);
export const checkLimit = (v: unknown) => checkInt('Limit', v, 1, 100_000);

/** Domain, class, host, user names and setting keys: 1..255 bytes of printable text. */
export function checkLabel(what: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid(`${what} must not be empty`);
  if (Buffer.byteLength(v, 'utf8') > 255) throw invalid(`${what} is longer than 255 bytes`);
  if (/[\0-\x1f\x7f]/.test(v)) throw invalid(`${what} must not contain control characters`);
  return v;
}

/** Address of a host: an IPv4 or IPv6 literal, or a DNS host name. */
export function checkAddress(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid('Host address must not be empty');
  const bare = v.startsWith('[') && v.endsWith(']') ? v.slice(1, -1) : v;
  if (isIP(bare)) return bare;
  if (bare.length <= 253 && /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/.test(bare))
    return bare;
  throw invalid(`Host address ${JSON.stringify(v)} is neither an IP address nor a host name`);
}

export const checkPort = (v: unknown) => checkInt('HTTP port', v, 1, 65535);

/** Resolves and checks a class's counts: 1 <= writeQuorum <= mindevcount. */
export function checkClassCounts(mindevcount: unknown, writeQuorum: unknown): { mindevcount: number; writeQuorum: number } {
  const m = checkInt('mindevcount', mindevcount, 1, 255);
  if (writeQuorum === undefined) return { mindevcount: m, writeQuorum: m };
  if (typeof writeQuorum !== 'number' || !Number.isSafeInteger(writeQuorum) || writeQuorum < 1 || writeQuorum > m)
    throw invalid(`Write quorum must be an integer from 1 to mindevcount (${m}); got ${String(writeQuorum)}`);
  return { mindevcount: m, writeQuorum };
}

export function checkDevids(v: unknown): number[] {
  if (!Array.isArray(v)) throw invalid('devids must be a list of device ids');
  for (const d of v) checkId('Device id', d);
  return v as number[];
}

/** A digest for the class's algorithm, lower-cased; null for 'none'. */
export function checkDigest(alg: ChecksumAlg, v: string | null): string | null {
  if (alg === 'none') return null;
  if (typeof v !== 'string') throw invalid(`This file's class needs a ${alg} checksum, and none was given`);
  const hex = v.toLowerCase();
  if (hex.length !== DIGEST_HEX_LENGTH[alg] || !/^[0-9a-f]+$/.test(hex))
    throw invalid(`Checksum ${JSON.stringify(v)} is not a ${alg} hex digest`);
  return hex;
}

export function checkMode(v: unknown): number {
  return checkInt('Mode', v, 0, 0o7777);
}

export function checkHomeDir(v: unknown): string {
  if (typeof v !== 'string' || !v.startsWith('/')) throw invalid('Home directory must be an absolute path such as / or /alice');
  return v;
}
