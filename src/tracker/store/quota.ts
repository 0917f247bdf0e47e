// The store's quota role: uploads reserve their bytes against the user's quota in the transaction
// that reads the usage, so parallel writers cannot all pass one check (issue 15: ten parallel
// 900 KB STORs under a 1 MB quota all got 226). See the Quotas interface in ../types.ts.
//
// Every charged write first reads the user's row, and locks it when the user has a quota (FOR
// UPDATE on MariaDB; SQLite runs one writer at a time): the quota checks of one user run one
// after the other, each seeing what the one before committed. The same read re-checks the
// account, so a removed or read-only user's open session loses write access at its next
// upload, grow, commit, PROPPATCH or LOCK.
//
// Usage is counted, not cached: file sizes below the home (the recursive walk usageUnder does),
// the dead properties of the home and everything below it, and the owners of the user's active
// locks. Only users with a quota pay for the walk; a reservation is grown in steps that double
// (vfs/upload-quota.ts), so a 1 GiB upload checks a dozen times, not once a chunk.
import { ErrorCodes, mogError } from '../../errors.ts';
import { ROOT_ID, type QuotaGrant, type QuotaHolder, type QuotaUsage } from '../types.ts';
import type { Dialect, Work } from './driver.ts';
import { get } from './driver.ts';
import { checkId, checkInt, num, numOrNull, str } from './rows.ts';

export interface ChargedUser {
  id: number;
  name: string;
  domainId: number;
  quotaBytes: number | null;
}

const USER_SQL = 'SELECT id, name, domain_id, read_only, quota_bytes FROM users WHERE id = ?';

function toCharged(r: Record<string, unknown>): ChargedUser {
  return { id: num(r.id), name: str(r.name), domainId: num(r.domain_id), quotaBytes: numOrNull(r.quota_bytes) };
}

const gone = () => mogError(ErrorCodes.AUTH_FAILED, 'This account no longer exists');

// The walk goes from each directory found to its children through the (domain_id, parent_id,
// name) index. CROSS JOIN keeps that order on SQLite, whose planner otherwise scanned the
// domain's entries once per directory (100 000 files in 100 directories: 18 s, now 0.27 s on
// the loaded 2-core test machine); MariaDB reads it as a plain inner join.
export const TREE_CTE = `WITH RECURSIVE tree (id) AS (
   SELECT id FROM entries WHERE id = ? AND domain_id = ? AND kind = 'dir'
   UNION ALL
   SELECT e.id FROM tree t CROSS JOIN entries e WHERE e.domain_id = ? AND e.parent_id = t.id AND e.kind = 'dir')`;

/** Bytes a dead property takes, as the quota counts them (the PROPPATCH limits count the same). */
const PROP_BYTES = 'OCTET_LENGTH(p.ns) + OCTET_LENGTH(p.name) + OCTET_LENGTH(p.value)';

export function checkHolder(h: QuotaHolder): QuotaHolder {
  checkId('User id', h.userId);
  checkInt('Home directory id', h.homeId, 0);
  return h;
}

export function checkQuotaAmounts(need: number, want: number, leaseMs: number): void {
  checkInt('Bytes needed', need, 0);
  checkInt('Bytes wanted', want, 0);
  checkInt('Reservation lease', leaseMs, 1);
}

export class QuotaWork {
  constructor(private readonly d: Dialect) {}

  /**
   * Locks the user's row until commit and re-reads it: AUTH_FAILED when the account was removed
   * (or removed and created again: another id), PERMISSION_DENIED when it became read-only.
   */
  *lockUser(userId: number): Work<ChargedUser> {
    // A user without a quota has nothing to serialise: its writes (every upload commit of a
    // busy shared account) are not queued behind one another. The lock is taken for a quota only.
    let r = yield* get(USER_SQL, userId);
    if (r && r.quota_bytes != null && this.d.forUpdate) r = yield* get(`${USER_SQL}${this.d.forUpdate}`, userId);
    if (!r) throw gone();
    if (num(r.read_only)) throw mogError(ErrorCodes.PERMISSION_DENIED, 'Permission denied: this account is read-only');
    return toCharged(r);
  }

  /** The user as it is now, without a lock (reports); AUTH_FAILED when removed. */
  *readUser(userId: number): Work<ChargedUser> {
    const r = yield* get(USER_SQL, userId);
    if (!r) throw gone();
    return toCharged(r);
  }

  /** Files, dead properties and lock owners charged to the user's home. */
  *stored(domainId: number, homeId: number, principal: string, now: number): Work<Omit<QuotaUsage, 'quotaBytes' | 'reserved'>> {
    let files: unknown;
    let props: unknown;
    if (homeId === ROOT_ID) {
      files = (yield* get(`SELECT COALESCE(SUM(size), 0) AS n FROM entries WHERE domain_id = ? AND kind = 'file'`, domainId))?.n;
      props = (yield* get(`SELECT COALESCE(SUM(${PROP_BYTES}), 0) AS n FROM dav_props p WHERE p.domain_id = ?`, domainId))?.n;
    } else {
      files = (yield* get(
        `${TREE_CTE}
         SELECT COALESCE(SUM(e.size), 0) AS n FROM tree t CROSS JOIN entries e
         WHERE e.domain_id = ? AND e.parent_id = t.id AND e.kind = 'file'`,
        homeId, domainId, domainId, domainId,
      ))?.n;
      // The home's own properties, then those of every entry (file or directory) below it.
      props = (yield* get(
        `${TREE_CTE}
         SELECT COALESCE(SUM(${PROP_BYTES}), 0) AS n FROM dav_props p
         WHERE p.domain_id = ? AND (p.entry_id = ? OR p.entry_id IN (
           SELECT e.id FROM tree t CROSS JOIN entries e WHERE e.domain_id = ? AND e.parent_id = t.id))`,
        homeId, domainId, domainId, domainId, homeId, domainId,
      ))?.n;
    }
    const locks = (yield* get(
      `SELECT COALESCE(SUM(OCTET_LENGTH(owner)), 0) AS n FROM dav_locks WHERE principal = ? AND expires_at > ?`,
      principal, now,
    ))?.n;
    return { files: num(files ?? 0), props: num(props ?? 0), locks: num(locks ?? 0) };
  }

