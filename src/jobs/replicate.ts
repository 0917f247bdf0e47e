// The replicate job: brings one fid to its class's replica count. Copies stream from a readable
// replica into a PUT on the policy's best device; surplus copies are removed only once the copies
// that stay are seen on their nodes.
//
// A copy is never made from bad bytes: the source's length and checksum are verified while
// streaming (nginx nodes do not verify), and the last chunk is held back until they check out, so
// a node never receives a complete body of a bad copy. Our node also verifies (expectChecksum).
import { createHash, type Hash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { ErrorCodes, describeError, isMogError, mogError } from '../errors.ts';
import type { PutResult } from '../storage/client-put.ts';
import { countsTowardClass, isReadableDevice } from '../tracker/device-state.ts';
import { judgeReplicas } from '../tracker/policy.ts';
import type { DeviceView, FileRow } from '../tracker/types.ts';
import { isGoneDevice, replicaUrlOf, type JobContext } from './context.ts';
import { checkReplica, describeCheck, discardCopy } from './verify.ts';

export interface ReplicateResult {
  copied: { from: number; to: number }[];
  removed: number[];
}

/**
 * Makes `fid` happy or throws (the runner then retries later). Returns what it changed.
 * A fid that no longer exists is fine: any copy made meanwhile is handed to the delete queue.
 */
export async function replicateFid(ctx: JobContext, fid: number): Promise<ReplicateResult> {
  const { store } = ctx;
  const done: ReplicateResult = { copied: [], removed: [] };
  const file = await store.getFile(fid);
  if (!file) {
    await forgetDeletedFid(ctx, fid);
    return done;
  }
  const cls = await store.getClassById(file.classId);
  if (!cls) throw mogError(ErrorCodes.INTERNAL, `fid ${fid}: its class ${file.classId} no longer exists`);

  const badSources = new Set<number>();
  const failedTargets = new Set<number>();
  const problems: string[] = [];
  // Every round adds a copy, writes a target off, or ends; the cap only guards against a store
  // that keeps changing under us.
  for (let round = 0; round < 64; round++) {
    const [on, devices] = await Promise.all([store.replicasOf(fid), store.listDevices()]);
    const judged = judgeReplicas(on, devices, cls.mindevcount, ctx.spaceLimits);
    if (judged.verdict !== 'insufficient') {
      if (judged.extra.length > 0) {
        const fresh = new Set(done.copied.map((c) => c.to));
        const trim = await removeExtras(ctx, file, on, judged.extra, devices, fresh);
        done.removed.push(...trim.removed);
        if (!trim.settled) continue; // a copy went away meanwhile: judge again
      }
      return done;
    }
    const target = [...judged.ideal, ...judged.desperate].find((d) => !failedTargets.has(d));
    if (target === undefined) {
      const why = problems.length ? `; ${problems.join('; ')}` : '';
      throw mogError(ErrorCodes.NO_DEVICES, `fid ${fid}: ${on.length} cop${on.length === 1 ? 'y' : 'ies'}, no device can take another now${why}`);
    }
    const byId = new Map(devices.map((d) => [d.id, d]));
    const targetDev = byId.get(target)!;
    const sources = on
      .map((id) => byId.get(id))
      .filter((d): d is DeviceView => d !== undefined && isReadableDevice(d) && !badSources.has(d.id))
      .sort((a, b) => readRank(a) - readRank(b) || a.id - b.id);
    if (sources.length === 0) {
      const why = badSources.size ? ` (bad copies on device ${[...badSources].join(', ')})` : '';
      throw mogError(ErrorCodes.NO_REPLICAS, `fid ${fid}: no readable copy to replicate from${why}`);
    }

    const { copiedFrom, targetFailed } = await copyFromFirstIntact(ctx, file, sources, targetDev, { badSources, problems });
    if (copiedFrom === null) {
      if (!targetFailed) {
        const why = problems.length ? `: ${problems.join('; ')}` : '';
        throw mogError(ErrorCodes.NO_REPLICAS, `fid ${fid}: no intact readable copy to replicate from${why}`);
      }
      failedTargets.add(target); // the next round tries the next device
      continue;
    }

    const kept = await recordCopy(ctx, fid, targetDev, file.length);
    if (kept === 'gone') return done; // the file was deleted while we copied
    if (kept === 'lost') {
      failedTargets.add(target);
      problems.push(`device ${target} lost the copy right after writing it`);
      continue;
    }
    done.copied.push({ from: copiedFrom, to: target });
    ctx.log('info', `fid ${fid}: copied from device ${copiedFrom} to device ${target}`);
    ctx.onEvent?.({ type: 'copied', fid, from: copiedFrom, to: target, bytes: file.length });
  }
  throw mogError(ErrorCodes.INTERNAL, `fid ${fid}: replication did not settle; will try again`);
}

/**
 * Tries the sources in order until one copies onto `target`. A bad source is remembered (and sent
 * to fsck), an unreadable one noted; a target that fails ends the attempt (targetFailed).
 */
async function copyFromFirstIntact(
  ctx: JobContext,
  file: FileRow,
  sources: DeviceView[],
  target: DeviceView,
  seen: { badSources: Set<number>; problems: string[] },
): Promise<{ copiedFrom: number | null; targetFailed: boolean }> {
  const fid = file.fid;
  for (const src of sources) {
    const outcome = await copyReplica(ctx, file, replicaUrlOf(src, fid), replicaUrlOf(target, fid));
    if (outcome.ok) return { copiedFrom: src.id, targetFailed: false };
    if (outcome.blame === 'source-bad') {
      seen.badSources.add(src.id);
      ctx.log('warn', `fid ${fid}: copy on device ${src.id} is bad (${outcome.reason}); not copying it, fsck queued`);
      ctx.onEvent?.({ type: 'bad-source', fid, devid: src.id, reason: outcome.reason });
      await ctx.store.enqueue('fsck', fid, { now: Date.now() });
      continue;
    }
    if (outcome.blame === 'source-unavailable') {
      seen.problems.push(`device ${src.id} unreadable: ${outcome.reason}`);
      continue;
    }
    seen.problems.push(`device ${target.id} did not take the copy: ${outcome.reason}`);
    return { copiedFrom: null, targetFailed: true };
  }
  return { copiedFrom: null, targetFailed: false };
}

/**
 * Records a verified copy, then checks it is still there: a delete of the same fid's leftovers
 * (see delete.ts) may have removed it between our PUT and addReplica. The delete job re-checks
 * too, so one of the two always sees the other.
 */
async function recordCopy(ctx: JobContext, fid: number, dev: DeviceView, length: number): Promise<'ok' | 'gone' | 'lost'> {
  const { store } = ctx;
  try {
    await store.addReplica(fid, dev.id);
  } catch (err) {
    if (!isMogError(err, ErrorCodes.NOT_FOUND)) throw err;
  }
  if (!(await store.getFile(fid))) {
    // Deleted while we copied: our copy must not outlive the file.
    await store.enqueue('delete', fid, { devids: [dev.id], now: Date.now() });
    return 'gone';
  }
  const seen = await ctx.client.head(replicaUrlOf(dev, fid)).catch(() => undefined);
  if (seen === undefined) return 'ok'; // node unreachable just now: the PUT was confirmed; fsck re-checks later
  if (seen && seen.length === length) return 'ok';
  await store.removeReplica(fid, dev.id);
  ctx.log('warn', `fid ${fid}: the new copy on device ${dev.id} vanished right after it was written; dropped its record`);
  ctx.onEvent?.({ type: 'lost-copy', fid, devid: dev.id });
  return 'lost';
}

/** A replicate item for a deleted fid: make sure its leftover replicas are queued for deletion. */
async function forgetDeletedFid(ctx: JobContext, fid: number): Promise<void> {
  const on = await ctx.store.replicasOf(fid);
  if (on.length > 0) await ctx.store.enqueue('delete', fid, { now: Date.now() });
}

/**
 * Removes surplus copies, but only once every copy that stays and counts is verified: read whole
 * and hashed, except copies this run has just made (verified as they were written). A record
 * alone may point at a copy a disk has lost or rotted. Each removal is guarded in the store, so
 * a copy removed at the same moment by someone else (rebalance, another trim) can't take the
 * file below the copies this judgement keeps; then `settled` is false and the caller judges again.
 */
async function removeExtras(
  ctx: JobContext,
  file: FileRow,
  on: number[],
  extra: number[],
  devices: DeviceView[],
  fresh: Set<number>,
): Promise<{ removed: number[]; settled: boolean }> {
  const { store } = ctx;
  const byId = new Map(devices.map((d) => [d.id, d]));
  const extraSet = new Set(extra);
  const kept = on
    .map((id) => byId.get(id))
    .filter((d): d is DeviceView => d !== undefined && !extraSet.has(d.id) && countsTowardClass(d));
  for (const dev of kept) {
    const check = await checkReplica(ctx, file, dev, { content: !fresh.has(dev.id) });
    if (check.state === 'ok') continue;
    if (check.state === 'unreachable')
      throw mogError(ErrorCodes.NODE_UNAVAILABLE, `fid ${file.fid}: not removing surplus copies until device ${dev.id} can be checked: ${check.reason}`);
    await store.enqueue('fsck', file.fid, { now: Date.now() });
    ctx.wake?.('fsck');
    throw mogError(
      ErrorCodes.NO_REPLICAS,
      `fid ${file.fid}: not removing surplus copies: the copy on device ${dev.id} is ${describeCheck(check, file)} (fsck queued)`,
    );
  }
  const removed: number[] = [];
  for (const devid of extra) {
    if (!(await store.removeReplicaIfCovered(file.fid, devid, kept.length))) {
      ctx.log('info', `fid ${file.fid}: its copies changed while surplus ones were removed; judging again`);
      return { removed, settled: false };
    }
    removed.push(devid);
    ctx.onEvent?.({ type: 'trimmed', fid: file.fid, devid });
    const dev = byId.get(devid);
    if (dev && !isGoneDevice(dev)) await discardCopy(ctx, file.fid, dev);
  }
  ctx.log('info', `fid ${file.fid}: removed surplus copies on device ${removed.join(', ')}`);
  return { removed, settled: true };
}

/** Sources the monitor last saw reachable first, never-observed next, unreachable last. */
function readRank(d: DeviceView): number {
  const observed = d.observed === 'unreachable' ? 2 : d.observed === 'unknown' ? 1 : 0;
  return observed * 2 + (d.status === 'drain' ? 1 : 0);
}

type CopyOutcome =
  | { ok: true; result: PutResult }
  | { ok: false; blame: 'source-bad' | 'source-unavailable' | 'target'; reason: string };

/** Streams one replica into another, verifying the source on the way. */
export async function copyReplica(ctx: JobContext, file: FileRow, srcUrl: string, dstUrl: string): Promise<CopyOutcome> {
  const { client } = ctx;
  const fail = (blame: 'source-bad' | 'source-unavailable' | 'target', reason: string): CopyOutcome => ({ ok: false, blame, reason });

  let got: Awaited<ReturnType<typeof client.get>>;
  try {
    got = await client.get(srcUrl);
  } catch (err) {
    if (isMogError(err, ErrorCodes.NOT_FOUND)) return fail('source-bad', 'missing on its node');
    return fail('source-unavailable', describeError(err));
  }
  if (got.length !== file.length) {
    got.stream.destroy();
    return fail('source-bad', `${got.length} bytes, expected ${file.length}`);
  }

  const verifyChecksum = file.checksumAlg !== 'none' && file.checksum !== null;
  const hash: Hash | null = verifyChecksum ? createHash(file.checksumAlg === 'md5' ? 'md5' : 'sha256') : null;
  const put = client.openPut(dstUrl, {
    length: file.length,
    checksumAlg: file.checksumAlg,
    ...(verifyChecksum ? { expectChecksum: file.checksum! } : {}),
  });
  let putSettled = false;
  const putOutcome = put.result.then(
    (result) => ((putSettled = true), { ok: true as const, result }),
    (err: unknown) => ((putSettled = true), { ok: false as const, err }),
  );
  let putError: unknown = null;
  put.stream.on('error', (err) => (putError ??= err));

  let failure: CopyOutcome | null = null;
  let seen = 0;
  let held: Buffer | null = null; // the newest chunk, sent only once the next one (or verification) is in
  const source = (got.stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  for (;;) {
    let step: IteratorResult<Buffer>;
    try {
      step = await source.next();
    } catch (err) {
      failure = fail('source-unavailable', `read broke off: ${describeError(err)}`);
      break;
    }
    if (step.done) break;
    const chunk = step.value;
    seen += chunk.length;
    if (seen > file.length) {
      failure = fail('source-bad', `more than the expected ${file.length} bytes`);
      break;
    }
    hash?.update(chunk);
    if (held && !(await writeChunk(put.stream, held, putOutcome, () => putSettled || putError !== null))) {
      failure = fail('target', describeError(putError ?? (await settledError(putOutcome))));
      break;
    }
    held = chunk;
  }
  if (!failure && seen !== file.length) failure = fail('source-bad', `${seen} bytes, expected ${file.length}`);
  if (!failure && hash) {
    const digest = hash.digest('hex');
    if (digest !== file.checksum) failure = fail('source-bad', `checksum ${digest}, expected ${file.checksum}`);
  }
  if (failure) {
    await source.return?.();
    // Aborting the PUT before its last byte makes the node keep nothing.
    put.stream.destroy(new Error('copy abandoned'));
    await putOutcome;
    return failure;
  }

  put.stream.end(held ?? undefined);
  const outcome = await putOutcome;
  if (!outcome.ok) return fail('target', describeError(outcome.err));
  const r = outcome.result;
  if (r.length !== file.length || (hash && r.checksum !== null && r.checksum !== file.checksum)) {
    await client.delete(dstUrl).catch(() => {});
    return fail('target', `node stored ${r.length} bytes with checksum ${r.checksum}, expected ${file.length} / ${file.checksum}`);
  }
  return { ok: true, result: r };
}

/** Writes with backpressure; false when the PUT has failed or ended early. */
async function writeChunk(w: Writable, chunk: Buffer, settled: Promise<unknown>, broken: () => boolean): Promise<boolean> {
  if (broken() || w.destroyed) return false;
  if (!w.write(chunk)) {
    let stopWaiting = () => {};
    const drained = new Promise<void>((resolve) => {
      stopWaiting = () => {
        w.off('drain', stopWaiting);
        w.off('close', stopWaiting);
        w.off('error', stopWaiting);
        resolve();
      };
      w.on('drain', stopWaiting);
      w.on('close', stopWaiting);
      w.on('error', stopWaiting);
    });
    await Promise.race([settled, drained]);
    stopWaiting();
  }
  return !broken() && !w.destroyed;
}

async function settledError(p: Promise<{ ok: true } | { ok: false; err: unknown }>): Promise<unknown> {
  const r = await Promise.race([p, new Promise<null>((resolve) => setTimeout(() => resolve(null), 1000))]);
  if (r && !r.ok) return r.err;
  return new Error('the node closed the upload early');
}
