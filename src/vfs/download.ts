// Reads a file from its replicas. Two ways, both of which keep a damaged copy from ever reaching
// a client as a complete file (issue 16):
// - Verified before send: a file no larger than `verifyBeforeSend` bytes (default 8 MiB) is read
//   whole from one replica into memory and hashed before its first byte is sent. A copy that
//   fails the checksum (or holds too few bytes) is marked bad and the next replica is tried, so
//   the client gets the right bytes while any good copy exists.
// - Streamed (download-stream.ts): a larger file is checked as it streams (by the node's digest
//   trailer when it sends one, else hashed here) and its LAST chunk is held back until the
//   checksum matches. On a mismatch the stream fails before that chunk: the client's copy is
//   short and the door reports the failure (FTP 426/451 with the data connection closed,
//   WebDAV a destroyed connection). If a replica fails mid-stream, reading continues at the
//   same offset from the next one, so the reader never notices.
// A resumed read (REST) is verified too: the bytes before the offset are read and hashed but not
// sent, up to VERIFIED_RESUME_LIMIT (beyond it the client would wait too long for its first
// byte, and such a read is served unverified).
//
// A copy is marked bad (Tracker.reportBadReplica with the device) only on evidence about the
// copy itself: a checksum mismatch, fewer bytes than the file has, or a node saying the copy is
// missing. A timeout or a refused connection says nothing about the bytes and marks nothing.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ErrorCodes, describeError, isMogError, mogError } from '../errors.ts';
import { createLogger, type LogFn } from '../log.ts';
import type { StorageClient } from '../storage/client.ts';
import { replicaUrl } from '../storage/layout.ts';
import type { ReplicaLocation, Tracker } from '../tracker/tracker.ts';
import type { FileRow } from '../tracker/types.ts';
import { streamed } from './download-stream.ts';

/** Largest resume offset whose skipped prefix is read to verify the checksum. */
export const VERIFIED_RESUME_LIMIT = 1024 * 1024 * 1024;
/** Files up to this many bytes are verified before their first byte is sent (`--verify-before-send`). */
export const DEFAULT_VERIFY_BEFORE_SEND = 8 * 1024 * 1024;
/**
 * How many verified-before-send reads one process buffers at once. Their memory is at most
 * this × the limit (16 × 8 MiB = 128 MiB by default); a read beyond it is streamed instead,
 * still with its last chunk held back, so a bad copy is cut short rather than delivered.
 */
export const MAX_BUFFERED_READS = 16;
const SEND_CHUNK = 256 * 1024;

let buffered = 0;
let defaultLog: LogFn | null = null;

/** The limit from MOGFTP_VERIFY_BEFORE_SEND (bytes, 0 turns the buffered check off), or the default. */
export function verifyBeforeSendFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MOGFTP_VERIFY_BEFORE_SEND;
  if (raw === undefined || raw === '') return DEFAULT_VERIFY_BEFORE_SEND;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw mogError(ErrorCodes.INVALID_ARGUMENT, `MOGFTP_VERIFY_BEFORE_SEND must be a byte count (0 or more), not ${raw}`);
  return n;
}

/** The log of vfs code whose caller passed none: a `vfs` logger on stderr, made on first use. */
export function defaultVfsLog(): LogFn {
  return (defaultLog ??= createLogger({ name: 'vfs' }));
}

export interface DownloadOptions {
  /**
   * Asks for the prefix check on a read from `start` > 0; only callers that read to the end
   * want it (an FTP resume does; an HTTP range that stops early never reaches the check).
   */
  verifyResume?: boolean;
  /** The caller's already started `tracker.replicasFor(file.fid)`. */
  replicas?: Promise<ReplicaLocation[]>;
  /** Files up to this many bytes are verified before sending; 0: stream every file. */
  verifyBeforeSend?: number;
  /** Where damaged copies and failed reports are logged (default: a `vfs` logger on stderr). */
  log?: LogFn;
}

export function openDownload(tracker: Tracker, client: StorageClient, file: FileRow, start = 0, opts: DownloadOptions = {}): Readable {
  return Readable.from(replicaBytes(tracker, client, file, start, opts), { objectMode: false, highWaterMark: SEND_CHUNK });
}

/** What reading one replica found wrong with the copy itself (marks it bad). */
type CopyFault = string;

class ReadContext {
  readonly failures: string[] = [];
  readonly log: LogFn;

  constructor(
    readonly tracker: Tracker,
    readonly file: FileRow,
    log: LogFn | undefined,
  ) {
    this.log = log ?? defaultVfsLog();
  }

  /** Marks the copy on `devid` bad and queues the fid for fsck; a store failure is logged, the read goes on. */
  async copyIsBad(devid: number, reason: string): Promise<void> {
    this.failures.push(`device ${devid}: ${reason}`);
    this.log('warn', 'damaged copy found by a read', { fid: this.file.fid, devid, reason });
    await this.tracker.reportBadReplica(this.file.fid, { devid, reason }).catch((err) => this.reportFailed(err));
  }

