// The streamed read of a file too large to verify before sending (download.ts says when): its
// bytes go out as they come, the LAST chunk held back until the whole file has matched its
// checksum, so a damaged copy is cut short and never arrives complete.
//
// Who checks the bytes (issue 19): a node that can (ours) hashes the replica as it reads it from
// its disk and sends the digest as a Content-Digest trailer; the front-end then only compares
// that digest with the recorded checksum before it lets the last chunk go. A node that sends no
// trailer (nginx, mogstored) is hashed here, as before.
//
// Failing over: a copy that breaks off mid-stream is continued from the next one at the byte
// reached. Under a front-end hash that is all. Under a node's digest, the node that vouched for
// the bytes sent so far is gone with its digest, so the next copy is read from byte 0 and is
// vouched for whole (its own trailer, or a hash here from 0); the bytes before the break are not
// sent again but must be the ones already sent: a CRC-32 of everything received, kept while a
// node vouches (a few times cheaper than sha256), is compared with the CRC-32 of the new copy's
// same bytes. A difference means the client already has bytes of a copy that is not this one,
// and the read fails before its last chunk.
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { ErrorCodes, isMogError, mogError } from '../errors.ts';
import type { StorageClient } from '../storage/client.ts';
import type { GetResult } from '../storage/client-get.ts';
import type { DigestAlg } from '../storage/digest.ts';
import { replicaUrl } from '../storage/layout.ts';
import type { ReplicaLocation } from '../tracker/tracker.ts';
import type { FileRow } from '../tracker/types.ts';

/** What the streamed read needs of download.ts's ReadContext. */
export interface StreamContext {
  readonly file: FileRow;
  copyIsBad(devid: number, reason: string): Promise<void>;
  fileIsSuspect(reason: string): Promise<void>;
  readFailed(replica: ReplicaLocation, err: unknown): Promise<void>;
  noReplica(): Error;
}

function mismatch(): Error {
  return mogError(ErrorCodes.CHECKSUM_MISMATCH, 'The stored data failed its checksum; transfer aborted');
}

/** One streamed read: where it is, and what vouches for the bytes received so far. */
class StreamState {
  readonly alg: DigestAlg;
  /** The front-end's own hash of bytes [0, pos), once a node did not vouch for them; null before. */
  hash: Hash | null = null;
  /** CRC-32 of bytes [0, pos) while no hash here covers them (a node's digest will). */
  crc = 0;
  /** Bytes received (with a check: from 0; without: from the start offset). */
  pos: number;
  /** The last chunk received, not sent yet: it waits for the next, or for the check. */
  held: Buffer | null = null;
  /** The devices whose bytes went into `hash`: a mismatch is pinned on a copy only when one served them all. */
  readonly sources = new Set<number>();
  /** Set when a node's digest of the whole file matched the checksum. */
  vouched = false;

  constructor(
    readonly ctx: StreamContext,
    readonly start: number,
    readonly verify: boolean,
  ) {
    this.alg = ctx.file.checksumAlg === 'md5' ? 'md5' : 'sha256';
    // With a check, reading starts at 0 and the prefix before `start` is checked, not sent.
    this.pos = verify ? 0 : start;
  }

  /** Where the next copy is read from: 0 when the bytes so far were vouched for by a node that is gone. */
  nextFrom(): number {
    return this.verify && this.hash === null ? 0 : this.pos;
  }

  /** The bytes of `chunk` (received at `from`) to send now, honouring the held-back last chunk. */
  *accept(chunk: Buffer, from: number, devid: number): Generator<Buffer> {
    if (this.hash) {
      this.hash.update(chunk);
      this.sources.add(devid);
    } else if (this.verify) this.crc = crc32(chunk, this.crc);
    this.pos = from + chunk.length;
    if (this.pos <= this.start) return;
    const out = from >= this.start ? chunk : chunk.subarray(this.start - from);
    if (!this.verify) {
      yield out;
      return;
    }
    if (this.held) yield this.held;
    this.held = out;
  }
}

