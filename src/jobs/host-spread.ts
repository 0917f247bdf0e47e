// The host-spread scan: finds files whose copies are numerous enough but sit on too few hosts
// (two copies of a mindevcount-2 file on one host, left by an outage during which the replicate
// job could only use the hosts that were up) and queues them for replication. The replicate job
// then adds a copy on a host that holds none and trims the doubled one (policy.ts: a file is
// only 'all_good' once its copies cover min(mindevcount, hosts) hosts; the surplus pick prefers
// a copy on a host holding two).
//
// Nothing else would notice such a file: its commit queued nothing (it had its copies), and a
// replicate item that found no other host up ended or backed off for hours. The scan runs:
// - when this process starts;
// - when more hosts can take copies than at any look since the last scan started (a host came
//   back, or one was added): an outage and its end are seen even if no scan ran during it;
// - every `intervalMs` anyway (a device brought back on a host that was never away).
// It walks the files by fid a page at a time (two primary-key range reads per page, see
// store/repair.ts fidsOnTooFewHosts), at most `pagesPerRun` pages per tick and only while the
// replicate queue is shorter than `window`, so a big table is walked over several ticks. One
// process at a time walks (task lease 'host-spread'); another may walk again after it, which
// costs reads only: a file already spread is not queued.
import { chooseDevicesForUpload } from '../tracker/policy.ts';
import { mayWork, type JobContext } from './context.ts';

export const HOST_SPREAD_TASK = 'host-spread';

export interface HostSpreadOptions {
  /** Files looked at per page. Default 500. */
  pageSize?: number;
  /** Pages per tick at most. Default 40. */
  pagesPerRun?: number;
  /** Queue more only while the replicate queue holds fewer than this. Default 1000. */
  window?: number;
  /** A full scan at least this often, even if no host came back. Default 6 h. */
  intervalMs?: number;
  /** How long this process keeps the scan's task lease between ticks. Default 90 s. */
  taskTtlMs?: number;
}

export interface HostSpreadState {
  /** The last fid looked at by the scan in progress; null when none is in progress. */
  cursor: number | null;
  /** Fewest hosts able to take copies seen since the last scan started; null before the first. */
  lowSinceScan: number | null;
  lastStartAt: number;
  /** Fids queued by the scan in progress. */
  queued: number;
}

export function newHostSpreadState(): HostSpreadState {
  return { cursor: null, lowSinceScan: null, lastStartAt: 0, queued: 0 };
}

export interface HostSpreadResult {
  /** 'started' and 'finished' may both happen in one tick. */
  started: boolean;
  finished: boolean;
  queued: number;
}

/** One tick of the scan: maybe start one, then walk a bounded number of pages. */
export async function sweepHostSpread(ctx: JobContext, state: HostSpreadState, opts: HostSpreadOptions = {}): Promise<HostSpreadResult> {
  const { store } = ctx;
  const result: HostSpreadResult = { started: false, finished: false, queued: 0 };
  const now = Date.now();
  const devices = await store.listDevices();
  // Hosts that can take a copy now, as the placement policy sees them (space, weight, monitor).
  const hosts = chooseDevicesForUpload(devices, devices.length, ctx.spaceLimits).length;

  if (state.cursor === null) {
    const grown = state.lowSinceScan !== null && hosts > state.lowSinceScan;
    const due = state.lowSinceScan === null || grown || now - state.lastStartAt >= (opts.intervalMs ?? 6 * 3_600_000);
    state.lowSinceScan = Math.min(state.lowSinceScan ?? hosts, hosts);
    if (!due || hosts < 2) return result; // one host: nothing to spread over (it grows later)
    if (!(await mayWork(ctx, HOST_SPREAD_TASK, opts.taskTtlMs ?? 90_000))) return result;
    Object.assign(state, { cursor: 0, lowSinceScan: hosts, lastStartAt: now, queued: 0 });
    result.started = true;
    ctx.log('info', `host spread: scanning for files on too few hosts (${hosts} hosts can take copies${grown ? ', more than before' : ''})`);
  } else {
    state.lowSinceScan = Math.min(state.lowSinceScan ?? hosts, hosts);
    // Lost to another process (we were stalled past the lease): it walks; we start over later.
    if (!(await mayWork(ctx, HOST_SPREAD_TASK, opts.taskTtlMs ?? 90_000))) {
      state.cursor = null;
      return result;
    }
  }

  const pageSize = opts.pageSize ?? 500;
  const window = opts.window ?? 1000;
  let depth = await store.queueDepth('replicate');
  for (let page = 0; page < (opts.pagesPerRun ?? 40) && depth < window; page++) {
    const r = await store.fidsOnTooFewHosts(state.cursor!, pageSize);
    if (r.lastFid === null) {
      ctx.log('info', `host spread: scan done, ${state.queued} file(s) on too few hosts queued for replication`);
      state.cursor = null;
      result.finished = true;
      break;
    }
    if (r.fids.length > 0) {
      await store.enqueueMany('replicate', r.fids, { now: Date.now() });
      result.queued += r.fids.length;
      state.queued += r.fids.length;
      depth += r.fids.length;
    }
    state.cursor = r.lastFid;
  }
  if (result.queued > 0) ctx.wake?.('replicate');
  return result;
}
