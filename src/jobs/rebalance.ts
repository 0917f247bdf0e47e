// Rebalance: moves replicas from the devices holding more than their share to those holding
// less, until every device is within a tolerance of its share, a move budget is spent, or no
// move would help. A device's share of the stored bytes follows its capacity (mb_total when the
// monitor knows every device's, else its weight). Bytes are counted from the replica records.
//
// One move: the copy is streamed from the old device to the new one, verified (length and
// checksum, on the way and by the node), recorded, seen on its node, and only then is the old
// copy's record dropped, guarded in the store so that a copy removed at the same moment by
// another job can't leave the file with fewer copies than before; then its bytes are deleted.
// The destination is never on a host that already holds another copy of the file. The pace is
// bounded in bytes per second.
import { ErrorCodes, describeError, isMogError } from '../errors.ts';
import { countsTowardClass } from '../tracker/device-state.ts';
import { canReceiveCopies } from '../tracker/policy.ts';
import type { DeviceView, FileRow } from '../tracker/types.ts';
import { replicaUrlOf, type JobContext } from './context.ts';
import { copyReplica } from './replicate.ts';
import { discardCopy } from './verify.ts';

export interface RebalanceOptions {
  /** Stop after this many moves. Default: no limit. */
  maxMoves?: number;
  /** Bytes copied per second at most; null or absent: no limit. */
  bytesPerSecond?: number | null;
  /** A device within this percent of its share counts as balanced. Default 5. */
  tolerancePercent?: number;
  /** Plan the moves without making them. */
  dryRun?: boolean;
  /** Fids looked at on one device in search of one to move, before it is passed over. Default 5000. */
  scanLimit?: number;
  signal?: AbortSignal;
  onMove?: (m: RebalanceMove) => void;
  /** For tests; default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

export interface DeviceShare {
  devid: number;
  host: string;
  bytes: number;
  /** The bytes this device would hold if all were spread by capacity. */
  shareBytes: number;
}

export interface RebalanceMove {
  fid: number;
  from: number;
  to: number;
  bytes: number;
}

export type RebalanceEnd = 'balanced' | 'max-moves' | 'no-move-helps' | 'aborted' | 'too-few-devices';

export interface RebalanceResult {
  moves: RebalanceMove[];
  /** Moves tried that did not happen (source bad, target refused, file changed meanwhile). */
  failed: number;
  before: DeviceShare[];
  after: DeviceShare[];
  end: RebalanceEnd;
}

interface Slot {
  dev: DeviceView;
  bytes: number;
  capacity: number;
}

/** Devices that take part: alive, on an alive host, reachable, with weight. */
function participates(d: DeviceView): boolean {
  return d.status === 'alive' && d.hostStatus === 'alive' && d.observed !== 'unreachable' && d.weight > 0;
}

/** The participating devices by id, with the bytes each holds and its capacity (size when all are measured, else weight). */
async function slotsOf(ctx: JobContext): Promise<Map<number, Slot>> {
  const devices = (await ctx.store.listDevices()).filter(participates);
  const usage = new Map((await ctx.store.deviceUsage()).map((u) => [u.devid, u.bytes]));
  const byCapacity = devices.every((d) => d.mbTotal !== null && d.mbTotal > 0);
  return new Map<number, Slot>(
    devices.map((d) => [d.id, { dev: d, bytes: usage.get(d.id) ?? 0, capacity: byCapacity ? d.mbTotal! : d.weight }]),
  );
}

/** Each slot's bytes against its share of all bytes by capacity. */
function sharesOf(slots: Map<number, Slot>): DeviceShare[] {
  const total = [...slots.values()].reduce((s, x) => s + x.bytes, 0);
  const cap = [...slots.values()].reduce((s, x) => s + x.capacity, 0);
  return [...slots.values()].map((x) => ({ devid: x.dev.id, host: x.dev.hostName, bytes: x.bytes, shareBytes: cap > 0 ? Math.round((total * x.capacity) / cap) : 0 }));
}

