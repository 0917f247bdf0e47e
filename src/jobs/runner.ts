// A queue worker: claims due items with a lease, processes them with bounded concurrency, and
// completes each one or puts it back with a backoff delay. Several runners (in one process or
// many) may work the same queue: the store's lease guarantees an item is held by one owner at a time.
//
// Leases are not renewed. The default lease (30 min) is far longer than any one item should take
// (a copy of a multi-gigabyte file at disk speed, a handful of DELETEs); an item whose work does
// outlast it can be claimed by a second runner, which is safe because every job here is
// idempotent: the worst case is duplicate work, never a lost or corrupt replica. Items held by a
// crashed process do not wait that long: a runner given a LeaseOwner (lease-owner.ts) also claims
// the items of owners whose heartbeat stopped, and a handler checks its lease before each step
// that changes records or removes bytes (fence.ts), so the process that lost an item stops there.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { describeError } from '../errors.ts';
import type { QueueItem, QueueName, Store } from '../tracker/types.ts';
import { backoffDelay } from './backoff.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type JobLog = (level: LogLevel, message: string) => void;
export const silentLog: JobLog = () => {};

/** Throws LeaseLostError when the item's lease went to another owner since the claim. */
export interface ItemLease {
  check(): Promise<void>;
}

/** Processes one item; returning completes it, throwing retries it later with backoff. */
export type ItemHandler = (item: QueueItem, lease: ItemLease) => Promise<void>;

/** The item was taken over by another owner: stop, leave it to them (no retry, no completion). */
export class LeaseLostError extends Error {
  constructor(queue: QueueName, fid: number, owner: string) {
    super(`${queue} fid ${fid}: the lease of ${owner} was taken over by another jobs process`);
    this.name = 'LeaseLostError';
  }
}

/** Where claims get their owner id and the stale bound from (a LeaseOwner). */
export interface OwnerSource {
  readonly id: string;
  staleBefore(now?: number): number;
}

export interface RunnerOptions {
  queue: QueueName;
  handler: ItemHandler;
  /** Lease owner id, or a LeaseOwner (heartbeated; claims also take over dead owners' items). Default: this process's id. */
  owner?: string | OwnerSource;
  /** Items processed at once. Default 4. */
  concurrency?: number;
  /** How long a claimed item stays ours. Default 30 min (see the note at the top). */
  leaseMs?: number;
  /** Wait between polls while the queue has nothing due. Default 1 s. */
  pollMs?: number;
  /** Multiplies retry delays (tests use a tiny scale). Default 1. */
  backoffScale?: number;
  log?: JobLog;
}

let processOwner: string | null = null;

