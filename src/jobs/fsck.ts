// fsck of one fid: every recorded copy is looked at on its node (present, right length, right
// checksum: read whole and hashed, nginx nodes included), the cached devcount and the class's
// policy are checked, and what can be fixed is fixed:
// - a bad copy (MISS, BLEN, BSUM) is dropped when an intact copy exists, and replaced through
//   the replicate queue;
// - with no intact recorded copy, every other device is searched (SRCH) and a copy found intact
//   is recorded (FOND); if none is, nothing is touched (NOPA): damaged copies stay where they
//   are for the operator, and reads keep failing loudly rather than serve them;
// - devcount is corrected (BCNT); too few or too many copies (POVI) queue replication (REPL);
// - a copy a read marked bad (store.markBadReplica) is dropped with the others when damaged, and
//   its mark cleared when it checks out intact.
// Every finding goes to the fsck log (store.addFsckEvents).
import { describeError, ErrorCodes, isMogError, mogError } from '../errors.ts';
import { countsTowardClass, isReadableDevice } from '../tracker/device-state.ts';
import { judgeReplicas } from '../tracker/policy.ts';
import type { DeviceView, FileRow, FsckCode, NewFsckEvent } from '../tracker/types.ts';
import { isGoneDevice, type JobContext } from './context.ts';
import { checkReplica, describeCheck, discardCopy, type ReplicaCheck } from './verify.ts';
import { fillMissingChecksum } from './fill-checksum.ts';

export interface FsckFidResult {
  fid: number;
  /** False when the fid no longer exists (deleted since it was queued). */
  exists: boolean;
  events: NewFsckEvent[];
  /** Copies that could not be looked at (node unreachable); the caller may try again later. */
  unchecked: number[];
}

const BAD_CODE: Record<'missing' | 'bad-length' | 'bad-checksum', FsckCode> = {
  missing: 'MISS',
  'bad-length': 'BLEN',
  'bad-checksum': 'BSUM',
};

export async function fsckFid(ctx: JobContext, fid: number): Promise<FsckFidResult> {
  const { store } = ctx;
  const result: FsckFidResult = { fid, exists: true, events: [], unchecked: [] };
  const note = (code: FsckCode, devid: number | null, detail: string) => {
    result.events.push({ at: Date.now(), fid, devid, code, detail });
  };
  const file = await store.getFile(fid);
  if (!file) return { ...result, exists: false };
  const cls = await store.getClassById(file.classId);
  if (!cls) throw mogError(ErrorCodes.INTERNAL, `fid ${fid}: its class ${file.classId} no longer exists`);

  const count = await store.fixDevcount(fid);
  if (count && count.before !== count.after) note('BCNT', null, `devcount was ${count.before}, the file has ${count.after} replica records; corrected`);
  if (file.checksumAlg !== 'none' && file.checksum === null) note('NSUM', null, `no ${file.checksumAlg} checksum stored: copies checked by length only`);

  const [on, devices] = await Promise.all([store.replicasOf(fid), store.listDevices()]);
  const byId = new Map(devices.map((d) => [d.id, d]));
  const good: DeviceView[] = [];
  const bad: { dev: DeviceView; check: ReplicaCheck }[] = [];
  for (const devid of on) {
    const dev = byId.get(devid);
    if (!dev || isGoneDevice(dev)) continue; // the dead-device sweep forgets these records
    if (!isReadableDevice(dev)) {
      result.unchecked.push(devid); // down: nothing to ask now
      continue;
    }
    const check = await checkReplica(ctx, file, dev, { content: true });
    if (check.state === 'ok') good.push(dev);
    else if (check.state === 'unreachable') result.unchecked.push(devid);
    else bad.push({ dev, check });
  }
  if (bad.length > 0) {
    // A copy trimmed or deleted by another job since we listed the records is no finding.
    const still = new Set(await store.replicasOf(fid));
    for (let i = bad.length - 1; i >= 0; i--) if (!still.has(bad[i]!.dev.id)) bad.splice(i, 1);
    for (const { dev, check } of bad) {
      if (check.state === 'ok' || check.state === 'unreachable') continue;
      note(BAD_CODE[check.state], dev.id, `copy ${describeCheck(check, file)}`);
    }
  }

  // Copies a read marked bad (issue 16) were checked above like every other: a mark on one that
  // is intact now is cleared (the read was wrong, or the copy was rewritten since); the mark of a
  // damaged one goes with its record below, once an intact copy stands in for it.
  const marked = new Set((await store.badReplicasOf(fid)).map((m) => m.devid));
  for (const dev of good) {
    if (marked.has(dev.id) && (await store.clearBadReplica(fid, dev.id))) ctx.log('info', `fsck fid ${fid}: device ${dev.id}: the copy a read marked bad is intact; mark cleared`);
  }

  if (good.length === 0 && result.unchecked.length === 0) good.push(...(await searchEverywhere(ctx, file, on, devices, note)));

  let replicate = await dropDamaged(ctx, file, { good, bad, unchecked: result.unchecked }, note);
  if (good.length > 0 && file.checksum === null && file.checksumAlg !== 'none') await fillMissingChecksum(ctx, file, good, note);

  if (good.length > 0) {
    const now = await store.replicasOf(fid);
    const judged = judgeReplicas(now, devices, cls.mindevcount, ctx.spaceLimits);
    if (judged.verdict === 'insufficient' || judged.verdict === 'too_good') {
      const counted = now.filter((id) => {
        const d = byId.get(id);
        return d !== undefined && countsTowardClass(d);
      });
      const hosts = new Set(counted.map((id) => byId.get(id)!.hostId)).size;
      note('POVI', null, `${counted.length} counted cop${counted.length === 1 ? 'y' : 'ies'} on ${hosts} host(s); class ${cls.name} wants ${cls.mindevcount}`);
      replicate = true;
    }
  }
  if (replicate) {
    await store.enqueue('replicate', fid, { now: Date.now() });
    ctx.wake?.('replicate');
    note('REPL', null, 'replication queued');
  }

  await store.addFsckEvents(result.events);
  for (const e of result.events) {
    ctx.log(e.code === 'REPL' || e.code === 'SRCH' ? 'info' : 'warn', `fsck fid ${fid}: ${e.code}${e.devid ? ` device ${e.devid}` : ''}: ${e.detail}`);
    ctx.onEvent?.({ type: 'fsck', fid, devid: e.devid, code: e.code, detail: e.detail });
  }
  ctx.onEvent?.({ type: 'fsck-checked', fid });
  return result;
}

