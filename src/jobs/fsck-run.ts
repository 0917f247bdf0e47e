// A whole-cluster fsck run: the operator starts it (`mogftp admin fsck start`), the jobs
// processes do the work. The run's state is one JSON setting ('fsck.state'), changed only by
// compare-and-set, so any number of processes (and the admin CLI) can share it:
// - a feeder walks the fids in order and queues them on the 'fsck' queue a page at a time,
//   keeping the queue short; only one process feeds at a time (it holds a short lease in the
//   state), and the cursor (the last fid queued) is saved with each page, so a run resumes
//   where it was after any restart;
// - the 'fsck' queue's runners, in every jobs process, check the fids (fsck.ts), each fid
//   leased to one of them. Downloads that saw a checksum mismatch queue their fid there too.
// The run is finished once every fid has been queued and the queue is empty.
import { randomBytes } from 'node:crypto';
import { describeError, ErrorCodes, mogError } from '../errors.ts';
import type { Store } from '../tracker/types.ts';
import type { JobContext } from './context.ts';

export const FSCK_STATE_KEY = 'fsck.state';

export type FsckRunStatus = 'running' | 'stopped' | 'finished';

export interface FsckRunState {
  status: FsckRunStatus;
  runId: string;
  startedAt: number;
  /** Last change by a feeder or the operator. */
  updatedAt: number;
  finishedAt: number | null;
  /** The last fid queued for checking: the run resumes after it. */
  cursor: number;
  /** Fids queued by this run so far. */
  queued: number;
  /** Live files when the run started, for the progress bar. */
  total: number;
  /** The run's findings are the fsck log entries with a larger id. */
  firstEventId: number;
  /** The process feeding the queue, and until when it may (ms). */
  feeder: string | null;
  feederUntil: number;
}

export interface FsckProgress {
  state: FsckRunState | null;
  /** Fids waiting on the fsck queue (this run's and those reported by downloads). */
  queueDepth: number;
  /** Fids of this run checked so far (estimate: queued minus still waiting). */
  checked: number;
  /** Findings of this run by event code. */
  findings: Record<string, number>;
  /** True when running but no feeder has touched the state for a while: is a jobs process up? */
  stale: boolean;
}

/** How long without a feeder's touch before `status` warns that no jobs process seems to work on it. */
const STALE_AFTER_MS = 60_000;

export async function readFsckState(store: Store): Promise<{ raw: string | null; state: FsckRunState | null }> {
  const raw = await store.getSetting(FSCK_STATE_KEY);
  if (raw === null) return { raw, state: null };
  try {
    return { raw, state: JSON.parse(raw) as FsckRunState };
  } catch {
    throw mogError(ErrorCodes.INTERNAL, `The setting ${FSCK_STATE_KEY} is not valid JSON; remove it to start over`);
  }
}

/** Applies `change` to the state with compare-and-set, retrying on a concurrent change. */
async function updateState(store: Store, change: (cur: FsckRunState | null) => FsckRunState | null | Promise<FsckRunState | null>): Promise<FsckRunState | null> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const { raw, state } = await readFsckState(store);
    const next = await change(state);
    if (next === null) return state;
    if (await store.compareAndSetSetting(FSCK_STATE_KEY, raw, JSON.stringify(next))) return next;
  }
  throw mogError(ErrorCodes.DB_UNAVAILABLE, 'The fsck state kept changing under us; try again');
}

/**
 * Starts a run, or resumes a stopped one (`fresh` starts over from the first fid even then).
 * Returns the state and whether it resumed.
 */
export async function startFsck(store: Store, opts: { fresh?: boolean; now?: number } = {}): Promise<{ state: FsckRunState; resumed: boolean; alreadyRunning: boolean }> {
  let resumed = false;
  let alreadyRunning = false;
  const state = await updateState(store, async (cur) => {
    const now = opts.now ?? Date.now();
    resumed = false;
    alreadyRunning = false;
    if (cur && cur.status === 'running' && !opts.fresh) {
      alreadyRunning = true;
      return null;
    }
    if (cur && cur.status === 'stopped' && !opts.fresh) {
      resumed = true;
      return { ...cur, status: 'running', updatedAt: now };
    }
    const [stats, firstEventId] = await Promise.all([store.fileStats(), store.lastFsckEventId()]);
    return {
      status: 'running',
      runId: randomBytes(6).toString('hex'),
      startedAt: now,
      updatedAt: now,
      finishedAt: null,
      cursor: 0,
      queued: 0,
      total: stats.files,
      firstEventId,
      feeder: null,
      feederUntil: 0,
    };
  });
  return { state: state!, resumed, alreadyRunning };
}