export async function rebalance(ctx: JobContext, opts: RebalanceOptions = {}): Promise<RebalanceResult> {
  const maxMoves = opts.maxMoves ?? Infinity;
  const tolerance = (opts.tolerancePercent ?? 5) / 100;
  const scanLimit = opts.scanLimit ?? 5000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));

  const slots = await slotsOf(ctx);
  const shares = () => sharesOf(slots);
  const result: RebalanceResult = { moves: [], failed: 0, before: shares(), after: [], end: 'balanced' };
  if (slots.size < 2) {
    result.end = 'too-few-devices';
    result.after = result.before;
    return result;
  }

  const cursors = new Map<number, number>();
  const tried = new Set<string>();
  /** A dry run's planned placements, which the records don't show. */
  const planned = new Map<number, number[]>();
  const started = Date.now();
  let copiedBytes = 0;
  for (;;) {
    if (opts.signal?.aborted) {
      result.end = 'aborted';
      break;
    }
    if (result.moves.length >= maxMoves) {
      result.end = 'max-moves';
      break;
    }
    const now = shares();
    const surplus = new Map(now.map((s) => [s.devid, s.bytes - s.shareBytes]));
    const slack = new Map(now.map((s) => [s.devid, Math.max(1, s.shareBytes * tolerance)]));
    const sources = now.filter((s) => surplus.get(s.devid)! > slack.get(s.devid)!).sort((a, b) => surplus.get(b.devid)! - surplus.get(a.devid)!);
    if (sources.length === 0) {
      result.end = 'balanced';
      break;
    }
    const dests = now
      .filter((s) => surplus.get(s.devid)! < 0 && canReceiveCopies(slots.get(s.devid)!.dev, ctx.spaceLimits))
      .sort((a, b) => surplus.get(a.devid)! - surplus.get(b.devid)!)
      .map((s) => slots.get(s.devid)!.dev);

    let pick: { file: FileRow; on: number[]; from: DeviceView; to: DeviceView } | null = null;
    for (const src of sources) {
      pick = await findMove(ctx, slots.get(src.devid)!.dev, dests, surplus, { cursors, tried, planned, scanLimit });
      if (pick) break;
    }
    if (!pick) {
      result.end = 'no-move-helps';
      break;
    }
    const { file, from, to } = pick;
    tried.add(`${file.fid}:${from.id}`);
    if (opts.dryRun) planned.set(file.fid, [...pick.on.filter((d) => d !== from.id), to.id]);
    const moved = opts.dryRun ? true : await moveReplica(ctx, file, pick.on, from, to);
    if (!moved) {
      result.failed++;
      continue;
    }
    slots.get(from.id)!.bytes -= file.length;
    slots.get(to.id)!.bytes += file.length;
    const move = { fid: file.fid, from: from.id, to: to.id, bytes: file.length };
    result.moves.push(move);
    opts.onMove?.(move);
    if (!opts.dryRun && opts.bytesPerSecond) {
      copiedBytes += file.length;
      const due = started + (copiedBytes / opts.bytesPerSecond) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
    }
  }
  result.after = shares();
  return result;
}

/**
 * Finds a fid on `src` worth moving to one of `dests` (most wanting first): the move must
 * bring both devices nearer their share, and the destination's host must hold no other copy.
 */
