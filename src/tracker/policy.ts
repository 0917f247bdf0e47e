// Placement and replication policy: where a new file's copies go, and whether a file's copies
// satisfy its class. A pure, synchronous port of MogileFS's new-file device choice and its
// MultipleHosts replication policy, working on the store's DeviceView list.
//
// Where this differs from MogileFS (on purpose):
// - Upload targets are on distinct hosts by HOST id (MogileFS once compared a device id with
//   host ids, so multi-destination uploads could land on one host).
// - Devices whose usage the monitor has not reported yet are candidates (a fresh cluster must
//   accept uploads); MogileFS gave them zero weight.
// - too_good only once the file is spread as well as it can be: a file with three copies on one
//   host and none on a second gets a new copy first, never a deletion.
// - min=1 follows the general rules (MogileFS returned all_good for any copy count).
import { mogError, ErrorCodes } from '../errors.ts';
import { countsTowardClass } from './device-state.ts';
import type { DeviceView } from './types.ts';

export interface SpaceLimits {
  /** A device more than this percent full takes no new copies. Default 95. */
  maxFullPercent?: number;
  /** A device with less than this many MB free takes no new copies. Default 100 (as MogileFS). */
  minFreeMb?: number;
}

export interface UploadChoiceOptions extends SpaceLimits {
  /** Uniform in [0, 1); inject a seeded one for reproducible choices. Default Math.random. */
  random?: () => number;
}

export type ReplicaVerdict = 'all_good' | 'too_good' | 'temp_sufficient' | 'insufficient';

export interface ReplicaJudgement {
  verdict: ReplicaVerdict;
  /** Devices to copy to next, best first; each host's emptiest device comes before any host's second. */
  ideal: number[];
  /** Writable devices on hosts the file is already on; only filled when `ideal` is empty and copies are short. */
  desperate: number[];
  /** Copies that may be removed with the file staying happy (surplus copies, then copies on draining devices). */
  extra: number[];
}

const DEFAULT_MAX_FULL_PERCENT = 95;
const DEFAULT_MIN_FREE_MB = 100;
/** MogileFS only weight-shuffles the emptiest devices, to bound the work. */
const TOP_CANDIDATES = 20;
/** Free fraction assumed for a device the monitor has not measured yet: neither favoured nor shunned. */
const UNKNOWN_FREE_FRACTION = 0.5;

function limitsOf(opts: SpaceLimits | undefined): { maxFullPercent: number; minFreeMb: number } {
  const maxFullPercent = opts?.maxFullPercent ?? DEFAULT_MAX_FULL_PERCENT;
  const minFreeMb = opts?.minFreeMb ?? DEFAULT_MIN_FREE_MB;
  if (!Number.isFinite(maxFullPercent) || maxFullPercent < 0 || maxFullPercent > 100)
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `maxFullPercent must be between 0 and 100, not ${maxFullPercent}`);
  if (!Number.isFinite(minFreeMb) || minFreeMb < 0)
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `minFreeMb must be 0 or more, not ${minFreeMb}`);
  return { maxFullPercent, minFreeMb };
}

/** Free fraction 0..1, or null when the monitor has not reported usage. */
function knownFreeFraction(d: DeviceView): number | null {
  if (d.mbTotal === null || d.mbUsed === null || !(d.mbTotal > 0)) return null;
  return Math.min(1, Math.max(0, (d.mbTotal - d.mbUsed) / d.mbTotal));
}

function freeFraction(d: DeviceView): number {
  return knownFreeFraction(d) ?? UNKNOWN_FREE_FRACTION;
}

/** Emptiest first; devid breaks ties so the order never depends on the input order. */
function byFreeDesc(a: DeviceView, b: DeviceView): number {
  return freeFraction(b) - freeFraction(a) || a.id - b.id;
}