/** Stops feeding the queue; fids already queued are still checked. Null if no run exists. */
export async function stopFsck(store: Store, now = Date.now()): Promise<FsckRunState | null> {
  return updateState(store, (cur) => (cur && cur.status === 'running' ? { ...cur, status: 'stopped', updatedAt: now, feeder: null, feederUntil: 0 } : null));
}

export async function fsckProgress(store: Store, now = Date.now()): Promise<FsckProgress> {
  const { state } = await readFsckState(store);
  const queueDepth = await store.queueDepth('fsck');
  if (!state) return { state, queueDepth, checked: 0, findings: {}, stale: false };
  const findings = await store.countFsckEvents(state.firstEventId);
  const checked = state.status === 'finished' ? state.queued : Math.max(0, state.queued - queueDepth);
  return { state, queueDepth, checked, findings, stale: state.status === 'running' && now - state.updatedAt > STALE_AFTER_MS };
}

export interface FeedOptions {
  /** This process's id (the feeder lease holder). */
  owner: string;
  /** Fids queued per step. Default 100. */
  pageSize?: number;
  /** Feed only while the fsck queue holds fewer than this. Default 200. */
  window?: number;
  /** How long the feeder lease lasts without renewal. Default 30 s. */
  leaseMs?: number;
  now?: number;
}

export type FeedOutcome = 'idle' | 'not-feeder' | 'waiting' | 'fed' | 'finished';

/**
 * One step of the feeder: queues the next page of fids if this process holds (or can take) the
 * feeder lease and the queue has room; marks the run finished when all is checked.
 */
export async function feedFsck(ctx: JobContext, opts: FeedOptions): Promise<FeedOutcome> {
  const { store } = ctx;
  const pageSize = opts.pageSize ?? 100;
  const window = opts.window ?? 200;
  const leaseMs = opts.leaseMs ?? 30_000;
  const now = opts.now ?? Date.now();
  let { raw, state } = await readFsckState(store);
  if (!state || state.status !== 'running') return 'idle';
  if (state.feeder !== opts.owner) {
    if (state.feeder !== null && state.feederUntil > now) return 'not-feeder';
    const taken: FsckRunState = { ...state, feeder: opts.owner, feederUntil: now + leaseMs, updatedAt: now };
    if (!(await store.compareAndSetSetting(FSCK_STATE_KEY, raw, JSON.stringify(taken)))) return 'not-feeder';
    raw = JSON.stringify(taken);
    state = taken;
  }
  const depth = await store.queueDepth('fsck');
  if (depth >= window) {
    return (await renew(store, raw, state, now + leaseMs, now)) ? 'waiting' : 'not-feeder';
  }
  const page = await store.listFids(state.cursor, pageSize);
  if (page.length === 0) {
    if (depth > 0) return (await renew(store, raw, state, now + leaseMs, now)) ? 'waiting' : 'not-feeder';
    const done: FsckRunState = { ...state, status: 'finished', finishedAt: now, updatedAt: now, feeder: null, feederUntil: 0 };
    if (!(await store.compareAndSetSetting(FSCK_STATE_KEY, raw, JSON.stringify(done)))) return 'not-feeder';
    ctx.log('info', `fsck run ${state.runId} finished: ${state.queued} file(s) checked`);
    // Marks left by reads on copies that were removed since without fsck (a deleted file, a
    // drained device) go at the end of a run; a failure only leaves them for the next run.
    try {
      const pruned = await store.pruneBadReplicas();
      if (pruned > 0) ctx.log('info', `fsck run ${state.runId}: forgot ${pruned} bad-copy mark(s) of copies no longer recorded`);
    } catch (err) {
      ctx.log('warn', `fsck run ${state.runId}: stale bad-copy marks not pruned: ${describeError(err)}`);
    }
    return 'finished';
  }
  const fids = page.map((f) => f.fid);
  // Queue first, then move the cursor: a crash in between re-queues a page, never skips one.
  await store.enqueueMany('fsck', fids, { now });
  const next: FsckRunState = {
    ...state,
    cursor: fids[fids.length - 1]!,
    queued: state.queued + fids.length,
    updatedAt: now,
    feederUntil: now + leaseMs,
  };
  if (!(await store.compareAndSetSetting(FSCK_STATE_KEY, raw, JSON.stringify(next)))) return 'not-feeder'; // stopped meanwhile
  ctx.wake?.('fsck');
  return 'fed';
}

async function renew(store: Store, raw: string | null, state: FsckRunState, until: number, now: number): Promise<boolean> {
  return store.compareAndSetSetting(FSCK_STATE_KEY, raw, JSON.stringify({ ...state, feederUntil: until, updatedAt: now }));
}
