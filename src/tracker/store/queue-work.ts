// Queueing as the other roles do it inside their own transactions: an upload's commit queues a
// replication, a removed or replaced file queues the delete of its copies, a class change
// queues a replication. Units of work over the Driver seam (driver.ts).
import { mogError, ErrorCodes } from '../../errors.ts';
import type { QueueName } from '../types.ts';
import type { Dialect, Work } from './driver.ts';
import { all, get, run } from './driver.ts';
import { decodeDevids, encodeDevids, num, uniqueDevids } from './rows.ts';

export class QueueWork {
  constructor(private readonly d: Dialect) {}

  /**
   * Queues `fid` or merges into the item already queued: it keeps its failcount, its nextTry
   * becomes the earlier one and the devids merge (see Queues.enqueue).
   */
  *enqueue(queue: QueueName, fid: number, devids: readonly number[], nextTry: number): Work<void> {
    const mine = uniqueDevids(devids);
    // Insert-or-merge without a dialect-specific upsert: INSERT IGNORE settles who creates the
    // row; the loser merges into it under a row lock. The loop covers a row completed in between.
    for (let attempt = 0; attempt < 3; attempt++) {
      const ins = yield* run(
        `${this.d.insertIgnore} INTO queue (queue, fid, devids, nexttry, failcount) VALUES (?, ?, ?, ?, 0)`,
        queue, fid, encodeDevids(mine), nextTry,
      );
      if (ins.changes > 0) return;
      const cur = yield* get(
        `SELECT devids, nexttry, lease_owner, requeued FROM queue WHERE queue = ? AND fid = ?${this.d.forUpdate}`,
        queue, fid,
      );
      if (!cur) continue;
      const had = decodeDevids(cur.devids);
      const merged = uniqueDevids([...had, ...mine]);
      const earliest = Math.min(num(cur.nexttry), nextTry);
      // A leased item is being worked on from a look taken before this request: flag it so
      // that its completion keeps it queued (the holder may have missed what we ask for).
      const requeued = cur.lease_owner != null ? 1 : num(cur.requeued);
      if (merged.length !== had.length || earliest !== num(cur.nexttry) || requeued !== num(cur.requeued)) {
        yield* run(
          'UPDATE queue SET devids = ?, nexttry = ?, requeued = ? WHERE queue = ? AND fid = ?',
          encodeDevids(merged), earliest, requeued, queue, fid,
        );
      }
      return;
    }
    throw mogError(ErrorCodes.INTERNAL, `Could not queue fid ${fid} on ${queue}`);
  }

  /**
   * Forgets a file that no entry points to any more: its files row goes, and a delete is queued
   * listing the devices that hold it. The replica rows stay until the delete job removes each
   * copy and calls removeReplica, so replicasOf(fid) keeps telling where the bytes are.
   */
  *dropFile(fid: number): Work<void> {
    const devids = (yield* all('SELECT devid FROM replicas WHERE fid = ?', fid)).map((r) => num(r.devid));
    yield* run('DELETE FROM files WHERE fid = ?', fid);
    yield* this.enqueue('delete', fid, devids, Date.now());
  }
}
