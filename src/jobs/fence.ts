// Fencing a queue item's work: before each step that changes replica records or removes bytes,
// the handler's lease is checked, so a process that lost the item (it was paused past the stale
// bound and another process took the item over) stops before it acts on an old look.
//
// The check and the step are two statements, not one transaction: a pause of more than the
// stale bound (15 s) exactly between them could still let both processes act. What follows then
// is at worst an extra copy (trimmed later under removeReplicaIfCovered's guard) or a repeated
// DELETE of unrecorded bytes: work done twice, never a copy lost.
import type { StorageClient } from '../storage/client.ts';
import type { Store } from '../tracker/types.ts';
import type { JobContext } from './context.ts';
import { LeaseLostError, type ItemLease } from './runner.ts';

/** Store methods that change replica records: each waits for a lease check. */
const FENCED_STORE = new Set<string>(['addReplica', 'removeReplica', 'removeReplicaIfCovered', 'fixDevcount']);

/** The job context for one item: the same store and client, with their committing steps fenced. */
export function fencedContext(ctx: JobContext, lease: ItemLease, fid: number): JobContext {
  const store = new Proxy(ctx.store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (typeof prop !== 'string' || !FENCED_STORE.has(prop)) return (value as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        try {
          await lease.check();
        } catch (err) {
          // A copy written under a lost lease is handed to the delete queue rather than left
          // unrecorded: for a live file the delete job removes only what no record points at.
          if (err instanceof LeaseLostError && prop === 'addReplica' && args[0] === fid && typeof args[1] === 'number')
            await target.enqueue('delete', fid, { devids: [args[1]], now: Date.now() }).catch(() => {});
          throw err;
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Store;
  const client = new Proxy(ctx.client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (prop !== 'delete') return (value as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        await lease.check();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as StorageClient;
  return { ...ctx, store, client };
}