type Note = (code: FsckCode, devid: number | null, detail: string) => void;

/**
 * Drops the damaged copies when an intact one exists (true: replication is then due); with none,
 * and no copy left unchecked, leaves them in place and says so.
 */
async function dropDamaged(
  ctx: JobContext,
  file: FileRow,
  copies: { good: DeviceView[]; bad: { dev: DeviceView; check: ReplicaCheck }[]; unchecked: number[] },
  note: Note,
): Promise<boolean> {
  const { good, bad } = copies;
  if (good.length === 0) {
    if (copies.unchecked.length === 0) {
      note(
        'NOPA',
        null,
        bad.length > 0
          ? `no intact copy anywhere; the ${bad.length} damaged cop${bad.length === 1 ? 'y is' : 'ies are'} left in place`
          : 'no copy anywhere',
      );
    }
    return false;
  }
  for (const { dev, check } of bad) {
    await ctx.store.removeReplica(file.fid, dev.id);
    await ctx.store.clearBadReplica(file.fid, dev.id);
    await discardCopy(ctx, file.fid, dev);
    note('GONE', dev.id, `dropped the copy (${describeCheck(check, file)}); an intact copy is on device ${good[0]!.id}`);
  }
  return bad.length > 0;
}

/** MogileFS's last resort: the fid's path on every other readable device. */
async function searchEverywhere(
  ctx: JobContext,
  file: FileRow,
  on: number[],
  devices: DeviceView[],
  note: (code: FsckCode, devid: number | null, detail: string) => void,
): Promise<DeviceView[]> {
  const others = devices.filter((d) => !on.includes(d.id) && isReadableDevice(d));
  note('SRCH', null, `no intact recorded copy; searching ${others.length} other device(s)`);
  const found: DeviceView[] = [];
  for (const dev of others) {
    const check = await checkReplica(ctx, file, dev, { content: true });
    if (check.state !== 'ok') continue;
    try {
      await ctx.store.addReplica(file.fid, dev.id);
    } catch (err) {
      // Only a file (or device) deleted meanwhile is skipped. Anything else, a database that
      // stopped answering first of all, fails the check: it is retried, and never becomes a
      // "no copy anywhere" finding about a file whose copy was just found.
      if (!isMogError(err, ErrorCodes.NOT_FOUND)) throw err;
      ctx.log('warn', `fsck fid ${file.fid}: intact copy on device ${dev.id} not recorded: ${describeError(err)}`);
      continue;
    }
    note('FOND', dev.id, 'an intact copy was found here and recorded');
    found.push(dev);
  }
  return found;
}
