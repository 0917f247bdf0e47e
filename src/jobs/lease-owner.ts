// A jobs process's identity in the lease tables: it registers a job_owners row, heartbeats it
// every few seconds and, on a clean stop, removes it (its leases free at once). What a crashed
// process held is taken over two ways:
// - by anyone, once its heartbeat is older than the stale bound (claims pass `staleBefore`);
// - at once by a process in the same pid space (same host, boot and pid namespace) that sees the
//   dead one's pid is gone: a restarted `mogftp jobs` picks up its predecessor's work in seconds.
//
// A process that was only paused (SIGSTOP, a frozen VM) past the bound loses its items to
// others. When it runs again its heartbeat may find its row removed: it then takes a new owner
// id, so nothing it still has in flight can pass for the new holder's work; every item's
// committing steps check the lease first (fence.ts), and complete()/retry() of an item someone
// else took match nothing.
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { describeError } from '../errors.ts';
import type { Store } from '../tracker/types.ts';
import { silentLog, type JobLog } from './runner.ts';

export const DEFAULT_HEARTBEAT_MS = 5000;
/** Never less: a garbage collection or a busy database must not look like a death. */
export const MIN_STALE_MS = 15_000;

export interface LeaseOwnerOptions {
  /** How often the row is heartbeated. Default 5 s. */
  heartbeatMs?: number;
  /** Silent this long, an owner counts as dead. Default and floor: max(15 s, 3 heartbeats). */
  staleMs?: number;
  /** Owner id (tests); default hostname:pid:random. A new id replaces it after a takeover. */
  owner?: string;
  log?: JobLog;
}

let cachedPidSpace: string | null = null;
/** Owner ids alive in this process (tests and the quickstart may run several jobs sets in one). */
const ownersHere = new Set<string>();

/** Hostname, boot id and pid namespace: two processes with equal values see the same pids. */
export function pidSpace(): string {
  if (cachedPidSpace !== null) return cachedPidSpace;
  const parts = [hostname()];
  try {
    parts.push(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    parts.push(readlinkSync('/proc/self/ns/pid'));
  } catch {
    // Not Linux: the hostname alone (hostnames of jobs hosts must be unique; see devices.md).
  }
  cachedPidSpace = parts.join('/').slice(0, 255);
  return cachedPidSpace;
}

function newOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** Whether a process with this pid runs in our pid space. */
function pidRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class LeaseOwner {
  private current: string;
  readonly heartbeatMs: number;
  readonly staleMs: number;
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private stopped = false;
  private readonly log: JobLog;
  private readonly startedAt = Date.now();

  constructor(
    private readonly store: Store,
    opts: LeaseOwnerOptions = {},
  ) {
    this.current = opts.owner ?? newOwnerId();
    this.heartbeatMs = Math.max(100, opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
    this.staleMs = Math.max(MIN_STALE_MS, 3 * this.heartbeatMs, opts.staleMs ?? 0);
    this.log = opts.log ?? silentLog;
  }

  /** The owner id new claims are made under (it changes after this process lost its row). */
  get id(): string {
    return this.current;
  }

  /** Heartbeats older than this are dead owners' (a claim takes their items). */
  staleBefore(now = Date.now()): number {
    return now - this.staleMs;
  }

  /** Registers, takes over dead predecessors in this pid space, then heartbeats until stop(). */
  async start(): Promise<this> {
    ownersHere.add(this.current);
    await this.register();
    await this.takeOverDead().catch((err) => this.log('warn', `lease recovery: ${describeError(err)}`));
    this.schedule();
    return this;
  }

  private async register(): Promise<void> {
    const now = Date.now();
    await this.store.registerJobOwner({
      owner: this.current,
      hostname: hostname().slice(0, 255),
      pidSpace: pidSpace(),
      pid: process.pid,
      startedAt: this.startedAt,
      heartbeatAt: now,
    });
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.beating = this.beat().finally(() => {
        this.beating = null;
        this.schedule();
      });
    }, this.heartbeatMs);
  }

  private async beat(): Promise<void> {
    try {
      if (!(await this.store.heartbeatJobOwner(this.current, Date.now()))) {
        const old = this.current;
        ownersHere.delete(old);
        this.current = newOwnerId();
        ownersHere.add(this.current);
        this.log('warn', `lease recovery: this process (${old}) was silent too long and its leases were taken over; continuing as ${this.current}`);
        await this.register();
      }
    } catch (err) {
      this.log('warn', `lease recovery: heartbeat failed: ${describeError(err)}`);
      return;
    }
    await this.takeOverDead().catch((err) => this.log('warn', `lease recovery: ${describeError(err)}`));
  }

  /**
   * Releases the leases of owners that are surely dead: in our pid space with their pid gone,
   * or silent for ten stale bounds (claims take those items anyway; this keeps the table short).
   */
  private async takeOverDead(): Promise<void> {
    const now = Date.now();
    const mine = pidSpace();
    for (const o of await this.store.listJobOwners()) {
      if (o.owner === this.current || ownersHere.has(o.owner)) continue;
      const samePlace = o.pidSpace === mine && !pidRunning(o.pid) ? `its pid ${o.pid} is gone` : null;
      const silent = now - o.heartbeatAt > 10 * this.staleMs ? `silent for ${Math.round((now - o.heartbeatAt) / 1000)} s` : null;
      // Our own pid under an id this process never had: that process is gone (we reuse its pid).
      const reused = o.pidSpace === mine && o.pid === process.pid ? `its pid ${o.pid} is now this process's` : null;
      const why = reused ?? samePlace ?? silent;
      if (!why) continue;
      const items = await this.store.releaseJobOwner(o.owner);
      this.log('warn', `lease recovery: jobs process ${o.owner} is dead (${why}): ${items} queue item(s) it held are free again`);
    }
  }

  /** Stops heartbeating and removes the row: whatever this owner still holds is free at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.beating;
    ownersHere.delete(this.current);
    try {
      await this.store.releaseJobOwner(this.current);
    } catch (err) {
      this.log('warn', `lease recovery: could not unregister ${this.current}: ${describeError(err)} (others take its leases after ${this.staleMs / 1000} s)`);
    }
  }
}
