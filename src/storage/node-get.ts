// GET and HEAD of a replica on the storage node: whole or one byte range, never a file still in
// progress nor one reached through a symlink. Downloads go out through two reused buffers, so
// memory stays flat whatever the size. A GET with Want-Content-Digest (RFC 9530) gets the digest
// of the bytes sent as a Content-Digest trailer: the node hashes what it reads from the disk, so
// the front-end need not hash the stream itself (issue 19).
import { createHash, type Hash } from 'node:crypto';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { constants, type Stats } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatContentDigest, type DigestAlg } from './digest.ts';
import { NodeFailure } from './failures.ts';
import { isInProgress } from './layout.ts';
import { collectGarbageEvery } from './node-gc.ts';
import { HttpFail, clientGone, isMissing } from './node-http.ts';
import type { NodeState } from './node-state.ts';
import { parseRange } from './range.ts';

// Each chunk costs a thread-pool read and a write callback; at 64 KiB that latency, not the
// disk or the socket, set the pace (about 440 MB/s here against 850 MB/s at 512 KiB).
const SEND_CHUNK = 512 * 1024;

/** How a GET or HEAD asked for the replica. */
export interface FileAsk {
  range: string | undefined;
  head: boolean;
  /** The digest asked for by Want-Content-Digest, or null. */
  digest: DigestAlg | null;
}

/** Answers GET (or HEAD, headers only) for the replica `file` on the device `devDir`. */
export async function serveFile(state: NodeState, ask: FileAsk, res: ServerResponse, devDir: string, file: string): Promise<void> {
  const { head } = ask;
  const { fh, st } = await openReplica(state, devDir, file, head);
  try {
    if (!st.isFile() || isInProgress(st)) throw notFound();
    const size = st.size;
    const range = parseRange(ask.range, size);
    const headers: OutgoingHttpHeaders = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      'last-modified': st.mtime.toUTCString(),
    };
    if (range.kind === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}`, 'content-length': 0 }).end();
      return;
    }
    const start = range.kind === 'partial' ? range.start : 0;
    const end = range.kind === 'partial' ? range.end : size - 1;
    if (range.kind === 'partial') headers['content-range'] = `bytes ${start}-${end}/${size}`;
    // A trailer needs chunked encoding, so no Content-Length: the client takes the length from
    // Content-Range, and a body cut short lacks the last chunk, which the client sees.
    const hash = fh && size > 0 && ask.digest && range.kind === 'partial' ? { alg: ask.digest, h: createHash(ask.digest) } : null;
    if (hash) headers.trailer = 'Content-Digest';
    else headers['content-length'] = end - start + 1;
    res.writeHead(range.kind === 'partial' ? 206 : 200, headers);
    if (!fh || size === 0) {
      res.end();
      return;
    }
    await sendRange(fh, res, start, end, hash?.h ?? null);
    if (hash) res.addTrailers({ 'content-digest': formatContentDigest(hash.alg, hash.h.digest('hex')) });
    await endResponse(res);
  } finally {
    await fh?.close().catch(() => {});
  }
}

/**
 * The replica's stats, and for GET an open handle. The directory is proven inside the device;
 * O_NOFOLLOW (and lstat) refuse a symlinked file.
 */
async function openReplica(state: NodeState, devDir: string, file: string, head: boolean): Promise<{ fh: FileHandle | null; st: Stats }> {
  let fh: FileHandle | null = null;
  try {
    await state.devices.checkedDir(devDir, dirname(file), false);
    if (head) {
      const st = await lstat(file);
      if (st.isSymbolicLink()) throw symlinkRefused();
      return { fh, st };
    }
    fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    return { fh, st: await fh.stat() };
  } catch (err) {
    await fh?.close().catch(() => {});
    if (isMissing(err)) throw notFound();
    // Not running as root, an in-progress replica (write-only) cannot even be opened.
    if ((err as NodeJS.ErrnoException).code === 'EACCES' && (await inProgressAt(file))) throw notFound();
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw symlinkRefused();
    throw err;
  }
}

/**
 * Sends bytes [start, end] of a file through two buffers used in turn: one is read into while
 * the other drains into the socket. Nothing is allocated per chunk, so memory stays flat
 * however long the file (a read stream would leave a 64 KiB buffer of garbage per chunk for
 * the GC to find later). The buffers are no larger than the range: small files stay cheap.
 */
async function sendRange(fh: FileHandle, res: ServerResponse, start: number, end: number, hash: Hash | null): Promise<void> {
  const size = Math.min(SEND_CHUNK, end - start + 1);
  const bufs = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  const draining: Array<Promise<void>> = [Promise.resolve(), Promise.resolve()];
  // A write to a dead socket need not call back: every wait also races the client going away.
  const { gone, stop } = untilClientGone(res);
  try {
    let pos = start;
    for (let i = 0; pos <= end; i ^= 1) {
      await Promise.race([draining[i], gone]);
      const buf = bufs[i]!;
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos + 1), pos);
      if (bytesRead === 0) throw new Error('the file ended early (truncated while being read?)');
      pos += bytesRead;
      collectGarbageEvery(bytesRead);
      draining[i] = new Promise<void>((resolve, reject) => {
        res.write(buf.subarray(0, bytesRead), (err) => (err ? reject(err) : resolve()));
      });
      draining[i]!.catch(() => {}); // awaited in turn; must not count as unhandled meanwhile
      // Hashed after the write is under way, so the reader already has these bytes meanwhile;
      // the buffer is not read into again before this write has drained.
      hash?.update(buf.subarray(0, bytesRead));
    }
    await Promise.race([Promise.all(draining), gone]);
  } finally {
    stop();
  }
}

/** Ends the response (the trailer, if any, goes with the last chunk); rejects if the client goes first. */
async function endResponse(res: ServerResponse): Promise<void> {
  const { gone, stop } = untilClientGone(res);
  try {
    await Promise.race([new Promise<void>((resolve) => res.end(resolve)), gone]);
  } finally {
    stop();
  }
}

/**
 * `gone` rejects (clientGone) when the response closes before `stop()` is called; it never
 * resolves, so it is only ever raced. Its rejection is marked handled: a race that ended
 * otherwise must not leave an unhandled rejection behind when the client leaves later.
 */
function untilClientGone(res: ServerResponse): { gone: Promise<never>; stop: () => void } {
  let onClose = () => {};
  const gone = new Promise<never>((_, reject) => {
    onClose = () => reject(clientGone());
  });
  gone.catch(() => {});
  res.once('close', onClose);
  return { gone, stop: () => res.off('close', onClose) };
}

async function inProgressAt(path: string): Promise<boolean> {
  const st = await lstat(path).catch(() => null);
  return st !== null && isInProgress(st);
}

function notFound(): HttpFail {
  return new HttpFail(404, NodeFailure.NOT_FOUND, 'no such file');
}

function symlinkRefused(): HttpFail {
  return new HttpFail(400, NodeFailure.BAD_PATH, 'symlinked files are not served');
}