/** May this device receive a new file or a new replica right now? */
function canTakeNewCopies(d: DeviceView, limits: { maxFullPercent: number; minFreeMb: number }): boolean {
  if (d.status !== 'alive' || d.hostStatus !== 'alive') return false;
  if (d.observed === 'unreachable' || d.observed === 'readonly') return false;
  if (!(d.weight > 0)) return false; // weight 0: the operator wants no new copies here
  const free = knownFreeFraction(d);
  if (free !== null) {
    if ((1 - free) * 100 > limits.maxFullPercent) return false;
    if ((d.mbTotal as number) - (d.mbUsed as number) < limits.minFreeMb) return false;
  }
  return true;
}

/** Orders items by repeated weighted draws without replacement (MogileFS's weighted_list). */
function weightedOrder<T>(items: { item: T; weight: number }[], random: () => number): T[] {
  const pool = items.filter((x) => x.weight > 0);
  let sum = pool.reduce((s, x) => s + x.weight, 0);
  const out: T[] = [];
  while (pool.length > 0) {
    const target = random() * sum;
    let acc = 0;
    let idx = pool.length - 1; // float rounding can leave target just past the last bucket
    for (let i = 0; i < pool.length; i++) {
      acc += pool[i]!.weight;
      if (target < acc) {
        idx = i;
        break;
      }
    }
    const [picked] = pool.splice(idx, 1);
    sum -= picked!.weight;
    out.push(picked!.item);
  }
  return out;
}

/**
 * Devices for a new file's copies: at most `count`, at most one per host, first = primary.
 * Returns fewer when fewer hosts can take the file; the caller decides if that meets its quorum.
 */
export function chooseDevicesForUpload(devices: DeviceView[], count: number, opts?: UploadChoiceOptions): DeviceView[] {
  if (!Number.isInteger(count) || count < 0)
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `The number of upload targets must be a whole number, not ${count}`);
  const limits = limitsOf(opts);
  const random = opts?.random ?? Math.random;
  if (count === 0) return [];

  const candidates = devices.filter((d) => canTakeNewCopies(d, limits)).sort(byFreeDesc);
  const top = candidates.slice(0, TOP_CANDIDATES);
  const shuffled = weightedOrder(
    top.map((d) => ({ item: d, weight: d.weight * freeFraction(d) })),
    random,
  );
  // Past the top 20 (all of which may sit on a few hosts), other hosts still get their turn,
  // emptiest first, so a file is not left short of hosts that could take it.
  const order = [...shuffled, ...candidates.slice(TOP_CANDIDATES)];

  const chosen: DeviceView[] = [];
  const usedHosts = new Set<number>();
  for (const d of order) {
    if (chosen.length >= count) break;
    if (usedHosts.has(d.hostId)) continue; // compare HOST ids: MogileFS's bug compared the devid here
    usedHosts.add(d.hostId);
    chosen.push(d);
  }
  return chosen;
}

/** Each host's best device first, then each host's second best, ...; free space orders within a round. */
function interleaveByHost(sorted: DeviceView[]): number[] {
  const rankInHost = new Map<number, number>();
  const ranked = sorted.map((d, pos) => {
    const rank = rankInHost.get(d.hostId) ?? 0;
    rankInHost.set(d.hostId, rank + 1);
    return { d, rank, pos };
  });
  ranked.sort((a, b) => a.rank - b.rank || a.pos - b.pos);
  return ranked.map((x) => x.d.id);
}

/** Picks `surplus` copies to drop: from a host holding two first, then deletable now, then fullest. */
function pickSurplus(copies: DeviceView[], surplus: number): number[] {
  const remaining = [...copies];
  const out: number[] = [];
  for (let k = 0; k < surplus && remaining.length > 0; k++) {
    const perHost = new Map<number, number>();
    for (const d of remaining) perHost.set(d.hostId, (perHost.get(d.hostId) ?? 0) + 1);
    const score = (d: DeviceView) => ({
      dup: (perHost.get(d.hostId) ?? 0) > 1 ? 1 : 0,
      // A readonly device's copy cannot be deleted until it is writable again.
      deletable: d.status === 'readonly' ? 0 : 1,
      full: 1 - freeFraction(d),
    });
    remaining.sort((a, b) => {
      const sa = score(a);
      const sb = score(b);
      return sb.dup - sa.dup || sb.deletable - sa.deletable || sb.full - sa.full || b.id - a.id;
    });
    out.push(remaining.shift()!.id);
  }
  return out;
}