/** Reads one copy from `from`; resolves true when the file is complete (and, under a node's digest, vouched for). */
async function* readCopy(s: StreamState, client: StorageClient, replica: ReplicaLocation): AsyncGenerator<Buffer, boolean> {
  const { file } = s.ctx;
  const from = s.nextFrom();
  // Bytes before `reached` came from an earlier copy: re-read for the check, not sent again.
  const reached = s.pos;
  const askDigest = s.verify && from === 0;
  const got = await client.get(replicaUrl(replica, file.fid), { start: from, end: file.length - 1, ...(askDigest ? { digest: s.alg } : {}) });
  const byNode = got.digest !== null;
  const fresh = askDigest && !byNode;
  if (fresh) s.hash = createHash(s.alg);
  let at = from;
  try {
    return yield* readBody(s, got, replica, from, reached, byNode, (n) => (at = n));
  } finally {
    // A hash begun here that never caught up with the bytes already received covers too little:
    // the next copy starts over from 0.
    if (fresh && at < reached) {
      s.hash = null;
      s.sources.clear();
    }
  }
}

/** The body of one copy's answer (readCopy); `moved` follows the byte reached. */
async function* readBody(s: StreamState, got: GetResult, replica: ReplicaLocation, from: number, reached: number, byNode: boolean, moved: (at: number) => void): AsyncGenerator<Buffer, boolean> {
  const { file } = s.ctx;
  let at = from;
  let recrc = 0;
  for await (const raw of got.stream as AsyncIterable<Buffer>) {
    // Never pass on more than the file's recorded length, whatever a node sends.
    let chunk = raw.length > file.length - at ? raw.subarray(0, file.length - at) : raw;
    if (at < reached) {
      const old = chunk.subarray(0, Math.min(chunk.length, reached - at));
      recrc = crc32(old, recrc);
      s.hash?.update(old);
      if (s.hash) s.sources.add(replica.devid);
      at += old.length;
      moved(at);
      chunk = chunk.subarray(old.length);
      if (at === reached && recrc !== s.crc) {
        await s.ctx.fileIsSuspect(`a copy on device ${replica.devid} differs, before byte ${reached}, from the copy the read began with`);
        throw mismatch();
      }
    }
    if (chunk.length > 0) {
      yield* s.accept(chunk, at, replica.devid);
      at += chunk.length;
      moved(at);
    }
    // Under a node's digest the body is read to its end: the trailer comes after the last byte.
    if (at >= file.length && !byNode) break;
  }
  if (at < file.length) {
    // The node holds fewer bytes than the file has: a damaged copy, for fsck to repair.
    await s.ctx.copyIsBad(replica.devid, `ended at byte ${at} of ${file.length}`);
    return false;
  }
  if (!byNode) return true;
  const digest = got.digest!();
  if (digest === null) throw mogError(ErrorCodes.NODE_UNAVAILABLE, `the node of device ${replica.devid} announced a digest and sent none`);
  if (digest !== file.checksum) {
    // This node's bytes of the whole file came from this copy alone.
    await s.ctx.copyIsBad(replica.devid, `${file.checksumAlg} mismatch (the node's digest)`);
    throw mismatch();
  }
  s.vouched = true;
  return true;
}

export async function* streamed(ctx: StreamContext, client: StorageClient, start: number, verify: boolean, replicas: () => Promise<ReplicaLocation[]>): AsyncGenerator<Buffer> {
  const { file } = ctx;
  const s = new StreamState(ctx, start, verify);
  if (s.pos < file.length) {
    let done = false;
    for (const replica of await replicas()) {
      try {
        done = yield* readCopy(s, client, replica);
      } catch (err) {
        if (isMogError(err, ErrorCodes.CHECKSUM_MISMATCH)) throw err;
        await ctx.readFailed(replica, err);
      }
      if (done) break;
    }
    if (!done) throw ctx.noReplica();
  }
  if (s.hash && !s.vouched && s.hash.digest('hex') !== file.checksum) {
    const reason = `${file.checksumAlg} mismatch`;
    if (s.sources.size === 1) await ctx.copyIsBad([...s.sources][0]!, reason);
    else await ctx.fileIsSuspect(`${reason} over copies on devices ${[...s.sources].join(', ')}`);
    throw mismatch();
  }
  if (s.held) yield s.held;
}