  /**
   * What the user's live reservations hold beyond the files they will replace (never below 0
   * each: an upload that may still abort frees nothing), those older than `beforeFid` only
   * (null: all of them).
   */
  *reserved(userId: number, beforeFid: number | null, now: number): Work<number> {
    const older = beforeFid === null ? '' : ' AND r.fid < ?';
    const r = yield* get(
      `SELECT COALESCE(SUM(CASE WHEN r.quota_reserved > COALESCE(e.size, 0) THEN r.quota_reserved - COALESCE(e.size, 0) ELSE 0 END), 0) AS n
       FROM reservations r LEFT JOIN entries e ON e.id = r.quota_credit_entry
       WHERE r.user_id = ? AND r.lease_until > ?${older}`,
      userId, now, ...(beforeFid === null ? [] : [beforeFid]),
    );
    return num(r?.n ?? 0);
  }

  /**
   * The size of the file `entryId` if this upload may count it as freed: no other live
   * reservation of the user claims the same file (the old bytes are freed once, by one overwrite).
   */
  *credit(userId: number, entryId: number | null, fid: number | null, now: number): Work<number> {
    if (entryId === null) return 0;
    const other = yield* get(
      `SELECT fid FROM reservations WHERE user_id = ? AND quota_credit_entry = ? AND lease_until > ?${fid === null ? '' : ' AND fid <> ?'} LIMIT 1`,
      userId, entryId, now, ...(fid === null ? [] : [fid]),
    );
    if (other) return 0;
    const e = yield* get(`SELECT size FROM entries WHERE id = ? AND kind = 'file'`, entryId);
    return e ? num(e.size) : 0;
  }

  /**
   * Room for an upload: quota − usage − the older reservations + its credit. QUOTA_EXCEEDED when
   * `need` does not fit; otherwise the grant (`want`, or what is left when less).
   */
  *room(
    user: ChargedUser,
    at: { homeId: number; fid: number | null; creditEntryId: number | null; now: number },
    need: number,
    want: number,
  ): Work<{ granted: number; credited: number }> {
    if (user.quotaBytes === null) return { granted: 0, credited: 0 };
    const s = yield* this.stored(user.domainId, at.homeId, user.name, at.now);
    const older = yield* this.reserved(user.id, at.fid, at.now);
    const credited = yield* this.credit(user.id, at.creditEntryId, at.fid, at.now);
    const room = user.quotaBytes - s.files - s.props - s.locks - older + credited;
    if (need > room) throw quotaExceeded();
    return { granted: Math.max(need, Math.min(want, room)), credited };
  }

  /**
   * After a write that added `added` bytes of dead properties or lock owners: QUOTA_EXCEEDED
   * (the caller's transaction then rolls back) when the user is now over quota, counting every
   * live reservation. A write that adds nothing is never refused, even over quota.
   */
  *assertWithin(user: ChargedUser, homeId: number, added: number, now: number): Work<void> {
    if (user.quotaBytes === null || added <= 0) return;
    const s = yield* this.stored(user.domainId, homeId, user.name, now);
    const reserved = yield* this.reserved(user.id, null, now);
    if (s.files + s.props + s.locks + reserved > user.quotaBytes) throw quotaExceeded();
  }

  /**
   * The commit's quota check: usage with this file in place of the one it replaces (`growth`
   * bytes more), plus what older uploads of the user hold, must fit. A commit that adds nothing
   * is never refused (an overwrite with a smaller file after the quota was lowered).
   */
  *assertCommitFits(user: ChargedUser, homeId: number, fid: number, growth: number): Work<void> {
    if (user.quotaBytes === null || growth <= 0) return;
    const now = Date.now();
    const s = yield* this.stored(user.domainId, homeId, user.name, now);
    const older = yield* this.reserved(user.id, fid, now);
    if (s.files + growth + s.props + s.locks + older > user.quotaBytes)
      throw mogError(ErrorCodes.QUOTA_EXCEEDED, 'Quota exceeded: the file does not fit in your remaining space');
  }

  /** Bytes of the dead properties of one entry. */
  *entryPropBytes(domainId: number, entryId: number): Work<number> {
    const r = yield* get(`SELECT COALESCE(SUM(${PROP_BYTES}), 0) AS n FROM dav_props p WHERE p.domain_id = ? AND p.entry_id = ?`, domainId, entryId);
    return num(r?.n ?? 0);
  }

  /** Usage as AVBL and quota-available-bytes report it (all live reservations count). */
  *usage(holder: QuotaHolder, now: number): Work<QuotaUsage> {
    const user = yield* this.readUser(holder.userId);
    const s = yield* this.stored(user.domainId, holder.homeId, user.name, now);
    const reserved = yield* this.reserved(user.id, null, now);
    return { quotaBytes: user.quotaBytes, ...s, reserved };
  }
}

function quotaExceeded(): Error {
  return mogError(ErrorCodes.QUOTA_EXCEEDED, 'Quota exceeded: delete files to make room');
}

export function grantOf(user: ChargedUser, granted: number, leaseUntil: number): QuotaGrant {
  return { userId: user.id, quotaBytes: user.quotaBytes, granted, leaseUntil };
}
