// The delete job: removes one fid's copies from the storage nodes and its replica records.
//
// Which devices to clean depends on whether the fid is still live (a file row exists):
// - deleted fid (removed, overwritten, aborted upload): every replica record plus the item's
//   devids (devices an upload may have written to without a record);
// - live fid: only the item's devids that no replica record points at. Such items come from an
//   upload's failed targets and from surplus copies whose node was away; a device that holds a
//   recorded replica is never touched, so a live file can't lose a copy it counts on.
// A live fid's copy can be (re)written by the replicate job between our look at the records and
// our DELETE; so afterwards we look again, and a record we may have undercut is checked on its
// node (replicate.ts checks from its side too).
import { ErrorCodes, describeError, mogError } from '../errors.ts';
import type { DeviceView, QueueItem } from '../tracker/types.ts';
import { isGoneDevice, replicaUrlOf, type JobContext } from './context.ts';

export interface DeleteResult {
  /** Devices whose copy was deleted (or found already gone). */
  deleted: number[];
}

/** Cleans up `item.fid`; throws while some device could not be reached (the runner retries). */
export async function deleteFid(ctx: JobContext, item: Pick<QueueItem, 'fid' | 'devids'>): Promise<DeleteResult> {
  const { store, client } = ctx;
  const { fid } = item;
  const [file, recorded, devices] = await Promise.all([store.getFile(fid), store.replicasOf(fid), store.listDevices()]);
  const live = file !== null;
  const byId = new Map(devices.map((d) => [d.id, d]));
  const targets = live
    ? unique(item.devids.filter((d) => !recorded.includes(d)))
    : unique([...recorded, ...item.devids]);

  const deleted: number[] = [];
  const waiting: string[] = [];
  for (const devid of targets) {
    const dev = byId.get(devid);
    if (!dev || isGoneDevice(dev)) {
      // Its bytes went with the device: only the record is left to drop.
      if (!live) await store.removeReplica(fid, devid);
      continue;
    }
    const notNow = whyNotDeletable(dev);
    if (notNow) {
      waiting.push(`device ${devid} ${notNow}`);
      continue;
    }
    try {
      await client.delete(replicaUrlOf(dev, fid));
    } catch (err) {
      waiting.push(`device ${devid}: ${describeError(err)}`);
      continue;
    }
    deleted.push(devid);
    ctx.onEvent?.({ type: 'deleted', fid, devid });
    if (!live) await store.removeReplica(fid, devid);
  }

  if (live && deleted.length > 0) await recheckLive(ctx, fid, deleted, byId);
  if (waiting.length > 0) {
    throw mogError(ErrorCodes.NODE_UNAVAILABLE, `fid ${fid}: copies left to delete: ${waiting.join('; ')}`);
  }
  return { deleted };
}

/**
 * After deleting leftovers of a live fid: if one of those devices has meanwhile gained a replica
 * record (a concurrent copy), make sure the copy is really there, else drop the record and ask
 * for replication again.
 */
async function recheckLive(ctx: JobContext, fid: number, deleted: number[], byId: Map<number, DeviceView>): Promise<void> {
  const now = await ctx.store.replicasOf(fid);
  for (const devid of deleted.filter((d) => now.includes(d))) {
    const file = await ctx.store.getFile(fid);
    if (!file) return;
    const seen = await ctx.client.head(replicaUrlOf(byId.get(devid)!, fid)).catch(() => undefined);
    if (seen === undefined || (seen && seen.length === file.length)) continue;
    await ctx.store.removeReplica(fid, devid);
    await ctx.store.enqueue('replicate', fid, { now: Date.now() });
    ctx.log('warn', `fid ${fid}: a copy on device ${devid} was removed as it was being recorded; replication queued`);
    ctx.onEvent?.({ type: 'lost-copy', fid, devid });
  }
}

/** Null when the device takes DELETEs now; else why not (the item waits). */
function whyNotDeletable(d: DeviceView): string | null {
  if (d.hostStatus !== 'alive') return `is on host ${d.hostName}, which is ${d.hostStatus}`;
  if (d.status === 'alive' || d.status === 'drain') return null;
  return `is ${d.status}`; // readonly or down: deletes wait, as in MogileFS
}

function unique(xs: number[]): number[] {
  return [...new Set(xs)];
}
