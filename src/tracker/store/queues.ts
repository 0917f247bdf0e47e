// The Queues role: the replicate, delete and fsck work queues and their leases. The claim and
// the jobs processes' heartbeats and task leases live in job-leases.ts, the merge of a request
// into a queued item in queue-work.ts, the orphan sweep's look-up in orphans.ts.
import { mogError, ErrorCodes } from '../../errors.ts';
import type { JobOwner, QueueItem, QueueName, Queues, StoredFidState } from '../types.ts';
import type { Driver } from './driver.ts';
import { get, run } from './driver.ts';
import { JobLeaseWork } from './job-leases.ts';
import { storedFidStates } from './orphans.ts';
import { QueueWork } from './queue-work.ts';
import { checkDevids, checkId, checkInt, checkLabel, checkLimit, checkQueue, checkTime, num } from './rows.ts';

const invalid = (msg: string) => mogError(ErrorCodes.INVALID_ARGUMENT, msg);

/** Checks a list of at most 1000 fids (what one call may name). */
function checkFidList(fids: unknown, what: string): number[] {
  if (!Array.isArray(fids) || fids.length > 1000) throw invalid(what);
  fids.forEach((f) => checkId('Fid', f));
  return fids as number[];
}

export class SqlQueues implements Queues {
  private readonly queue: QueueWork;
  private readonly jobLeases: JobLeaseWork;

  constructor(private readonly driver: Driver) {
    this.queue = new QueueWork(driver.dialect);
    this.jobLeases = new JobLeaseWork(driver.dialect);
  }

  async enqueue(queue: QueueName, fid: number, opts: { devids?: number[]; delayMs?: number; now?: number } = {}): Promise<void> {
    checkQueue(queue);
    checkId('Fid', fid);
    const devids = checkDevids(opts.devids ?? []);
    const nextTry = (opts.now ?? Date.now()) + (opts.delayMs ?? 0);
    checkTime('Next try', nextTry);
    return this.driver.write(() => this.queue.enqueue(queue, fid, devids, nextTry));
  }

  async enqueueMany(queue: QueueName, fids: number[], opts: { delayMs?: number; now?: number } = {}): Promise<void> {
    checkQueue(queue);
    checkFidList(fids, 'enqueueMany takes a list of at most 1000 fids');
    const nextTry = (opts.now ?? Date.now()) + (opts.delayMs ?? 0);
    checkTime('Next try', nextTry);
    const work = this.queue;
    if (fids.length === 0) return;
    return this.driver.write(function* () {
      // Ascending order: two processes queueing overlapping lists lock rows in one order.
      for (const fid of [...new Set(fids)].sort((a, b) => a - b)) yield* work.enqueue(queue, fid, [], nextTry);
    });
  }

  async claim(
    queue: QueueName,
    owner: string,
    opts: { limit: number; leaseMs: number; now: number; staleBefore?: number; exclude?: number[] },
  ): Promise<QueueItem[]> {
    checkQueue(queue);
    checkLabel('Lease owner', owner);
    const limit = checkLimit(opts.limit);
    const leaseUntil = checkTime('Now', opts.now) + checkInt('Lease', opts.leaseMs, 1);
    if (opts.staleBefore !== undefined) checkTime('Stale-before time', opts.staleBefore);
    const exclude = checkFidList(opts.exclude ?? [], 'claim excludes at most 1000 fids');
    // The SQL lives in job-leases.ts (it also takes over the items of silent owners).
    return this.driver.write(() =>
      this.jobLeases.claim(queue, owner, { limit, now: opts.now, leaseUntil, staleBefore: opts.staleBefore, exclude }),
    );
  }

  async complete(queue: QueueName, fid: number, owner: string): Promise<boolean> {
    return this.driver.write(function* () {
      // Asked for again while we worked (requeued): the new request may need work we did not do,
      // so the item stays, released and due; failcount starts over as for a fresh request.
      const kept = yield* run(
        `UPDATE queue SET lease_owner = NULL, lease_until = NULL, requeued = 0, failcount = 0
         WHERE queue = ? AND fid = ? AND lease_owner = ? AND requeued = 1`,
        queue, fid, owner,
      );
      if (kept.changes > 0) return true;
      const { changes } = yield* run('DELETE FROM queue WHERE queue = ? AND fid = ? AND lease_owner = ?', queue, fid, owner);
      return changes > 0;
    });
  }

  async retry(queue: QueueName, fid: number, owner: string, opts: { delayMs: number; now: number }): Promise<boolean> {
    const nextTry = checkTime('Now', opts.now) + checkInt('Delay', opts.delayMs, 0);
    return this.driver.write(function* () {
      const { changes } = yield* run(
        `UPDATE queue SET lease_owner = NULL, lease_until = NULL, requeued = 0, failcount = failcount + 1, nexttry = ?
         WHERE queue = ? AND fid = ? AND lease_owner = ?`,
        nextTry, queue, fid, owner,
      );
      return changes > 0;
    });
  }

  async queueDepth(queue: QueueName): Promise<number> {
    return this.driver.read(function* () {
      return num((yield* get('SELECT COUNT(*) AS n FROM queue WHERE queue = ?', queue))!.n);
    });
  }

  // --- job leases: owners' heartbeats, takeovers, device tasks (the SQL lives in job-leases.ts)

  async registerJobOwner(o: JobOwner): Promise<void> {
    checkLabel('Lease owner', o.owner);
    checkLabel('Host name', o.hostname);
    checkLabel('Pid space', o.pidSpace);
    checkInt('Pid', o.pid, 0);
    checkTime('Start time', o.startedAt);
    checkTime('Heartbeat time', o.heartbeatAt);
    return this.driver.write(() => this.jobLeases.register(o));
  }

  async heartbeatJobOwner(owner: string, now: number): Promise<boolean> {
    checkTime('Heartbeat time', now);
    return this.driver.write(() => this.jobLeases.heartbeat(owner, now));
  }

  async listJobOwners(): Promise<JobOwner[]> {
    return this.driver.read(() => this.jobLeases.list());
  }

  async releaseJobOwner(owner: string): Promise<number> {
    checkLabel('Lease owner', owner);
    return this.driver.write(() => this.jobLeases.releaseOwner(owner));
  }

  async holdsLease(queue: QueueName, fid: number, owner: string): Promise<boolean> {
    checkQueue(queue);
    checkId('Fid', fid);
    return this.driver.read(() => this.jobLeases.holdsLease(queue, fid, owner));
  }

  async acquireTaskLease(task: string, owner: string, opts: { now: number; ttlMs: number; staleBefore: number }): Promise<boolean> {
    checkLabel('Task', task);
    checkLabel('Lease owner', owner);
    const until = checkTime('Now', opts.now) + checkInt('Task lease', opts.ttlMs, 1);
    checkTime('Stale-before time', opts.staleBefore);
    return this.driver.write(() => this.jobLeases.acquireTask(task, owner, opts.now, until, opts.staleBefore));
  }

  async releaseTaskLease(task: string, owner: string): Promise<void> {
    checkLabel('Task', task);
    return this.driver.write(() => this.jobLeases.releaseTask(task, owner));
  }

  async storedFidStates(devid: number, fids: number[]): Promise<StoredFidState[]> {
    checkId('Device id', devid);
    checkFidList(fids, 'storedFidStates takes at most 1000 fids');
    // The SQL lives in orphans.ts.
    return this.driver.read(() => storedFidStates(devid, fids));
  }
}
