// Reads a file from its replicas. If a replica fails mid-stream, reading continues at the same
// offset from the next one, so the reader never notices. A whole-file read is hashed as it
// streams; a mismatch at the end fails the stream (the client gets an error, never a silent
// success) and queues the fid for fsck.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ErrorCodes, describeError, isMogError, mogError } from '../errors.ts';
import type { StorageClient } from '../storage/client.ts';
import { replicaUrl } from '../storage/layout.ts';
import type { Tracker } from '../tracker/tracker.ts';
import type { FileRow } from '../tracker/types.ts';

export function openDownload(tracker: Tracker, client: StorageClient, file: FileRow, start = 0): Readable {
  return Readable.from(replicaBytes(tracker, client, file, start), { objectMode: false, highWaterMark: 256 * 1024 });
}

async function* replicaBytes(tracker: Tracker, client: StorageClient, file: FileRow, start: number): AsyncGenerator<Buffer> {
  const hash = start === 0 && file.checksum ? createHash(file.checksumAlg === 'md5' ? 'md5' : 'sha256') : null;
  let pos = start;
  const failures: string[] = [];
  if (pos < file.length) {
    const replicas = await tracker.replicasFor(file.fid);
    for (const target of replicas) {
      try {
        const { stream } = await client.get(replicaUrl(target, file.fid), { start: pos, end: file.length - 1 });
        for await (const raw of stream as AsyncIterable<Buffer>) {
          // Never pass on more than the file's recorded length, whatever a node sends.
          const chunk = raw.length > file.length - pos ? raw.subarray(0, file.length - pos) : raw;
          pos += chunk.length;
          hash?.update(chunk);
          yield chunk;
          if (pos >= file.length) break;
        }
        if (pos >= file.length) break;
        // The node holds fewer bytes than the file has: a damaged copy, for fsck to repair.
        await tracker.reportBadReplica(file.fid).catch(() => {});
        failures.push(`device ${target.devid}: ended early at byte ${pos}`);
      } catch (err) {
        // A recorded copy that is missing or shorter than where we are is damaged too.
        if (isMogError(err, ErrorCodes.NOT_FOUND) || isMogError(err, ErrorCodes.INVALID_OFFSET)) await tracker.reportBadReplica(file.fid).catch(() => {});
        tracker.reportDeviceFailure(target.devid);
        failures.push(`device ${target.devid}: ${describeError(err)}`);
      }
    }
    if (pos < file.length) {
      throw mogError(
        ErrorCodes.NO_REPLICAS,
        failures.length
          ? `No storage node could serve the rest of the file (${failures.join('; ')})`
          : 'No replica of this file is reachable right now',
      );
    }
  }
  if (hash && hash.digest('hex') !== file.checksum) {
    await tracker.reportBadReplica(file.fid).catch(() => {});
    throw mogError(ErrorCodes.CHECKSUM_MISMATCH, 'The stored data failed its checksum; transfer aborted');
  }
}
