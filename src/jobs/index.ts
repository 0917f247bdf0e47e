// Everything that keeps the store and the nodes in agreement, run in one process: the monitor,
// the replicate, delete and fsck queue runners, the fsck feeder, the reaper, the dead-device
// sweep, the drain sweep and the orphan sweep. `mogftp jobs` and
// the quickstart both start it; several such processes may run against one database.
import { describeError } from '../errors.ts';
import type { StorageClient } from '../storage/client.ts';
import type { SpaceLimits } from '../tracker/policy.ts';
import type { Store } from '../tracker/types.ts';
import { startMonitor } from './monitor.ts';
import { sweepDeadDevices } from './dead-devices.ts';
import { deleteFid } from './delete.ts';
import { reapStaleReservations } from './reaper.ts';
import { replicateFid } from './replicate.ts';
import { fsckFid } from './fsck.ts';
import { feedFsck } from './fsck-run.ts';
import { newDrainState, sweepDraining } from './drain.ts';
import { newHostSpreadState, sweepHostSpread } from './host-spread.ts';
import { QueueRunner, silentLog, type ItemLease, type JobLog } from './runner.ts';
import { LeaseOwner } from './lease-owner.ts';
import { fencedContext } from './fence.ts';
import { DEFAULT_ORPHAN_MIN_AGE_MS, sweepOrphans } from './orphans.ts';
import { ErrorCodes, mogError } from '../errors.ts';
import type { QueueName } from '../tracker/types.ts';
import type { JobContext, JobEvent } from './context.ts';

export type { JobLog } from './runner.ts';
export type { JobEvent } from './context.ts';

export interface JobsOptions {
  client: StorageClient;
  /** Run the device monitor here too. Default true. */
  monitor?: boolean;
  /** Monitor poll interval. Default: the monitor's own. */
  monitorIntervalMs?: number;
  /** Queue poll interval while idle. Default 1 s. */
  pollMs?: number;
  /** Items in flight per queue. Default 4. */
  concurrency?: number;
  /** Queue lease; see runner.ts. Default 30 min. */
  leaseMs?: number;
  /** Multiplies retry backoff (tests: 0.001). Default 1. */
  backoffScale?: number;
  /** How often stale reservations are looked for. Default 60 s. */
  reaperIntervalMs?: number;
  /** Reservation age at which an upload counts as abandoned. Default 24 h (see reaper.ts). */
  reservationTimeoutMs?: number;
  /** How often dead devices are swept. Default 30 s. */
  deadSweepIntervalMs?: number;
  /** Mark devices dead after this long unreachable; off unless set. */
  autoDeadAfterMs?: number | null;
  /** How often the nodes are swept for orphan copies (orphans.ts); null: never. Default 6 h. */
  orphanSweepIntervalMs?: number | null;
  /** Orphans younger than this are left alone. Default 24 h, and never less than the reservation timeout. */
  orphanMinAgeMs?: number;
  /** How often draining devices are swept for fids to move. Default 30 s. */
  drainSweepIntervalMs?: number;
  /** Tick of the scan for files on too few hosts (host-spread.ts). Default 15 s. */
  hostSpreadTickMs?: number;
  /** That scan also runs this often when no host came back. Default 6 h. */
  hostSpreadIntervalMs?: number;
  /** How often the fsck feeder looks for work (when a run is on). Default 2 s. */
  fsckFeedIntervalMs?: number;
  /** Fids queued per fsck feeder step. Default 100. */
  fsckPageSize?: number;
  /** The feeder keeps the fsck queue below this many fids. Default 200. */
  fsckWindow?: number;
  /** How full a device may get before it takes no more copies; the policy's defaults otherwise. */
  spaceLimits?: SpaceLimits;
  /** Lease owner id; default hostname:pid:random (a new one replaces it if this process loses its leases). */
  owner?: string;
  /** How often this process heartbeats its lease owner row. Default 5 s. */
  heartbeatMs?: number;
  /** An owner silent this long is dead and its items are taken over. Default and floor max(15 s, 3 heartbeats). */
  ownerStaleMs?: number;
  log?: JobLog;
  /** Called for each change to a replica (copied, deleted, ...). */
  onEvent?: (e: JobEvent) => void;
}