async function findMove(
  ctx: JobContext,
  src: DeviceView,
  dests: DeviceView[],
  surplus: Map<number, number>,
  memo: { cursors: Map<number, number>; tried: Set<string>; planned: Map<number, number[]>; scanLimit: number },
): Promise<{ file: FileRow; on: number[]; from: DeviceView; to: DeviceView } | null> {
  const { store } = ctx;
  if (dests.length === 0) return null;
  const over = surplus.get(src.id)!;
  const devHost = new Map((await store.listDevices()).map((d) => [d.id, d.hostId]));
  const { cursors, tried, planned, scanLimit } = memo;
  let cursor = cursors.get(src.id) ?? 0;
  let wrapped = false;
  for (let scanned = 0; scanned < scanLimit; ) {
    const fids = await store.fidsOnDevice(src.id, cursor, 200);
    if (fids.length === 0) {
      if (wrapped || cursor === 0) break;
      wrapped = true;
      cursor = 0;
      continue;
    }
    cursor = fids[fids.length - 1]!;
    scanned += fids.length;
    for (const file of await store.getFiles(fids.filter((f) => !tried.has(`${f}:${src.id}`)))) {
      // Moving L bytes from a device `over` its share to one `under` helps both only if L < 2·over and L < 2·under.
      if (file.length <= 0 || file.length >= 2 * over) continue;
      const on = planned.get(file.fid) ?? (await store.replicasOf(file.fid));
      if (!on.includes(src.id)) continue;
      const otherHosts = new Set(on.filter((d) => d !== src.id).map((d) => devHost.get(d)));
      const to = dests.find((d) => !on.includes(d.id) && !otherHosts.has(d.hostId) && file.length < 2 * -surplus.get(d.id)!);
      if (to) {
        cursors.set(src.id, cursor);
        return { file, on, from: src, to };
      }
    }
  }
  cursors.set(src.id, cursor);
  return null;
}

/** One verified move; false (and the file as it was, or better) when it could not be made. */
export async function moveReplica(ctx: JobContext, file: FileRow, on: number[], from: DeviceView, to: DeviceView): Promise<boolean> {
  const { store, client } = ctx;
  const fid = file.fid;
  const outcome = await copyReplica(ctx, file, replicaUrlOf(from, fid), replicaUrlOf(to, fid));
  if (!outcome.ok) {
    ctx.log('warn', `rebalance fid ${fid}: no copy from device ${from.id} to ${to.id}: ${outcome.reason}`);
    if (outcome.blame === 'source-bad') {
      await store.enqueue('fsck', fid, { now: Date.now() });
      ctx.wake?.('fsck');
    }
    return false;
  }
  try {
    await store.addReplica(fid, to.id);
  } catch (err) {
    if (!isMogError(err, ErrorCodes.NOT_FOUND)) throw err;
    await store.enqueue('delete', fid, { devids: [to.id], now: Date.now() }); // deleted while we copied
    return false;
  }
  const seen = await client.head(replicaUrlOf(to, fid)).catch((err: unknown) => describeError(err));
  if (seen === null || (typeof seen === 'object' && seen.length !== file.length)) {
    await store.removeReplica(fid, to.id);
    ctx.log('warn', `rebalance fid ${fid}: the new copy on device ${to.id} is not there after writing; the old one stays`);
    return false;
  }
  if (typeof seen === 'string') {
    ctx.log('warn', `rebalance fid ${fid}: cannot see the new copy on device ${to.id} (${seen}); the old one stays for now`);
    await store.enqueue('replicate', fid, { now: Date.now() }); // the replicate job trims the surplus once it can check
    return false;
  }
  // The file keeps at least as many counted copies as it had before the move.
  const devices = new Map((await store.listDevices()).map((d) => [d.id, d]));
  const countedOthers = on.filter((id) => id !== from.id && devices.get(id) && countsTowardClass(devices.get(id)!)).length;
  if (!(await store.removeReplicaIfCovered(fid, from.id, countedOthers + 1))) {
    ctx.log('warn', `rebalance fid ${fid}: its copies changed during the move; leaving both, replication will settle it`);
    await store.enqueue('replicate', fid, { now: Date.now() });
    return false;
  }
  await discardCopy(ctx, fid, from);
  ctx.log('info', `rebalance fid ${fid}: moved ${file.length} bytes from device ${from.id} to ${to.id}`);
  ctx.onEvent?.({ type: 'moved', fid, from: from.id, to: to.id, bytes: file.length });
  return true;
}
