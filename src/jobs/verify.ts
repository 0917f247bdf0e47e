// Looking at one replica on its node: is it there, with the file's length, and (read in full)
// with the file's checksum? fsck, the replicate job's trimming and rebalance all ask this.
// Works against any node (ours or nginx): HEAD for presence and length, GET + hash for content.
import { createHash } from 'node:crypto';
import { ErrorCodes, describeError, isMogError } from '../errors.ts';
import type { DeviceView, FileRow } from '../tracker/types.ts';
import { replicaUrlOf, type JobContext } from './context.ts';

export type ReplicaCheck =
  | { state: 'ok' }
  | { state: 'missing' }
  | { state: 'bad-length'; length: number }
  | { state: 'bad-checksum'; digest: string }
  /** The node did not answer (or broke off): nothing is known about the copy. */
  | { state: 'unreachable'; reason: string };

/**
 * Checks `file`'s copy on `dev`. With `content`, the copy is read whole and hashed (when the
 * file has a checksum); without, HEAD alone (presence and length).
 */
export async function checkReplica(ctx: JobContext, file: FileRow, dev: DeviceView, opts: { content: boolean }): Promise<ReplicaCheck> {
  const url = replicaUrlOf(dev, file.fid);
  let head: { length: number } | null;
  try {
    head = await ctx.client.head(url);
  } catch (err) {
    return { state: 'unreachable', reason: describeError(err) };
  }
  if (head === null) return { state: 'missing' };
  if (head.length !== file.length) return { state: 'bad-length', length: head.length };
  if (!opts.content || file.checksumAlg === 'none' || file.checksum === null) return { state: 'ok' };

  let got: Awaited<ReturnType<typeof ctx.client.get>>;
  try {
    got = await ctx.client.get(url);
  } catch (err) {
    if (isMogError(err, ErrorCodes.NOT_FOUND)) return { state: 'missing' }; // removed since the HEAD
    return { state: 'unreachable', reason: describeError(err) };
  }
  if (got.length !== file.length) {
    got.stream.destroy();
    return { state: 'bad-length', length: got.length };
  }
  const hash = createHash(file.checksumAlg === 'md5' ? 'md5' : 'sha256');
  try {
    for await (const chunk of got.stream as AsyncIterable<Buffer>) hash.update(chunk);
  } catch (err) {
    return { state: 'unreachable', reason: `read broke off: ${describeError(err)}` };
  }
  const digest = hash.digest('hex');
  return digest === file.checksum ? { state: 'ok' } : { state: 'bad-checksum', digest };
}

/** One line for the log: what is wrong with a copy. */
export function describeCheck(c: ReplicaCheck, file: FileRow): string {
  switch (c.state) {
    case 'ok':
      return 'intact';
    case 'missing':
      return 'not on its node';
    case 'bad-length':
      return `${c.length} bytes, expected ${file.length}`;
    case 'bad-checksum':
      return `${file.checksumAlg} ${c.digest}, expected ${file.checksum}`;
    case 'unreachable':
      return `could not be checked: ${c.reason}`;
  }
}

/**
 * Deletes a copy whose replica record is already gone. If the node is away the delete queue
 * takes over. A replicate job may have put a fresh copy on the same device meanwhile (the device
 * was free to take one): if a record for it reappeared and the bytes are now gone, the record is
 * dropped and replication asked for again, so no record ever points at nothing.
 */
export async function discardCopy(ctx: JobContext, fid: number, dev: DeviceView): Promise<void> {
  try {
    await ctx.client.delete(replicaUrlOf(dev, fid));
  } catch {
    await ctx.store.enqueue('delete', fid, { devids: [dev.id], now: Date.now() });
    return;
  }
  if (!(await ctx.store.replicasOf(fid)).includes(dev.id)) return;
  const seen = await ctx.client.head(replicaUrlOf(dev, fid)).catch(() => undefined);
  if (seen !== null) return; // there (a fresh copy landed after our DELETE), or unknown: fsck looks later
  await ctx.store.removeReplica(fid, dev.id);
  await ctx.store.enqueue('replicate', fid, { now: Date.now() });
  ctx.wake?.('replicate');
  ctx.log('warn', `fid ${fid}: a copy on device ${dev.id} was removed as it was being recorded; replication queued`);
  ctx.onEvent?.({ type: 'lost-copy', fid, devid: dev.id });
}