export interface JobsHandle {
  /** Stops every loop and waits for work in flight to finish. */
  stop(): Promise<void>;
  /** Polls the queues and runs both sweeps now (useful after an admin change). */
  kick(): void;
}

type Runners = Record<QueueName, QueueRunner>;

/** The three queue runners, started; each item runs fenced by its lease. Also points ctx.wake at them. */
function startRunners(ctx: JobContext, leaseOwner: LeaseOwner, opts: JobsOptions): Runners {
  const fenced = (item: { fid: number }, lease: ItemLease) => fencedContext(ctx, lease, item.fid);
  const common = {
    owner: leaseOwner,
    concurrency: opts.concurrency,
    leaseMs: opts.leaseMs,
    pollMs: opts.pollMs,
    backoffScale: opts.backoffScale,
    log: ctx.log,
  };
  const replicate = new QueueRunner(ctx.store, {
    ...common,
    queue: 'replicate',
    handler: async (item, lease) => void (await replicateFid(fenced(item, lease), item.fid)),
  }).start();
  const deleter = new QueueRunner(ctx.store, {
    ...common,
    queue: 'delete',
    handler: async (item, lease) => void (await deleteFid(fenced(item, lease), item)),
  }).start();

  const fsck = new QueueRunner(ctx.store, {
    ...common,
    queue: 'fsck',
    handler: async (item, lease) => {
      const r = await fsckFid(fenced(item, lease), item.fid);
      // A copy on a node that did not answer is checked again later, but not forever.
      if (r.unchecked.length > 0 && item.failcount < 3)
        throw mogError(ErrorCodes.NODE_UNAVAILABLE, `fsck fid ${item.fid}: device ${r.unchecked.join(', ')} could not be checked`);
    },
  }).start();
  const runners: Runners = { replicate, delete: deleter, fsck };
  ctx.wake = (queue) => runners[queue].wake();
  return runners;
}

/** The periodic sweeps, each started now (the orphan sweep later); a sweep that queues work wakes its runner. */
function startSweeps(ctx: JobContext, leaseOwner: LeaseOwner, runners: Runners, opts: JobsOptions) {
  const log = ctx.log;
  const feeder = every(opts.fsckFeedIntervalMs ?? 2000, log, 'fsck feeder', async () => {
    // Feed page after page while there is room, then wait for the next tick.
    for (let i = 0; i < 50; i++) {
      const r = await feedFsck(ctx, { owner: leaseOwner.id, pageSize: opts.fsckPageSize, window: opts.fsckWindow });
      if (r !== 'fed') break;
    }
  });
  const drainState = newDrainState();
  const drainInterval = opts.drainSweepIntervalMs ?? 30_000;
  const drainer = every(drainInterval, log, 'drain sweep', async () => {
    await sweepDraining(ctx, drainState, { taskTtlMs: 3 * drainInterval });
  });

  const spreadState = newHostSpreadState();
  const spreadTick = opts.hostSpreadTickMs ?? 15_000;
  const spreader = every(spreadTick, log, 'host spread', async () => {
    await sweepHostSpread(ctx, spreadState, { intervalMs: opts.hostSpreadIntervalMs, taskTtlMs: Math.max(90_000, 3 * spreadTick) });
  });

  const reaper = every(opts.reaperIntervalMs ?? 60_000, log, 'reaper', async () => {
    const n = await reapStaleReservations(ctx, { timeoutMs: opts.reservationTimeoutMs });
    if (n > 0) runners.delete.wake();
  });
  const deadInterval = opts.deadSweepIntervalMs ?? 30_000;
  const sweeper = every(deadInterval, log, 'dead-device sweep', async () => {
    const r = await sweepDeadDevices(ctx, { autoDeadAfterMs: opts.autoDeadAfterMs, taskTtlMs: 3 * deadInterval });
    if (r.requeued > 0) runners.replicate.wake();
  });
  const orphanInterval = opts.orphanSweepIntervalMs === undefined ? 6 * 3_600_000 : opts.orphanSweepIntervalMs;
  const orphans =
    orphanInterval === null
      ? null
      : // First run 10 min after start (a slow job: a restart loop must not list every disk each time).
        every(orphanInterval, log, 'orphan sweep', async () => {
          const minAgeMs = Math.max(opts.orphanMinAgeMs ?? DEFAULT_ORPHAN_MIN_AGE_MS, opts.reservationTimeoutMs ?? 0);
          const r = await sweepOrphans(ctx, { minAgeMs });
          for (const d of r.devices) if (d.skipped) log('info', `orphan sweep: device ${d.devid} skipped: ${d.skipped}`);
        }, Math.min(orphanInterval, 10 * 60_000));
  return { feeder, drainer, spreader, reaper, sweeper, orphans };
}

