// A class's mindevcount changed, or files moved to another class (admin file set-class): their
// fids are queued for replication, which adds copies (more wanted) or removes surplus ones once
// the copies that stay are verified (fewer wanted).
import type { Store } from '../tracker/types.ts';

/** Queues all of a class's fids on the replicate queue, a page at a time; returns how many. */
export async function queueClassForReplication(store: Store, classId: number, opts: { pageSize?: number; now?: number } = {}): Promise<number> {
  const pageSize = Math.min(opts.pageSize ?? 1000, 1000);
  let after = 0;
  let queued = 0;
  for (;;) {
    const fids = await store.fidsOfClass(classId, after, pageSize);
    if (fids.length > 0) await store.enqueueMany('replicate', fids, { now: opts.now ?? Date.now() });
    queued += fids.length;
    if (fids.length < pageSize) return queued;
    after = fids[fids.length - 1]!;
  }
}

/**
 * Moves every file below a directory (the whole domain for the root) to `classId`, a page per
 * transaction: each changed file is queued for replication in the page that changed it, so an
 * interrupted run leaves no changed file unqueued, and running it again finishes the rest.
 */
export async function changeTreeClass(
  store: Store,
  domainId: number,
  dirId: number,
  classId: number,
  opts: { pageSize?: number } = {},
): Promise<{ files: number; changed: number }> {
  const pageSize = Math.min(opts.pageSize ?? 500, 1000);
  let after = 0;
  let files = 0;
  let changed = 0;
  for (;;) {
    const page = await store.setClassUnder(domainId, dirId, classId, after, pageSize);
    files += page.fids.length;
    changed += page.changed;
    if (page.fids.length < pageSize) return { files, changed };
    after = page.fids[page.fids.length - 1]!;
  }
}
