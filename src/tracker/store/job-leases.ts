// The store's job-lease role: who is working (job_owners, one row per running jobs process,
// heartbeated every few seconds), which queue items and device tasks they hold, and the
// takeover of what a dead process held. Units of work over the Driver seam; the Queues role's
// methods (queues.ts) only check arguments and wrap these.
//
// A queue item's lease (queue.lease_owner/lease_until) used to end only at lease_until, 30 min
// after the claim, so a crashed process stranded its items that long. Now a claim also takes
// items whose owner has stopped heartbeating (claimWork's `staleBefore`), and a restarted process
// releases its dead predecessor's leases at once (releaseOwner). Whoever held an item before a
// takeover finds out at its next lease check (holdsLease) or when complete()/retry() match nothing.
import { ErrorCodes, mogError } from '../../errors.ts';
import type { JobOwner, QueueItem, QueueName } from '../types.ts';
import type { Dialect, Work } from './driver.ts';
import { all, get, placeholders, run } from './driver.ts';
import { num, str, toQueueItem } from './rows.ts';

const QUEUE_COLS = 'queue, fid, devids, nexttry, failcount, lease_owner, lease_until';
const OWNER_COLS = 'owner, hostname, pid_space, pid, started_at, heartbeat_at';

const toOwner = (r: Record<string, unknown>): JobOwner => ({
  owner: str(r.owner),
  hostname: str(r.hostname),
  pidSpace: str(r.pid_space),
  pid: num(r.pid),
  startedAt: num(r.started_at),
  heartbeatAt: num(r.heartbeat_at),
});

export class JobLeaseWork {
  constructor(private readonly d: Dialect) {}

  /** The queue claim (see Store.claim), taking over the items of owners silent since `staleBefore`. */
  *claim(
    queue: QueueName,
    owner: string,
    o: { limit: number; now: number; leaseUntil: number; staleBefore?: number; exclude: number[] },
  ): Work<QueueItem[]> {
    // The silent owners are read first, without locks: a short list, usually empty.
    const stale =
      o.staleBefore === undefined
        ? []
        : (yield* all('SELECT owner FROM job_owners WHERE heartbeat_at < ? AND owner <> ?', o.staleBefore, owner)).map((r) => str(r.owner));
    const takeover = stale.length > 0 ? ` OR lease_owner IN ${placeholders(stale.length)}` : '';
    const skip = o.exclude.length > 0 ? ` AND fid NOT IN ${placeholders(o.exclude.length)}` : '';
    const rows = yield* all(
      `SELECT ${QUEUE_COLS} FROM queue
       WHERE queue = ? AND nexttry <= ? AND (lease_until IS NULL OR lease_until <= ?${takeover})${skip}
       ORDER BY nexttry, fid LIMIT ?${this.d.forUpdateSkipLocked}`,
      queue, o.now, o.now, ...stale, ...o.exclude, o.limit,
    );
    if (rows.length === 0) return [];
    const fids = rows.map((r) => num(r.fid));
    yield* run(
      `UPDATE queue SET lease_owner = ?, lease_until = ?, requeued = 0 WHERE queue = ? AND fid IN ${placeholders(fids.length)}`,
      owner, o.leaseUntil, queue, ...fids,
    );
    return rows.map((r) => ({ ...toQueueItem(r), leaseOwner: owner, leaseUntil: o.leaseUntil }));
  }

  *holdsLease(queue: QueueName, fid: number, owner: string): Work<boolean> {
    return !!(yield* get('SELECT 1 AS x FROM queue WHERE queue = ? AND fid = ? AND lease_owner = ?', queue, fid, owner));
  }

  *register(o: JobOwner): Work<void> {
    const { changes } = yield* run(
      `${this.d.insertIgnore} INTO job_owners (${OWNER_COLS}) VALUES (?, ?, ?, ?, ?, ?)`,
      o.owner, o.hostname, o.pidSpace, o.pid, o.startedAt, o.heartbeatAt,
    );
    if (changes === 0) yield* run('UPDATE job_owners SET heartbeat_at = ? WHERE owner = ?', o.heartbeatAt, o.owner);
  }

  /** False when the row is gone: another process took this owner's leases over. */
  *heartbeat(owner: string, now: number): Work<boolean> {
    return (yield* run('UPDATE job_owners SET heartbeat_at = ? WHERE owner = ?', now, owner)).changes > 0;
  }

  *list(): Work<JobOwner[]> {
    return (yield* all(`SELECT ${OWNER_COLS} FROM job_owners ORDER BY started_at, owner`)).map(toOwner);
  }

  /**
   * Forgets an owner: its queue items become claimable now (lease and requeued flag cleared,
   * failcount kept) and its device tasks free. Returns how many queue items it held.
   */
  *releaseOwner(owner: string): Work<number> {
    yield* run('DELETE FROM job_owners WHERE owner = ?', owner);
    yield* run('DELETE FROM job_tasks WHERE owner = ?', owner);
    return (yield* run('UPDATE queue SET lease_owner = NULL, lease_until = NULL, requeued = 0 WHERE lease_owner = ?', owner)).changes;
  }

  /**
   * Takes or keeps a task lease (one runner per device task): granted when free, expired, ours,
   * or held by an owner silent since `staleBefore` (or no longer registered).
   */
  *acquireTask(task: string, owner: string, now: number, leaseUntil: number, staleBefore: number): Work<boolean> {
    const { changes } = yield* run(`${this.d.insertIgnore} INTO job_tasks (task, owner, lease_until) VALUES (?, ?, ?)`, task, owner, leaseUntil);
    if (changes > 0) return true;
    const cur = yield* get(`SELECT owner, lease_until FROM job_tasks WHERE task = ?${this.d.forUpdate}`, task);
    if (!cur) throw mogError(ErrorCodes.INTERNAL, `task lease ${task} vanished`);
    const holder = str(cur.owner);
    let free = holder === owner || num(cur.lease_until) <= now;
    if (!free) {
      const h = yield* get('SELECT heartbeat_at FROM job_owners WHERE owner = ?', holder);
      free = !h || num(h.heartbeat_at) < staleBefore;
    }
    if (!free) return false;
    yield* run('UPDATE job_tasks SET owner = ?, lease_until = ? WHERE task = ?', owner, leaseUntil, task);
    return true;
  }

  *releaseTask(task: string, owner: string): Work<void> {
    yield* run('DELETE FROM job_tasks WHERE task = ? AND owner = ?', task, owner);
  }
}