export function startJobs(store: Store, opts: JobsOptions): JobsHandle {
  const log = opts.log ?? silentLog;
  const ctx: JobContext = { store, client: opts.client, log, onEvent: opts.onEvent, spaceLimits: opts.spaceLimits };
  const leaseOwner = new LeaseOwner(store, { owner: opts.owner, heartbeatMs: opts.heartbeatMs, staleMs: opts.ownerStaleMs, log });
  const registered = leaseOwner.start().catch((err) => log('warn', `lease recovery: cannot register this jobs process: ${describeError(err)}`));
  // One process at a time sweeps a device (drain, dead): held while this process keeps sweeping it.
  ctx.claimTask = (task, ttlMs) =>
    store.acquireTaskLease(task, leaseOwner.id, { now: Date.now(), ttlMs: Math.max(ttlMs, leaseOwner.staleMs), staleBefore: leaseOwner.staleBefore() });
  const runners = startRunners(ctx, leaseOwner, opts);
  const { feeder, drainer, spreader, reaper, sweeper, orphans } = startSweeps(ctx, leaseOwner, runners, opts);
  const monitor =
    opts.monitor === false
      ? null
      : startMonitor(store, {
          client: opts.client,
          log: (msg) => log('info', `monitor: ${msg}`),
          ...(opts.monitorIntervalMs !== undefined ? { intervalMs: opts.monitorIntervalMs } : {}),
        });

  const queueRunners = [runners.replicate, runners.delete, runners.fsck];
  let stopping: Promise<void> | null = null;
  return {
    kick() {
      for (const runner of queueRunners) runner.wake();
      reaper.kick();
      sweeper.kick();
      feeder.kick();
      drainer.kick();
      spreader.kick();
    },
    stop() {
      stopping ??= (async () => {
        await Promise.all([feeder.stop(), drainer.stop(), spreader.stop(), orphans?.stop()]);
        await Promise.all([...queueRunners.map((runner) => runner.stop()), reaper.stop(), sweeper.stop(), monitor?.stop()]);
        // Last: nothing is in flight now, and removing the row frees its device tasks at once.
        await registered;
        await leaseOwner.stop();
      })();
      return stopping;
    },
  };
}

interface Periodic {
  kick(): void;
  stop(): Promise<void>;
}

/** Runs `fn` now (or after `firstDelayMs`) and then `intervalMs` after each run ends; errors are logged, never fatal. */
function every(intervalMs: number, log: JobLog, name: string, fn: () => Promise<void>, firstDelayMs = 0): Periodic {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let again = false;
  const run = () => {
    timer = null;
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = fn()
      .catch((err) => log('warn', `${name}: ${describeError(err)}`))
      .finally(() => {
        running = null;
        if (stopped) return;
        if (again) {
          again = false;
          run();
        } else timer = setTimeout(run, intervalMs);
      });
  };
  if (firstDelayMs > 0) timer = setTimeout(run, firstDelayMs);
  else run();
  return {
    kick() {
      if (timer) clearTimeout(timer);
      run();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
