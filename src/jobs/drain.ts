// Draining: a device the operator marked 'drain' gets its replicas copied elsewhere and then
// removed from it, until it holds nothing. The replicate job does the moving: the policy does not
// count a copy on a draining device, so each of its fids is short a copy (one is made on another
// device, verified as it is written) and then has the draining copy as surplus (removed once the
// copies that stay are verified). Reads go on meanwhile: a draining copy stays readable until
// the moment it is dropped, and readers fail over to the others.
//
// This sweep only queues the device's fids, a page at a time while the replicate queue is short,
// remembering per device how far it got. When it has been through all of a device's fids it
// starts over only once the replicate queue is empty, so fids that cannot move yet keep their
// backoff instead of being retried every sweep. Several processes may run the sweep, but one at a
// time works a given device: each device is a task lease ('drain/dev/N', JobContext.claimTask)
// that the process sweeping it renews every sweep and that another takes over only when that
// process stops or dies. Two cursors over one device would re-queue each other's fids and so
// reset the backoff of those that cannot move yet.
import { describeError } from '../errors.ts';
import { mayWork, type JobContext } from './context.ts';

export interface DrainSweepOptions {
  /** Fids queued per page. Default 500. */
  pageSize?: number;
  /** Queue more only while the replicate queue holds fewer than this. Default 1000. */
  window?: number;
  /** How long this process keeps a device's task lease between sweeps. Default 90 s. */
  taskTtlMs?: number;
}

export interface DrainSweepState {
  /** Per draining device: the last fid queued (0: start from the beginning). */
  cursors: Map<number, number>;
  /** Draining devices already reported empty (so the log says it once). */
  reportedEmpty: Set<number>;
}

export function newDrainState(): DrainSweepState {
  return { cursors: new Map(), reportedEmpty: new Set() };
}

export interface DrainSweepResult {
  queued: number;
  /** Draining devices that hold no replica any more. */
  empty: number[];
}

export async function sweepDraining(ctx: JobContext, state: DrainSweepState, opts: DrainSweepOptions = {}): Promise<DrainSweepResult> {
  const { store } = ctx;
  const pageSize = opts.pageSize ?? 500;
  const window = opts.window ?? 1000;
  const result: DrainSweepResult = { queued: 0, empty: [] };
  const draining = (await store.listDevices()).filter((d) => d.status === 'drain');
  const ids = new Set(draining.map((d) => d.id));
  for (const id of [...state.cursors.keys()]) if (!ids.has(id)) state.cursors.delete(id);
  for (const id of [...state.reportedEmpty]) if (!ids.has(id)) state.reportedEmpty.delete(id);

  for (const dev of draining) {
    try {
      if (!(await mayWork(ctx, `drain/dev/${dev.id}`, opts.taskTtlMs ?? 90_000))) {
        // Another jobs process drains this device; our cursor would be stale when it comes back.
        state.cursors.delete(dev.id);
        continue;
      }
      if ((await store.fidsOnDevice(dev.id, 0, 1)).length === 0) {
        result.empty.push(dev.id);
        if (!state.reportedEmpty.has(dev.id)) {
          state.reportedEmpty.add(dev.id);
          ctx.log('info', `device ${dev.id} on ${dev.hostName} is drained: it holds no replicas (it can be removed)`);
          ctx.onEvent?.({ type: 'device-drained', devid: dev.id });
        }
        continue;
      }
      state.reportedEmpty.delete(dev.id);
      let cursor = state.cursors.get(dev.id) ?? 0;
      let depth = await store.queueDepth('replicate');
      while (depth < window) {
        const fids = await store.fidsOnDevice(dev.id, cursor, pageSize);
        if (fids.length === 0) {
          // Been through them all: go round again once the work queued so far is done.
          if (cursor !== 0 && depth === 0) {
            cursor = 0;
            continue;
          }
          break;
        }
        await store.enqueueMany('replicate', fids, { now: Date.now() });
        cursor = fids[fids.length - 1]!;
        result.queued += fids.length;
        depth += fids.length;
        if (fids.length < pageSize) break;
      }
      state.cursors.set(dev.id, cursor);
    } catch (err) {
      ctx.log('warn', `drain of device ${dev.id}: ${describeError(err)}`);
    }
  }
  if (result.queued > 0) {
    ctx.log('info', `drain: ${result.queued} file(s) queued to move off device ${draining.map((d) => d.id).join(', ')}`);
    ctx.wake?.('replicate');
  }
  return result;
}
