// The reaper: upload reservations that were never committed or aborted (the uploader crashed, or
// its database connection died at the wrong moment) are aborted, which queues the deletion of
// whatever partial bytes reached the nodes.
//
// A reservation carries no heartbeat, so an upload that is still streaming looks exactly like an
// abandoned one of the same age. MogileFS reaped after 1 h and so killed large uploads; our default
// is 24 h, longer than any upload this system expects (1 TB at 15 MB/s), and a stale reservation
// costs only a row and some orphaned bytes until then. Lower it only if uploads are known to be short.
//
// A stale reservation does not hold its user's quota for those 24 h: an upload charged to a quota
// renews a lease as it streams (src/vfs/upload-quota.ts, 10 min), and a reservation whose lease
// ran out no longer counts (store/quota.ts). Aborting it here also deletes the row, so the
// uploader's commit, should it ever come, is refused (NOT_FOUND) rather than over the quota.
import { ErrorCodes, describeError, isMogError } from '../errors.ts';
import type { JobContext } from './context.ts';

export const DEFAULT_RESERVATION_TIMEOUT_MS = 24 * 60 * 60 * 1000;

export interface ReapOptions {
  /** Reservations older than this are reaped. Default 24 h (see above). */
  timeoutMs?: number;
  now?: number;
  /** Page size. Default 500. */
  limit?: number;
}

/** Aborts every stale reservation; returns how many it aborted. */
export async function reapStaleReservations(ctx: JobContext, opts: ReapOptions = {}): Promise<number> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_RESERVATION_TIMEOUT_MS;
  const limit = opts.limit ?? 500;
  const olderThan = (opts.now ?? Date.now()) - timeoutMs;
  let reaped = 0;
  for (;;) {
    const stale = await ctx.store.staleReservations(olderThan, limit);
    let progress = 0;
    for (const r of stale) {
      try {
        await ctx.store.abortUpload(r.fid);
      } catch (err) {
        // Committed or aborted by its uploader a moment ago: nothing left to reap.
        if (isMogError(err, ErrorCodes.NOT_FOUND)) continue;
        ctx.log('warn', `reaper: cannot abort the upload of fid ${r.fid}: ${describeError(err)}`);
        continue;
      }
      progress++;
      reaped++;
      ctx.log('info', `reaper: aborted the upload of fid ${r.fid}, reserved ${new Date(r.createdAt).toISOString()}`);
      ctx.onEvent?.({ type: 'reaped', fid: r.fid });
    }
    // A short page is the last; a page where nothing could be aborted would come back unchanged.
    if (stale.length < limit || progress === 0) return reaped;
  }
}