  /** The fid has a bad copy somewhere (which one is not known): queues it for fsck. */
  async fileIsSuspect(reason: string): Promise<void> {
    this.log('warn', 'read of a file failed its check', { fid: this.file.fid, reason });
    await this.tracker.reportBadReplica(this.file.fid).catch((err) => this.reportFailed(err));
  }

  private reportFailed(err: unknown): void {
    this.log('warn', 'could not report a damaged copy; fsck will find it on its next pass', { fid: this.file.fid, error: describeError(err) });
  }

  /** A read error: evidence against the copy (missing, shorter than asked) or just the node. */
  async readFailed(replica: ReplicaLocation, err: unknown): Promise<void> {
    if (isMogError(err, ErrorCodes.NOT_FOUND)) return this.copyIsBad(replica.devid, 'the node has no such copy');
    if (isMogError(err, ErrorCodes.INVALID_OFFSET)) return this.copyIsBad(replica.devid, 'the copy is shorter than the file');
    this.tracker.reportDeviceFailure(replica.devid);
    this.failures.push(`device ${replica.devid}: ${describeError(err)}`);
  }

  noReplica(): Error {
    return mogError(
      ErrorCodes.NO_REPLICAS,
      this.failures.length
        ? `No storage node could serve the rest of the file (${this.failures.join('; ')})`
        : 'No replica of this file is reachable right now',
    );
  }
}

function newHash(file: FileRow) {
  return createHash(file.checksumAlg === 'md5' ? 'md5' : 'sha256');
}

async function* replicaBytes(tracker: Tracker, client: StorageClient, file: FileRow, start: number, opts: DownloadOptions): AsyncGenerator<Buffer> {
  const ctx = new ReadContext(tracker, file, opts.log);
  const limit = opts.verifyBeforeSend ?? DEFAULT_VERIFY_BEFORE_SEND;
  if (file.checksum !== null && file.length > 0 && file.length <= limit && buffered < MAX_BUFFERED_READS) {
    buffered++;
    try {
      yield* verifiedFirst(ctx, client, start, await (opts.replicas ?? tracker.replicasFor(file.fid)));
    } finally {
      buffered--;
    }
    return;
  }
  yield* streamedRead(ctx, client, start, opts);
}

/** Reads one replica whole into memory, hashing it; returns its chunks, or the fault of the copy. */
async function readWhole(ctx: ReadContext, client: StorageClient, replica: ReplicaLocation): Promise<Buffer[] | CopyFault> {
  const { file } = ctx;
  const hash = newHash(file);
  const chunks: Buffer[] = [];
  let pos = 0;
  const { stream } = await client.get(replicaUrl(replica, file.fid), { start: 0, end: file.length - 1 });
  for await (const raw of stream as AsyncIterable<Buffer>) {
    const chunk = raw.length > file.length - pos ? raw.subarray(0, file.length - pos) : raw;
    pos += chunk.length;
    hash.update(chunk);
    chunks.push(chunk);
    if (pos >= file.length) break;
  }
  if (pos < file.length) return `ended at byte ${pos} of ${file.length}`;
  if (hash.digest('hex') !== file.checksum) return `${file.checksumAlg} mismatch`;
  return chunks;
}

async function* verifiedFirst(ctx: ReadContext, client: StorageClient, start: number, replicas: ReplicaLocation[]): AsyncGenerator<Buffer> {
  let mismatch = false;
  for (const replica of replicas) {
    let got: Buffer[] | CopyFault;
    try {
      got = await readWhole(ctx, client, replica);
    } catch (err) {
      await ctx.readFailed(replica, err);
      continue;
    }
    if (typeof got === 'string') {
      mismatch = true;
      await ctx.copyIsBad(replica.devid, got);
      continue;
    }
    let pos = 0;
    for (const chunk of got) {
      const from = pos;
      pos += chunk.length;
      if (pos <= start) continue;
      const part = from >= start ? chunk : chunk.subarray(start - from);
      for (let i = 0; i < part.length; i += SEND_CHUNK) yield part.subarray(i, i + SEND_CHUNK);
    }
    return;
  }
  if (mismatch) throw mogError(ErrorCodes.CHECKSUM_MISMATCH, 'Every readable copy of this file failed its checksum; nothing was sent');
  throw ctx.noReplica();
}

function streamedRead(ctx: ReadContext, client: StorageClient, start: number, opts: DownloadOptions): AsyncGenerator<Buffer> {
  const { file, tracker } = ctx;
  const verify = file.checksum !== null && (start === 0 || (opts.verifyResume === true && start <= VERIFIED_RESUME_LIMIT));
  return streamed(ctx, client, start, verify, () => opts.replicas ?? tracker.replicasFor(file.fid));
}
