// The dead-device sweep: a dead device's bytes are gone, so each fid on it loses that replica
// record and is queued for replication. A device counts as dead when the operator says so, when
// its host is dead (MogileFS re-replicated nothing then), or, if `autoDeadAfterMs` is set, when
// the monitors have seen it unreachable for that long (it is then marked dead for all to see).
// That is decided from the recorded observations alone (observed_since to observed_at), never
// from the sweep's own clock: when no monitor runs, nothing is observed and nothing is marked
// dead on old news (a device that came back meanwhile would lose its replicas' records).
//
// Safe to repeat: enqueue is an upsert and removeReplica is idempotent. When several jobs
// processes run, one at a time sweeps a given device (task lease 'dead/dev/N', see
// JobContext.claimTask), so the device's fids are not queued twice over. Each fid is queued BEFORE its record is dropped, so a crash in between leaves
// at worst a record the policy already ignores, never a fid nobody will replicate.
import { describeError, ErrorCodes, mogError } from '../errors.ts';
import type { DeviceView } from '../tracker/types.ts';
import { isGoneDevice, mayWork, type JobContext } from './context.ts';

export interface DeadSweepOptions {
  /** Mark a device dead after the monitor saw it unreachable this long; null/undefined: never. */
  autoDeadAfterMs?: number | null;
  /** Fids per page. Default 1000. */
  pageSize?: number;
  /** How long this process keeps a device's task lease between sweeps. Default 90 s. */
  taskTtlMs?: number;
}

export interface DeadSweepResult {
  /** Devices marked dead by this sweep (auto-dead). */
  markedDead: number[];
  /** Fids queued for replication. */
  requeued: number;
}

export async function sweepDeadDevices(ctx: JobContext, opts: DeadSweepOptions = {}): Promise<DeadSweepResult> {
  const { store } = ctx;
  const pageSize = opts.pageSize ?? 1000;
  const result: DeadSweepResult = { markedDead: [], requeued: 0 };
  for (const dev of await store.listDevices()) {
    let dead = dev.status === 'dead' || dev.hostStatus === 'dead';
    const autoKill = !dead && shouldAutoKill(dev, opts.autoDeadAfterMs);
    if (!dead && !autoKill) continue;
    try {
      if (!(await mayWork(ctx, `dead/dev/${dev.id}`, opts.taskTtlMs ?? 90_000))) continue;
    } catch (err) {
      ctx.log('warn', `device ${dev.id}: dead-device sweep skipped it: ${describeError(err)}`);
      continue;
    }
    if (autoKill) {
      await store.updateDevice(dev.id, { status: 'dead' });
      ctx.log(
        'warn',
        `device ${dev.id} on ${dev.hostName} unreachable from ${new Date(dev.observedSince!).toISOString()} to ${new Date(dev.observedAt!).toISOString()}: marked dead`,
      );
      result.markedDead.push(dev.id);
      dead = true;
    }
    if (!dead) continue;
    try {
      result.requeued += await emptyDevice(ctx, dev.id, pageSize);
    } catch (err) {
      ctx.log('warn', `device ${dev.id}: re-replication sweep stopped: ${describeError(err)}`);
    }
  }
  return result;
}

/** Operator-down devices are left alone: 'down' means temporary, by the operator's word. */
function shouldAutoKill(dev: DeviceView, afterMs: number | null | undefined): boolean {
  if (afterMs == null || afterMs <= 0) return false;
  if (dev.status !== 'alive' && dev.status !== 'readonly' && dev.status !== 'drain') return false;
  if (dev.observed !== 'unreachable' || dev.observedSince === null || dev.observedAt === null) return false;
  // Seen unreachable, observation after observation, for afterMs: not merely last seen so that long ago.
  return dev.observedAt - dev.observedSince >= afterMs;
}

/**
 * The sweep's work for one dead device, for `mogftp admin device mark N dead` to do at once: its
 * fids are queued (a running jobs process claims them within its queue poll, 1 s) instead of
 * waiting up to a sweep interval (30 s) for a jobs process to notice. The sweep stays the safety
 * net: it finishes whatever an interrupted command left, and repeating the work is harmless.
 */
export async function emptyDeadDevice(ctx: Pick<JobContext, 'store' | 'log' | 'onEvent'>, devid: number, pageSize = 1000): Promise<number> {
  const dev = await ctx.store.getDevice(devid);
  // Its replica records are dropped: only ever for bytes that are gone for good.
  if (!dev || !isGoneDevice(dev)) throw mogError(ErrorCodes.INVALID_ARGUMENT, `Device ${devid} is not dead: its files stay where they are`);
  return emptyDevice(ctx, devid, pageSize);
}

async function emptyDevice(ctx: Pick<JobContext, 'store' | 'log' | 'onEvent'>, devid: number, pageSize: number): Promise<number> {
  const { store } = ctx;
  let after = 0;
  let count = 0;
  for (;;) {
    const fids = await store.fidsOnDevice(devid, after, pageSize);
    for (const fid of fids) {
      await store.enqueue('replicate', fid, { now: Date.now() });
      await store.removeReplica(fid, devid);
      count++;
    }
    if (fids.length < pageSize) break;
    after = fids[fids.length - 1]!;
  }
  if (count > 0) {
    ctx.log('info', `device ${devid} is dead: ${count} file(s) queued for re-replication`);
    ctx.onEvent?.({ type: 'device-emptied', devid, fids: count });
  }
  return count;
}
