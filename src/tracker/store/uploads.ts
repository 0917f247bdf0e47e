// The Uploads role: reserve, commit and abort of an upload, with its user's quota charged in the
// same transactions (the quota's SQL lives in quota.ts). Units of work over the Driver seam.
import { mogError, ErrorCodes } from '../../errors.ts';
import { validateName } from '../names.ts';
import type {
  ChecksumAlg,
  CommitResult,
  CommitUploadInput,
  Entry,
  QuotaGrant,
  QuotaHolder,
  QuotaRequest,
  QuotaUsage,
  Reservation,
  Uploads,
} from '../types.ts';
import type { Dialect, Driver, Work } from './driver.ts';
import { all, get, run } from './driver.ts';
import { DEFAULT_FILE_MODE, ENTRY_COLS, EntryWork } from './entries.ts';
import { checkHolder, checkQuotaAmounts, grantOf, QuotaWork, type ChargedUser } from './quota.ts';
import { QueueWork } from './queue-work.ts';
import {
  checkDevids,
  checkDigest,
  checkId,
  checkInt,
  checkLimit,
  checkMode,
  checkTime,
  decodeDevids,
  encodeDevids,
  num,
  numOrNull,
  str,
  toEntry,
  toReservation,
  uniqueDevids,
} from './rows.ts';

const RESERVATION_COLS = 'fid, domain_id, class_id, devids, created_at, user_id, quota_reserved, lease_until';

const notReserved = (fid: number) => mogError(ErrorCodes.NOT_FOUND, `Upload ${fid} is no longer reserved (aborted or expired)`);
const uploadAborted = (fid: number) => mogError(ErrorCodes.UPLOAD_ABORTED, `Upload ${fid} is no longer reserved (aborted or expired)`);

export class SqlUploads implements Uploads {
  private readonly d: Dialect;
  private readonly quota: QuotaWork;
  private readonly entries: EntryWork;
  private readonly queue: QueueWork;

  constructor(private readonly driver: Driver) {
    this.d = driver.dialect;
    this.quota = new QuotaWork(driver.dialect);
    this.entries = new EntryWork(driver.dialect);
    this.queue = new QueueWork(driver.dialect);
  }

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
    const { d, quota } = this;
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
      if (changes === 0) throw mogError(ErrorCodes.NOT_FOUND, `Class ${r.classId} does not exist in domain ${r.domainId}`);
      return { fid, domainId: r.domainId, classId: r.classId, devids, createdAt: now, quota: grant };
    });
  }

  async growReservation(fid: number, need: number, want: number, leaseMs: number, now: number): Promise<QuotaGrant> {
    checkId('Fid', fid);
    checkQuotaAmounts(need, want, leaseMs);
    checkTime('Now', now);
    const quota = this.quota;
    return this.driver.write(function* () {
      const r = yield* get('SELECT user_id, home_id, quota_credit_entry FROM reservations WHERE fid = ?', fid);
      if (!r) throw uploadAborted(fid);
      if (r.user_id == null) throw mogError(ErrorCodes.INVALID_ARGUMENT, `Upload ${fid} is not charged to a user`);
      const user = yield* quota.lockUser(num(r.user_id));
      const { granted } = yield* quota.room(user, { homeId: num(r.home_id), fid, creditEntryId: numOrNull(r.quota_credit_entry), now }, need, want);
      const leaseUntil = now + leaseMs;
      const { changes } = yield* run('UPDATE reservations SET quota_reserved = ?, lease_until = ? WHERE fid = ?', granted, leaseUntil, fid);
      if (changes === 0) throw uploadAborted(fid);
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
    const { d, quota, entries, queue } = this;
    return this.driver.write(function* (): Work<CommitResult> {
      const res = yield* get(
        `SELECT r.domain_id, r.class_id, r.user_id, r.home_id, c.mindevcount, c.checksum FROM reservations r
         JOIN classes c ON c.id = r.class_id WHERE r.fid = ?${d.forShare}`,
        c.fid,
      );
      if (!res) throw notReserved(c.fid);
      // A charged upload re-reads its user (gone or read-only: nothing is committed).
      const user = res.user_id == null ? null : yield* quota.lockUser(num(res.user_id));
      const domainId = num(res.domain_id);
      const alg = str(res.checksum) as ChecksumAlg;
      const checksum = checkDigest(alg, c.checksum);
      yield* entries.parent(domainId, c.parentId);
      const oldRow = yield* get(
        `SELECT ${ENTRY_COLS} FROM entries WHERE domain_id = ? AND parent_id = ? AND name = ?${d.forUpdate}`,
        domainId, c.parentId, c.name,
      );
      const old = oldRow ? toEntry(oldRow) : null;
      if (old?.kind === 'dir') throw mogError(ErrorCodes.IS_A_DIRECTORY, `"${c.name}" is a directory`);
      if (user) yield* quota.assertCommitFits(user, num(res.home_id), c.fid, c.length - (old?.size ?? 0));

      const gone = yield* run('DELETE FROM reservations WHERE fid = ?', c.fid);
      if (gone.changes === 0) throw notReserved(c.fid);
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
      const entry = yield* placeEntry(queue, c, domainId, old, mode);
      if (devids.length < num(res.mindevcount)) yield* queue.enqueue('replicate', c.fid, [], Date.now());
      return { entry, replacedFid: old ? old.fid : null };
    }, { committed: () => committedUpload(c.fid) });
  }

  async abortUpload(fid: number): Promise<void> {
    const { d, queue } = this;
    return this.driver.write(function* () {
      const r = yield* get(`SELECT devids FROM reservations WHERE fid = ?${d.forUpdate}`, fid);
      if (!r) return; // already committed, aborted or reaped
      yield* run('DELETE FROM reservations WHERE fid = ?', fid);
      yield* queue.enqueue('delete', fid, decodeDevids(r.devids), Date.now());
    });
  }
}

/** After a lost COMMIT answer: the upload is in when its reservation is gone and its file row there. */
function* committedUpload(fid: number): Work<boolean> {
  if (yield* get('SELECT 1 AS x FROM reservations WHERE fid = ?', fid)) return false;
  return !!(yield* get('SELECT 1 AS x FROM files WHERE fid = ?', fid));
}

/**
 * The committed file's entry: a new one, or the existing file entry `old` swapped to the new fid
 * (the old fid is then dropped and its copies queued for deletion).
 */
function* placeEntry(queue: QueueWork, c: CommitUploadInput, domainId: number, old: Entry | null, mode: number): Work<Entry> {
  if (old) {
    yield* run('UPDATE entries SET fid = ?, size = ?, mtime = ? WHERE id = ?', c.fid, c.length, c.mtime, old.id);
    yield* queue.dropFile(old.fid!);
    return { ...old, fid: c.fid, size: c.length, mtime: c.mtime };
  }
  const { insertId } = yield* run(
    `INSERT INTO entries (domain_id, parent_id, name, kind, fid, size, mtime, mode) VALUES (?, ?, ?, 'file', ?, ?, ?, ?)`,
    domainId, c.parentId, c.name, c.fid, c.length, c.mtime, mode,
  );
  return { id: insertId, domainId, parentId: c.parentId, name: c.name, kind: 'file', fid: c.fid, size: c.length, mtime: c.mtime, mode };
}
