// The store's bad-replica role (issue 16): a copy that a read found damaged (its bytes failed the
// file's checksum, or it held fewer bytes than the file) is marked here at once, so reads put it
// last while another copy exists, `mogftp admin file info` shows it, and fsck re-checks it: fsck
// drops a copy that really is bad and clears the mark of one that turns out fine. See the
// BadReplicas interface in ../types.ts.
//
// A mark is kept only for a copy that is recorded (a row in `replicas`): a read racing a
// deletion or a repair cannot leave a mark behind for a copy that is already gone.
import { ErrorCodes, mogError } from '../../errors.ts';
import type { BadReplica } from '../types.ts';
import type { Dialect, Work } from './driver.ts';
import { all, get, placeholders, run } from './driver.ts';
import { checkId, checkTime, num, str } from './rows.ts';

/** The reason column holds this many characters; longer reasons are cut. */
const MAX_BAD_REASON_CHARS = 255;

function checkBadReason(reason: string): string {
  if (typeof reason !== 'string' || reason.length === 0) throw mogError(ErrorCodes.INVALID_ARGUMENT, 'A bad-replica mark needs a reason');
  return reason.length > MAX_BAD_REASON_CHARS ? reason.slice(0, MAX_BAD_REASON_CHARS - 1) + '…' : reason;
}

const toBad = (r: Record<string, unknown>): BadReplica => ({
  fid: num(r.fid),
  devid: num(r.devid),
  foundAt: num(r.found_at),
  reason: str(r.reason),
});

export class BadReplicaWork {
  constructor(private readonly d: Dialect) {}

  /** Marks a recorded copy bad; false when no such copy is recorded. A second mark keeps the first's time. */
  *mark(fid: number, devid: number, reason: string, now: number): Work<boolean> {
    checkId('File id', fid);
    checkId('Device id', devid);
    checkTime('Time found', now);
    const why = checkBadReason(reason);
    if (!(yield* get(`SELECT fid FROM replicas WHERE fid = ? AND devid = ?${this.d.forUpdate}`, fid, devid))) return false;
    const { changes } = yield* run(
      `${this.d.insertIgnore} INTO bad_replicas (fid, devid, found_at, reason) VALUES (?, ?, ?, ?)`,
      fid,
      devid,
      now,
      why,
    );
    if (changes === 0) yield* run('UPDATE bad_replicas SET reason = ? WHERE fid = ? AND devid = ?', why, fid, devid);
    return true;
  }

  /** Clears a mark (fsck found the copy fine, or dropped it); false when there was none. */
  *clear(fid: number, devid: number): Work<boolean> {
    const { changes } = yield* run('DELETE FROM bad_replicas WHERE fid = ? AND devid = ?', fid, devid);
    return changes > 0;
  }

  /** The marks on one file's copies, by device. */
  *of(fid: number): Work<BadReplica[]> {
    const rows = yield* all('SELECT fid, devid, found_at, reason FROM bad_replicas WHERE fid = ? ORDER BY devid', fid);
    return rows.map(toBad);
  }

  /** The marks on the given files, for a listing (fids without one are absent). */
  *ofFiles(fids: number[]): Work<BadReplica[]> {
    if (fids.length === 0) return [];
    const rows = yield* all(`SELECT fid, devid, found_at, reason FROM bad_replicas WHERE fid IN ${placeholders(fids.length)} ORDER BY fid, devid`, ...fids);
    return rows.map(toBad);
  }

  /** Forgets marks whose copy is no longer recorded (removed by a job that did not clear it). */
  *prune(): Work<number> {
    const { changes } = yield* run(
      'DELETE FROM bad_replicas WHERE NOT EXISTS (SELECT 1 FROM replicas r WHERE r.fid = bad_replicas.fid AND r.devid = bad_replicas.devid)',
    );
    return changes;
  }
}
