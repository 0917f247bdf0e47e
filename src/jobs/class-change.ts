// A class's mindevcount changed: every fid of the class is queued for replication, which adds
// copies (raised) or removes surplus ones once the copies that stay are verified (lowered).
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
