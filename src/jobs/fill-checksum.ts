// fsck's part for a file stored without a checksum although its class has an algorithm: files
// imported from MogileFS, which keeps one only for classes with a hashtype. Every intact copy is
// read whole, at most `checksumBytesPerSecond` a second (it runs over a cluster's whole history,
// beside the clients' traffic), and hashed in the file's algorithm; when the copies agree the
// digest is recorded, and from then on every read and fsck verifies the bytes against it. Copies
// that disagree are left for the operator: nothing says which one is right.
import { createHash } from 'node:crypto';
import { describeError } from '../errors.ts';
import type { DeviceView, FileRow, FsckCode } from '../tracker/types.ts';
import { replicaUrlOf, type JobContext } from './context.ts';

/** The read rate when the context sets none: 20 MiB/s per fsck worker. */
export const DEFAULT_CHECKSUM_BYTES_PER_SECOND = 20 * 1024 * 1024;

type Note = (code: FsckCode, devid: number | null, detail: string) => void;

export async function fillMissingChecksum(ctx: JobContext, file: FileRow, good: DeviceView[], note: Note): Promise<void> {
  const digests = new Map<string, number[]>();
  for (const dev of good) {
    const digest = await hashCopy(ctx, file, dev);
    if (digest === null) return; // unreadable now: the next fsck of the file tries again
    digests.set(digest, [...(digests.get(digest) ?? []), dev.id]);
  }
  if (digests.size !== 1) {
    const seen = [...digests].map(([d, devs]) => `${d} on device ${devs.join(', ')}`).join('; ');
    note('NSUM', null, `the copies' ${file.checksumAlg} digests differ (${seen}): no checksum recorded, compare the copies by hand`);
    return;
  }
  const [digest] = [...digests.keys()];
  if (await ctx.store.recordChecksum(file.fid, file.checksumAlg, digest!))
    note('NSUM', null, `${file.checksumAlg} computed from ${good.length} intact cop${good.length === 1 ? 'y' : 'ies'} and recorded`);
}

/** The copy's digest, or null when it could not be read whole. */
async function hashCopy(ctx: JobContext, file: FileRow, dev: DeviceView): Promise<string | null> {
  const rate = ctx.checksumBytesPerSecond ?? DEFAULT_CHECKSUM_BYTES_PER_SECOND;
  const hash = createHash(file.checksumAlg === 'md5' ? 'md5' : 'sha256');
  const started = Date.now();
  let bytes = 0;
  try {
    const got = await ctx.client.get(replicaUrlOf(dev, file.fid));
    for await (const chunk of got.stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      const due = started + (bytes / rate) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
  } catch (err) {
    ctx.log('warn', `fsck fid ${file.fid}: device ${dev.id}: could not read the copy to compute its checksum: ${describeError(err)}`);
    return null;
  }
  if (bytes !== file.length) return null; // changed since the length check: the next fsck looks again
  return hash.digest('hex');
}