/** One id per process, unique across hosts and restarts: hostname:pid:random. */
export function processOwnerId(): string {
  processOwner ??= `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  return processOwner;
}

export const DEFAULT_LEASE_MS = 30 * 60 * 1000;

export class QueueRunner {
  private readonly ownerSource: OwnerSource | null;
  private readonly fixedOwner: string;
  private readonly inFlight = new Set<Promise<void>>();
  /** Fids being worked on here: never claimed again until their work ends. */
  private readonly inFlightFids = new Set<number>();
  private stopping = false;
  private wakeUp: (() => void) | null = null;
  private wokenEarly = false;
  private loopDone: Promise<void> | null = null;
  private readonly log: JobLog;

  constructor(
    private readonly store: Store,
    private readonly opts: RunnerOptions,
  ) {
    const o = opts.owner ?? processOwnerId();
    this.ownerSource = typeof o === 'string' ? null : o;
    this.fixedOwner = typeof o === 'string' ? o : '';
    this.log = opts.log ?? silentLog;
  }

  /** The owner id claims are made under now. */
  get owner(): string {
    return this.ownerSource ? this.ownerSource.id : this.fixedOwner;
  }

  start(): this {
    this.loopDone ??= this.loop();
    return this;
  }

  /** Polls now instead of at the end of the idle wait (after enqueueing work, say). */
  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.wokenEarly = true;
  }

  /** Stops claiming, then waits for the items in flight to finish (and be completed or retried). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loopDone;
    await Promise.allSettled([...this.inFlight]);
  }

  private get concurrency(): number {
    return Math.max(1, this.opts.concurrency ?? 4);
  }

  private async loop(): Promise<void> {
    const pollMs = this.opts.pollMs ?? 1000;
    let dbFailures = 0;
    while (!this.stopping) {
      const free = this.concurrency - this.inFlight.size;
      if (free <= 0) {
        await this.idle(0, Promise.race(this.inFlight));
        continue;
      }
      let items: QueueItem[];
      try {
        const now = Date.now();
        items = await this.store.claim(this.opts.queue, this.owner, {
          limit: free,
          leaseMs: this.opts.leaseMs ?? DEFAULT_LEASE_MS,
          now,
          ...(this.ownerSource ? { staleBefore: this.ownerSource.staleBefore(now) } : {}),
          ...(this.inFlightFids.size > 0 ? { exclude: [...this.inFlightFids] } : {}),
        });
        dbFailures = 0;
      } catch (err) {
        dbFailures++;
        this.log('warn', `${this.opts.queue} queue: cannot claim work: ${describeError(err)}`);
        await this.idle(Math.min(pollMs * 2 ** Math.min(dbFailures, 5), 30_000));
        continue;
      }
      for (const item of items) this.launch(item);
      // Nothing due, or the queue was emptied by this claim: wait for new work, a finished
      // item (which may free a slot for items that became due), or a wake-up.
      if (items.length < free) await this.idle(pollMs);
    }
  }

  private launch(item: QueueItem): void {
    this.inFlightFids.add(item.fid);
    const run = this.process(item).finally(() => {
      this.inFlight.delete(run);
      this.inFlightFids.delete(item.fid);
      this.wake();
    });
    this.inFlight.add(run);
  }

  private async process(item: QueueItem): Promise<void> {
    const { queue } = this.opts;
    // The id this item was claimed under: the process may take a new one meanwhile.
    const owner = item.leaseOwner ?? this.owner;
    const lease: ItemLease = {
      check: async () => {
        if (!(await this.store.holdsLease(queue, item.fid, owner))) throw new LeaseLostError(queue, item.fid, owner);
      },
    };
    try {
      await this.opts.handler(item, lease);
    } catch (err) {
      if (err instanceof LeaseLostError) {
        this.log('warn', `${err.message}; left to it`);
        return;
      }
      const delayMs = backoffDelay(item.failcount, { scale: this.opts.backoffScale });
      this.log(
        item.failcount >= 3 ? 'warn' : 'info',
        `${queue} fid ${item.fid}: ${describeError(err)} (try ${item.failcount + 1}; next in ${formatMs(delayMs)})`,
      );
      try {
        if (!(await this.store.retry(queue, item.fid, owner, { delayMs, now: Date.now() })))
          this.log('warn', `${queue} fid ${item.fid}: the lease was taken over by another jobs process; left to it`);
      } catch (e) {
        // The lease expires on its own and someone tries again; nothing is lost.
        this.log('warn', `${queue} fid ${item.fid}: cannot reschedule: ${describeError(e)}`);
      }
      return;
    }
    try {
      const held = await this.store.complete(queue, item.fid, owner);
      if (!held)
        this.log('warn', `${queue} fid ${item.fid}: done, but the lease expired or was taken over by another jobs process meanwhile; its holder redoes the item`);
    } catch (err) {
      this.log('warn', `${queue} fid ${item.fid}: done, but cannot remove it from the queue: ${describeError(err)}`);
    }
  }

  /** Waits `ms` (0: no timer), for `what`, or for a wake-up, whichever comes first. */
  private async idle(ms: number, what?: Promise<unknown>): Promise<void> {
    if (this.stopping) return;
    if (this.wokenEarly) {
      this.wokenEarly = false;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const waits: Promise<unknown>[] = [new Promise<void>((resolve) => (this.wakeUp = resolve))];
    if (ms > 0) waits.push(new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))));
    if (what) waits.push(what.catch(() => {}));
    await Promise.race(waits);
    clearTimeout(timer);
    this.wakeUp = null;
    this.wokenEarly = false;
  }
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
