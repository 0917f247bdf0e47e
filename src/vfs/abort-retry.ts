// An upload that fails while the database is unreachable (its commit, or a quota grow, hit the
// outage) cannot release its reservation, and its complete copies would wait for the reaper's
// 24 hours. Its release is tried again in the background until the database answers: then the
// reservation goes and the copies are queued for deletion at once. If this process ends first,
// the reaper still removes them. A commit that did reach the database before the connection
// broke left no reservation, so the release finds nothing and deletes nothing.
import { describeError } from '../errors.ts';
import type { LogFn } from '../log.ts';
import type { Uploads } from '../tracker/types.ts';

/** Waits between tries: quick at first (a restart), then once a minute for half an hour. */
const DELAYS_MS = [1000, 2000, 4000, 8000, 15_000, 30_000, ...new Array(29).fill(60_000)];
/** Releases waiting at once in one process; beyond it the reaper is relied on (and it is said). */
const MAX_PENDING = 10_000;

const pending = new Set<number>();

/**
 * Tries `abortUpload(fid)` again and again in the background after it failed with `firstError`.
 * Never throws; every outcome is logged.
 */
export function releaseLater(store: Pick<Uploads, 'abortUpload'>, fid: number, firstError: unknown, log: LogFn, delays: readonly number[] = DELAYS_MS): void {
  if (pending.has(fid)) return;
  if (pending.size >= MAX_PENDING) {
    log('warn', 'upload reservation not released; left to the reaper', { fid, error: describeError(firstError), pending: pending.size });
    return;
  }
  pending.add(fid);
  log('warn', 'upload reservation not released yet; retrying in the background', { fid, error: describeError(firstError) });
  const attempt = (i: number) => {
    const timer = setTimeout(() => {
      store.abortUpload(fid).then(
        () => {
          pending.delete(fid);
          log('info', 'upload reservation released after the database came back', { fid, tries: i + 1 });
        },
        (err: unknown) => {
          if (i + 1 < delays.length) return attempt(i + 1);
          pending.delete(fid);
          log('warn', 'upload reservation still not released; left to the reaper', { fid, error: describeError(err) });
        },
      );
    }, delays[i]);
    timer.unref();
  };
  attempt(0);
}
