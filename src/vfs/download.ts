// Reads a file from its replicas. If a replica fails mid-stream, reading continues at the same
// offset from the next one, so the reader never notices. A whole-file read is hashed as it
// streams; a mismatch at the end fails the stream (the client gets an error, never a silent
// success) and queues the fid for fsck. A resumed read (REST) is verified too: the bytes before
// the offset are read and hashed but not sent, up to VERIFIED_RESUME_LIMIT (beyond it the client
// would wait too long for its first byte, and such a read is served unverified).
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ErrorCodes, describeError, isMogError, mogError } from '../errors.ts';
import type { StorageClient } from '../storage/client.ts';
import { replicaUrl } from '../storage/layout.ts';
import type { Tracker, UploadTarget } from '../tracker/tracker.ts';
import type { FileRow } from '../tracker/types.ts';

/** Largest resume offset whose skipped prefix is read to verify the checksum. */
export const VERIFIED_RESUME_LIMIT = 1024 * 1024 * 1024;

/**
 * `verifyResume` asks for the prefix check on a read from `start` > 0; only callers that read to
 * the end want it (an FTP resume does; an HTTP range that stops early never reaches the check).
 * `replicas`, when given, is the caller's already started `tracker.replicasFor(file.fid)`.
 */
export function openDownload(
  tracker: Tracker,
  client: StorageClient,
  file: FileRow,
  start = 0,
  verifyResume = false,
  replicas?: Promise<UploadTarget[]>,
): Readable {
  return Readable.from(replicaBytes(tracker, client, file, start, verifyResume, replicas), { objectMode: false, highWaterMark: 256 * 1024 });
}

async function* replicaBytes(
  tracker: Tracker,
  client: StorageClient,
  file: FileRow,
  start: number,
  verifyResume: boolean,
  prefetched: Promise<UploadTarget[]> | undefined,
): AsyncGenerator<Buffer> {
  const verify = file.checksum !== null && (start === 0 || (verifyResume && start <= VERIFIED_RESUME_LIMIT));
  const hash = verify ? createHash(file.checksumAlg === 'md5' ? 'md5' : 'sha256') : null;
  // With a hash, reading starts at 0 and the prefix before `start` is hashed, not sent.
  let pos = verify ? 0 : start;
  const failures: string[] = [];
  if (pos < file.length) {
    const replicas = await (prefetched ?? tracker.replicasFor(file.fid));
    for (const target of replicas) {
      try {
        const { stream } = await client.get(replicaUrl(target, file.fid), { start: pos, end: file.length - 1 });
        for await (const raw of stream as AsyncIterable<Buffer>) {
          // Never pass on more than the file's recorded length, whatever a node sends.
          const chunk = raw.length > file.length - pos ? raw.subarray(0, file.length - pos) : raw;
          const from = pos;
          pos += chunk.length;
          hash?.update(chunk);
          if (pos > start) yield from >= start ? chunk : chunk.subarray(start - from);
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