/**
 * Judges a file's copies against MultipleHosts(mindevcount). `onDevids` are its replica rows;
 * `devices` is every device. Unknown devids are ignored.
 */
export function judgeReplicas(
  onDevids: number[],
  devices: DeviceView[],
  mindevcount: number,
  limits?: SpaceLimits,
): ReplicaJudgement {
  if (!Number.isInteger(mindevcount) || mindevcount < 1)
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `mindevcount must be a whole number of at least 1, not ${mindevcount}`);
  const lim = limitsOf(limits);
  const byId = new Map(devices.map((d) => [d.id, d]));
  const onSet = new Set(onDevids);
  const onDevs = [...onSet].map((id) => byId.get(id)).filter((d): d is DeviceView => d !== undefined);

  const counted = onDevs.filter(countsTowardClass);
  const draining = onDevs.filter((d) => d.status === 'drain').map((d) => d.id);
  const alreadyOn = counted.length;
  const hostsOn = new Set(counted.map((d) => d.hostId));

  // Hosts that should end up holding copies: a host merely down for now still counts, so the file
  // waits for it (desperate, or nothing) instead of settling as if the cluster were smaller.
  const liveHostsWithAliveDevice = new Set(
    devices.filter((d) => d.status === 'alive' && d.hostStatus !== 'dead').map((d) => d.hostId),
  );
  // Disks that should hold files at all (MogileFS's should_have_files).
  const totalDisks = devices.filter(
    (d) => (d.status === 'alive' || d.status === 'readonly' || d.status === 'down') && d.hostStatus !== 'dead',
  ).length;

  const happy = (verdict: 'all_good' | 'temp_sufficient'): ReplicaJudgement => {
    const surplus = alreadyOn - mindevcount;
    if (surplus > 0) {
      return { verdict: 'too_good', ideal: [], desperate: [], extra: [...draining, ...pickSurplus(counted, surplus)] };
    }
    return { verdict, ideal: [], desperate: [], extra: draining };
  };

  if (hostsOn.size >= mindevcount) return happy('all_good');
  const onEveryHost = [...liveHostsWithAliveDevice].every((h) => hostsOn.has(h));
  if (onEveryHost && alreadyOn >= mindevcount) return happy('temp_sufficient');
  // On every disk there is: nothing better is possible until disks are added (fsck then spreads it).
  if (alreadyOn >= 2 && alreadyOn === totalDisks) return happy('temp_sufficient');

  // Hosts already holding a copy are only a fallback while other hosts could take one.
  const skipHosts = onEveryHost ? new Set<number>() : hostsOn;
  const dests = devices.filter((d) => !onSet.has(d.id) && canTakeNewCopies(d, lim)).sort(byFreeDesc);
  const ideal = interleaveByHost(dests.filter((d) => !skipHosts.has(d.hostId)));
  // Enough copies but no better host reachable: don't pile yet another copy onto the same hosts.
  const desperate =
    ideal.length === 0 && alreadyOn < mindevcount
      ? interleaveByHost(dests.filter((d) => skipHosts.has(d.hostId)))
      : [];
  return { verdict: 'insufficient', ideal, desperate, extra: [] };
}

/** May this device receive a copy now (alive, reachable, weighted, with room)? For rebalance. */
export function canReceiveCopies(d: DeviceView, limits?: SpaceLimits): boolean {
  return canTakeNewCopies(d, limitsOf(limits));
}
