// PUT of a replica on the storage node. A new replica is streamed to its final name with an "in
// progress" mode, hashed on the way, then given its real mode and fsynced (file and directory);
// a replica that already exists is replaced through a temp file and a rename. Either way a
// replica is whole or absent to GET and HEAD, which treat an in-progress file as missing.
// Request bodies are written in bounded batches (file-sink.ts): the socket waits when 1 MiB is
// queued, so memory stays constant whatever the size.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ChecksumAlg } from '../checksum.ts';
import { describeError } from '../errors.ts';
import { parseChecksumAlg, parseContentDigest } from './digest.ts';
import { NodeFailure, type PutAnswerBody } from './failures.ts';
import { FileSink } from './file-sink.ts';
import { IN_PROGRESS_MODE } from './layout.ts';
import { collectGarbageEvery } from './node-gc.ts';
import { HttpFail, clientGone, header, isMissing, sendJson } from './node-http.ts';
import type { NodeState } from './node-state.ts';
import { tempPathBeside } from './node-sweep.ts';

const DONE_MODE = 0o644;

interface PutHeaders {
  alg: ChecksumAlg;
  /** The digest Content-Digest promises, to check the body against. */
  expected: ReturnType<typeof parseContentDigest>;
  /** Content-Length, when the body announced one. */
  declared: number | null;
}

/** The file the body goes to: the replica itself (`direct`) or a temp file beside it. */
interface OpenTarget {
  fh: FileHandle;
  path: string;
  direct: boolean;
}

/** Answers PUT: stores the body as the replica `file` on the device `devDir`. */
export async function receiveFile(state: NodeState, req: IncomingMessage, res: ServerResponse, devDir: string, file: string): Promise<void> {
  const { alg, expected, declared } = putHeaders(req);
  const dir = dirname(file);
  await state.devices.checkedDir(devDir, dir, true);
  state.unfinished.sweepOnce(dir);
  const { fh, path, direct } = await openTarget(state, devDir, file);
  state.unfinished.add(path);
  let open_ = true;
  let placed = false;
  const sink = new FileSink(fh);
  try {
    const hash = alg === 'none' ? null : createHash(alg);
    const verify = expected && expected.alg !== alg ? createHash(expected.alg) : null;
    const length = await readBody(req, async (chunk) => {
      hash?.update(chunk);
      verify?.update(chunk);
      collectGarbageEvery(chunk.length);
      await sink.push(chunk);
    });
    await sink.finish();
    if (declared !== null && length !== declared) {
      throw new HttpFail(400, NodeFailure.LENGTH_MISMATCH, `received ${length} bytes, Content-Length said ${declared}`);
    }
    const hex = hash ? hash.digest('hex') : null;
    if (expected) {
      const actual = verify ? verify.digest() : Buffer.from(hex!, 'hex');
      if (!actual.equals(expected.bytes)) {
        throw new HttpFail(422, NodeFailure.CHECKSUM_MISMATCH, `the body's ${expected.alg} does not match Content-Digest`);
      }
    }
    // The mode change is journalled with the data by the same fsync.
    if (direct) await fh.chmod(DONE_MODE);
    await fh.sync();
    open_ = false;
    await fh.close();
    if (!direct) await rename(path, file);
    placed = true;
    state.unfinished.delete(path);
    await fsyncDir(dir);
    const answer: PutAnswerBody = { length, checksum: hex, alg };
    sendJson(res, 201, answer);
  } catch (err) {
    await sink.settle();
    // Our own file's inode, so that we never remove one another upload has put in its place.
    const ino = open_ && direct && !placed ? await fh.stat().then((st) => st.ino, () => null) : null;
    if (open_) await fh.close().catch(() => {});
    if (direct && !placed) {
      if (ino !== null) await unlinkIfSame(path, ino);
    } else await unlink(placed ? file : path).catch(() => {});
    state.unfinished.delete(path);
    throw err;
  }
}

function putHeaders(req: IncomingMessage): PutHeaders {
  const alg = parseChecksumAlg(header(req, 'x-checksum-alg'));
  if (!alg) throw new HttpFail(400, NodeFailure.BAD_REQUEST, 'X-Checksum-Alg must be sha256, md5 or none');
  let expected: PutHeaders['expected'];
  try {
    expected = parseContentDigest(header(req, 'content-digest'));
  } catch (err) {
    throw new HttpFail(400, NodeFailure.BAD_REQUEST, describeError(err));
  }
  const cl = header(req, 'content-length');
  return { alg, expected, declared: cl === undefined ? null : Number(cl) };
}

/**
 * A new replica is written under its final name, marked in progress by its mode until it is
 * complete (GET and HEAD treat it as absent), which saves the rename. A replica that already
 * exists (a retried copy, an overwrite) is replaced atomically through a temp file beside it.
 */
async function openTarget(state: NodeState, devDir: string, file: string): Promise<OpenTarget> {
  const dir = dirname(file);
  const fh = await createExclusive(state, devDir, dir, file);
  if (fh) return { fh, path: file, direct: true };
  const temp = tempPathBeside(file);
  const tempFh = await createExclusive(state, devDir, dir, temp, DONE_MODE);
  if (!tempFh) throw new Error('cannot create a temp file beside the replica');
  return { fh: tempFh, path: temp, direct: false };
}

/**
 * Creates `path` (O_EXCL, never through a symlink) in the proven directory `dir`; null when it
 * already exists. A directory removed meanwhile is made again, but never a device directory.
 */
async function createExclusive(state: NodeState, devDir: string, dir: string, path: string, mode = IN_PROGRESS_MODE): Promise<FileHandle | null> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  try {
    return await open(path, flags, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    if (!isMissing(err)) throw err;
  }
  // The trusted directory went away meanwhile (an operator tidying up).
  state.devices.forgetTrust();
  try {
    await stat(devDir);
  } catch {
    throw new HttpFail(404, NodeFailure.UNKNOWN_DEVICE, 'the device directory is gone');
  }
  await state.devices.checkedDir(devDir, dir, true);
  try {
    return await open(path, flags, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw err;
  }
}

/**
 * Reads the request body one chunk at a time: the socket stays paused until `onChunk` has
 * finished with the chunk, which is what bounds memory. Resolves with the byte count once the
 * body is complete; rejects if the client goes away first or `onChunk` fails (then the rest of
 * the body is drained and discarded, so the error answer can still reach the client).
 */
function readBody(req: IncomingMessage, onChunk: (chunk: Buffer) => Promise<void>): Promise<number> {
  return new Promise((resolve, reject) => {
    let count = 0;
    let busy = false;
    let ended = false;
    let done = false;
    const finish = (err: unknown) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('close', onClose);
      if (err) {
        req.on('error', () => {});
        req.resume();
        reject(err);
      } else {
        resolve(count);
      }
    };
    const onData = (chunk: Buffer) => {
      count += chunk.length;
      busy = true;
      req.pause();
      onChunk(chunk).then(
        () => {
          busy = false;
          if (ended) finish(null);
          else if (!done) req.resume();
        },
        (err: unknown) => finish(err),
      );
    };
    const onEnd = () => {
      ended = true;
      if (!busy) finish(null);
    };
    const onGone = () => finish(clientGone());
    const onClose = () => {
      if (!req.complete) onGone();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onGone);
    req.on('close', onClose);
  });
}

/** Removes a failed replica written in place, unless another upload's file has taken the name since. */
async function unlinkIfSame(path: string, ino: number): Promise<void> {
  const st = await lstat(path).catch(() => null);
  if (st && st.ino === ino) await unlink(path).catch(() => {});
}

async function fsyncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
