// The storage node daemon: plain HTTP over device directories DIR/dev<devid>/, in MogileFS's
// replica layout. A new replica is streamed to its final name with an "in progress" mode, hashed
// on the way, then given its real mode and fsynced (file and directory); a replica that already
// exists is replaced through a temp file and a rename. Either way a replica is whole or absent
// to GET and HEAD, which treat an in-progress file as missing.
// Memory stays constant whatever the size: request bodies are written in bounded batches (the
// socket waits when 1 MiB is queued); downloads go out through two reused buffers; and a
// minor GC every few MiB moved keeps spent chunks from piling up (bench/storage-rss.ts checks).
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { lstat, mkdir, open, readdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { constants, lstatSync, unlinkSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ErrorCodes, describeError, mogError } from '../errors.ts';
import { verifyRequest } from './auth.ts';
import type { StorageKey } from './auth.ts';
import { parseChecksumAlg, parseContentDigest } from './digest.ts';
import { FileSink } from './file-sink.ts';
import { IN_PROGRESS_MODE } from './layout.ts';
import { parseTarget } from './node-target.ts';
import type { Target } from './node-target.ts';
import { parseRange } from './range.ts';
import { renderUsage } from './usage.ts';
import { MAX_LIST_LIMIT, parseListQuery, sendListing } from './listing.ts';

export interface StorageNodeOptions {
  /** The directory holding dev<devid>/ subdirectories; must exist. */
  root: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /**
   * The cluster's storage key: every request must be signed with it (src/storage/auth.ts).
   * Required unless insecureNoAuth is set.
   */
  key?: StorageKey;
  /** Serve without checking anyone (loopback addresses only): tests, a laptop. */
  insecureNoAuth?: boolean;
  /**
   * Deprecated: `Authorization: Bearer <token>` is also accepted (with a key), or required
   * (with insecureNoAuth), for front-ends not yet given the key during an upgrade.
   */
  token?: string;
  /** A connection idle this long in the middle of a request is dropped. Default 120 s. */
  idleTimeoutMs?: number;
  /** How long close() lets in-flight requests finish before cutting them off. Default 5 s. */
  graceMs?: number;
  /** Where unexpected errors are reported. Default: stderr. */
  log?: (msg: string) => void;
  /** Called as each request's answer ends (or its connection drops): metrics. */
  onRequest?: (r: { method: string; status: number; durationMs: number }) => void;
}

export interface StorageNode {
  url: string;
  host: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish (up to graceMs), then cuts the rest. */
  close(): Promise<void>;
}

/** An HTTP answer with a JSON body {error, message}; `error` is a stable token the client maps. */
class HttpFail extends Error {
  constructor(
    readonly status: number,
    readonly token: string,
    message: string,
  ) {
    super(message);
  }
}

const CLIENT_GONE = 'client_gone';
const DONE_MODE = 0o644;
/** The temp files receiveFile writes: `.<file name>.<12 hex>.tmp`. */
const STALE_TEMP = /^\..+\.[0-9a-f]{12}\.tmp$/;
/** How long a device or directory, once proven inside the root, is taken on trust. */
const TRUST_MS = 2000;

export async function startStorageNode(opts: StorageNodeOptions): Promise<StorageNode> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? ((msg: string) => process.stderr.write(`mogftp storage: ${msg}\n`));
  const graceMs = opts.graceMs ?? 5000;
  let rootReal: string;
  try {
    rootReal = await realpath(opts.root);
    if (!(await stat(rootReal)).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `storage root ${opts.root} is not a usable directory: ${describeError(err)}`, err);
  }
  if (!opts.key && !opts.insecureNoAuth) {
    throw mogError(ErrorCodes.INVALID_ARGUMENT, 'a storage node needs the cluster storage key (or insecureNoAuth on a loopback address)');
  }
  if (!opts.key && !isLoopbackHost(host)) {
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `a storage node without a storage key may only listen on a loopback address, not ${host}`);
  }
  const key = opts.key ?? null;
  const expectedAuth = !key && opts.token ? sha256(`Bearer ${opts.token}`) : null;

  /** Temp and in-progress files being written, removed on shutdown whatever state their request is in. */
  const writing = new Set<string>();
  // A node killed outright (SIGKILL, power loss) leaves its temp and in-progress files behind.
  // The first upload into a directory after a start removes those older than the start: uploads
  // go to the directories of the newest fids, which is where a crash leaves them.
  const startedAt = Date.now();
  const sweptDirs = new Set<string>();
  const inFlight = new Set<Promise<void>>();

  // No whole-request timeout (a 2 GiB upload may take long); the idle timeout guards stalls.
  const server = http.createServer({ requestTimeout: 0 }, (req, res) => {
    if (opts.onRequest) {
      const started = performance.now();
      res.once('close', () => opts.onRequest!({ method: req.method ?? '', status: res.statusCode, durationMs: performance.now() - started }));
    }
    const p = serve(req, res);
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  });
  // Keep-alive sockets outlive the client agent's idle timeout, so the client, not us, closes
  // them: a client never reuses a socket we are closing at the same moment.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  server.setTimeout(opts.idleTimeoutMs ?? 120_000);

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (key) {
        const verdict = verifyRequest(key, req.method ?? '', req.url ?? '', header(req, 'authorization'), { legacyBearer: opts.token });
        if (!verdict.ok) throw new HttpFail(401, 'unauthorized', `this storage node needs a request signed with the cluster storage key (${verdict.why})`);
      } else if (expectedAuth && !authorized(req.headers.authorization, expectedAuth)) {
        throw new HttpFail(401, 'unauthorized', 'this storage node needs Authorization: Bearer <token>');
      }
      const target = parseTarget(req.url ?? '');
      if (!target) throw new HttpFail(400, 'bad_path', 'not a storage path');
      const devDir = await deviceDir(target.devid);
      await dispatch(req, res, target, devDir);
    } catch (err) {
      const fail = toHttpFail(err);
      const clientGone = (err as NodeJS.ErrnoException | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
      if (fail.status >= 500 && fail.status !== 507 && !clientGone) log(`${req.method} ${req.url}: ${describeError(err)}`);
      sendFail(res, fail);
    }
  }

  async function dispatch(req: IncomingMessage, res: ServerResponse, target: Target, devDir: string): Promise<void> {
    const method = req.method ?? '';
    if (target.kind === 'usage') {
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
      const body = await renderUsage(devDir, target.devid);
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(method === 'HEAD' ? undefined : body);
      return;
    }
    if (target.kind === 'dir') {
      // The device's replicas as JSON lines, for the orphan sweep (listing.ts); signed like any request.
      const list = target.rel === '' && method === 'GET' ? parseListQuery(req.url ?? '') : null;
      if (list === 'bad') throw new HttpFail(400, 'bad_list', `a listing takes after=FID and limit=1..${MAX_LIST_LIMIT}`);
      if (list) return sendListing(res, devDir, list.after, list.limit);
      if (method !== 'MKCOL') return methodNotAllowed(res, 'MKCOL');
      // PUT creates parents itself; MKCOL is accepted so WebDAV-style callers work unchanged.
      await checkedDir(devDir, join(devDir, target.rel), true);
      res.writeHead(201, { 'content-length': 0 }).end();
      return;
    }
    const file = join(devDir, target.rel);
    switch (method) {
      case 'GET':
      case 'HEAD':
        return serveFile(req, res, devDir, file, method === 'HEAD');
      case 'PUT':
        return receiveFile(req, res, devDir, file);
      case 'DELETE':
        return deleteFile(res, devDir, file);
      default:
        return methodNotAllowed(res, 'GET, HEAD, PUT, DELETE');
    }
  }

  // Each request would otherwise spend several file-system round trips (realpath, stat, mkdir)
  // re-proving that its device and directory lie inside the root; a positive answer is trusted
  // for a moment. Requests cannot create symlinks, so only someone with write access to the
  // device tree could change the answer, and not for longer than TRUST_MS.
  const trustedDevices = new Map<number, { real: string; until: number }>();
  const trustedDirs = new Map<string, number>();

  /** realpath of DIR/dev<devid>, which must be a directory inside DIR (symlinks included). */
  async function deviceDir(devid: number): Promise<string> {
    const now = Date.now();
    const hit = trustedDevices.get(devid);
    if (hit && hit.until > now) return hit.real;
    let real: string;
    try {
      real = await realpath(join(rootReal, `dev${devid}`));
    } catch (err) {
      if (isMissing(err)) throw new HttpFail(404, 'unknown_device', `no device dev${devid} on this node`);
      throw err;
    }
    if (!inside(rootReal, real)) throw new HttpFail(400, 'bad_path', `dev${devid} leads outside the storage root`);
    if (!(await stat(real)).isDirectory()) throw new HttpFail(404, 'unknown_device', `dev${devid} is not a directory`);
    trustedDevices.set(devid, { real, until: now + TRUST_MS });
    return real;
  }

  /** Proves `dir` (created first when `create`) resolves inside the device; ENOENT when absent. */
  async function checkedDir(devDir: string, dir: string, create: boolean): Promise<void> {
    const now = Date.now();
    if ((trustedDirs.get(dir) ?? 0) > now) return;
    if (create) await mkdir(dir, { recursive: true });
    const real = await realpath(dir);
    if (real !== devDir && !inside(devDir, real)) throw new HttpFail(400, 'bad_path', 'path leads outside the device');
    if (trustedDirs.size >= 10_000) trustedDirs.clear();
    trustedDirs.set(dir, now + TRUST_MS);
  }

  async function serveFile(req: IncomingMessage, res: ServerResponse, devDir: string, file: string, head: boolean): Promise<void> {
    // The directory is proven inside the device; O_NOFOLLOW (and lstat) refuse a symlinked file.
    let fh: FileHandle | null = null;
    let st: Stats;
    try {
      await checkedDir(devDir, dirname(file), false);
      if (head) {
        st = await lstat(file);
        if (st.isSymbolicLink()) throw symlinkRefused();
      } else {
        fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
        st = await fh.stat();
      }
    } catch (err) {
      await fh?.close().catch(() => {});
      if (isMissing(err)) throw new HttpFail(404, 'not_found', 'no such file');
      // Not running as root, an in-progress replica (write-only) cannot even be opened.
      if ((err as NodeJS.ErrnoException).code === 'EACCES' && (await inProgressAt(file))) throw new HttpFail(404, 'not_found', 'no such file');
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw symlinkRefused();
      throw err;
    }
    try {
      if (!st.isFile() || inProgress(st)) throw new HttpFail(404, 'not_found', 'no such file');
      const size = st.size;
      const range = parseRange(req.headers.range, size);
      const headers: http.OutgoingHttpHeaders = {
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
      headers['content-length'] = end - start + 1;
      res.writeHead(range.kind === 'partial' ? 206 : 200, headers);
      if (!fh || size === 0) {
        res.end();
        return;
      }
      await sendRange(fh, res, start, end);
    } finally {
      await fh?.close().catch(() => {});
    }
  }

  async function receiveFile(req: IncomingMessage, res: ServerResponse, devDir: string, file: string): Promise<void> {
    const alg = parseChecksumAlg(header(req, 'x-checksum-alg'));
    if (!alg) throw new HttpFail(400, 'bad_request', 'X-Checksum-Alg must be sha256, md5 or none');
    let expected: ReturnType<typeof parseContentDigest>;
    try {
      expected = parseContentDigest(header(req, 'content-digest'));
    } catch (err) {
      throw new HttpFail(400, 'bad_request', describeError(err));
    }
    const cl = header(req, 'content-length');
    const declared = cl === undefined ? null : Number(cl);

    const dir = dirname(file);
    await checkedDir(devDir, dir, true);
    if (!sweptDirs.has(dir)) {
      if (sweptDirs.size >= 100_000) sweptDirs.clear();
      sweptDirs.add(dir);
      void removeStaleTemps(dir);
    }
    // A new replica is written under its final name, marked in progress by its mode until it is
    // complete (GET and HEAD treat it as absent), which saves the rename. A replica that already
    // exists (a retried copy, an overwrite) is replaced atomically through a temp file beside it.
    let target = await createExclusive(devDir, dir, file);
    const direct = target !== null;
    target ??= await createExclusive(devDir, dir, join(dir, `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`), DONE_MODE);
    if (!target) throw new Error('cannot create a temp file beside the replica');
    const { fh, path } = target;
    writing.add(path);
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
        throw new HttpFail(400, 'length_mismatch', `received ${length} bytes, Content-Length said ${declared}`);
      }
      const hex = hash ? hash.digest('hex') : null;
      if (expected) {
        const actual = verify ? verify.digest() : Buffer.from(hex!, 'hex');
        if (!actual.equals(expected.bytes)) {
          throw new HttpFail(422, 'checksum_mismatch', `the body's ${expected.alg} does not match Content-Digest`);
        }
      }
      // The mode change is journalled with the data by the same fsync.
      if (direct) await fh.chmod(DONE_MODE);
      await fh.sync();
      open_ = false;
      await fh.close();
      if (!direct) await rename(path, file);
      placed = true;
      writing.delete(path);
      await fsyncDir(dir);
      sendJson(res, 201, { length, checksum: hex, alg });
    } catch (err) {
      await sink.settle();
      // Our own file's inode, so that we never remove one another upload has put in its place.
      const ino = open_ && direct && !placed ? await fh.stat().then((st) => st.ino, () => null) : null;
      if (open_) await fh.close().catch(() => {});
      if (direct && !placed) {
        if (ino !== null) await unlinkIfSame(path, ino);
      }
      else await unlink(placed ? file : path).catch(() => {});
      writing.delete(path);
      throw err;
    }
  }

  /**
   * Creates `path` (O_EXCL, never through a symlink) in the proven directory `dir`; null when it
   * already exists. A directory removed meanwhile is made again, but never a device directory.
   */
  async function createExclusive(devDir: string, dir: string, path: string, mode = IN_PROGRESS_MODE): Promise<{ fh: FileHandle; path: string } | null> {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    try {
      return { fh: await open(path, flags, mode), path };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
      if (!isMissing(err)) throw err;
    }
    // The trusted directory went away meanwhile (an operator tidying up).
    trustedDirs.clear();
    trustedDevices.clear();
    try {
      await stat(devDir);
    } catch {
      throw new HttpFail(404, 'unknown_device', 'the device directory is gone');
    }
    await checkedDir(devDir, dir, true);
    try {
      return { fh: await open(path, flags, mode), path };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
      throw err;
    }
  }

  async function removeStaleTemps(dir: string): Promise<void> {
    try {
      for (const name of await readdir(dir)) {
        const temp = STALE_TEMP.test(name);
        if (!temp && !name.endsWith('.fid')) continue;
        const path = join(dir, name);
        if (writing.has(path)) continue;
        const st = await lstat(path).catch(() => null);
        if (!st?.isFile() || st.mtimeMs >= startedAt) continue;
        if (temp || inProgress(st)) await unlink(path).catch(() => {});
      }
    } catch (err) {
      log(`cannot look for stale temp files in ${dir}: ${describeError(err)}`);
    }
  }

  async function deleteFile(res: ServerResponse, devDir: string, file: string): Promise<void> {
    try {
      await checkedDir(devDir, dirname(file), false);
      await unlink(file);
    } catch (err) {
      if (isMissing(err)) throw new HttpFail(404, 'not_found', 'no such file');
      throw err;
    }
    res.writeHead(204).end();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: opts.port ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 0);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | null = null;
  function close(): Promise<void> {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Connections that finish their request while we wait must not carry another one.
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      try {
        server.closeIdleConnections();
        if (!(await settleWithin(inFlight, graceMs))) {
          server.closeAllConnections();
          await settleWithin(inFlight, 2000);
        }
        server.closeAllConnections();
        await closed;
      } finally {
        clearInterval(sweep);
        // Belt and braces: a handler that never got to its own cleanup leaves no temp or
        // in-progress file (a complete replica that took its name meanwhile stays).
        for (const path of writing) {
          try {
            if (STALE_TEMP.test(basename(path)) || inProgress(lstatSync(path))) unlinkSync(path);
          } catch {
            // already gone
          }
        }
        writing.clear();
      }
    })();
    return closing;
  }

  return { url, host, port, close };
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
    const onGone = () => finish(new HttpFail(400, CLIENT_GONE, 'the client went away mid-body'));
    const onClose = () => {
      if (!req.complete) onGone();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onGone);
    req.on('close', onClose);
  });
}

/**
 * Node's HTTP parser hands over each body chunk in a freshly allocated buffer, freed only when
 * the GC next runs; left alone, tens of MB of spent chunks (and of the promises around each
 * chunk, uploads and downloads alike) pile up between collections. A minor collection (a
 * scavenge: well under a millisecond with our small heap) after every few MiB moved keeps
 * that flat. `gc` is obtained the way Jest's leak detector
 * does it: enable the flag, fetch the function from a fresh context, disable the flag again.
 */
const GC_EVERY_BYTES = 4 * 1024 * 1024;
const minorGc = obtainGc();
let movedSinceGc = 0;

function collectGarbageEvery(bytes: number): void {
  movedSinceGc += bytes;
  if (movedSinceGc < GC_EVERY_BYTES || !minorGc) return;
  movedSinceGc = 0;
  minorGc();
}

function obtainGc(): (() => void) | null {
  try {
    let gc = (globalThis as { gc?: unknown }).gc;
    if (typeof gc !== 'function') {
      v8.setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc');
      v8.setFlagsFromString('--no-expose-gc');
    }
    const fn = gc as (opts?: object) => void;
    return () => fn({ type: 'minor' });
  } catch {
    return null;
  }
}

// Each chunk costs a thread-pool read and a write callback; at 64 KiB that latency, not the
// disk or the socket, set the pace (about 440 MB/s here against 850 MB/s at 512 KiB).
const SEND_CHUNK = 512 * 1024;

/**
 * Sends bytes [start, end] of a file through two buffers used in turn: one is read into while
 * the other drains into the socket. Nothing is allocated per chunk, so memory stays flat
 * however long the file (a read stream would leave a 64 KiB buffer of garbage per chunk for
 * the GC to find later). The buffers are no larger than the range: small files stay cheap.
 */
async function sendRange(fh: FileHandle, res: ServerResponse, start: number, end: number): Promise<void> {
  const size = Math.min(SEND_CHUNK, end - start + 1);
  const bufs = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  const draining: Array<Promise<void>> = [Promise.resolve(), Promise.resolve()];
  // Settles when the client goes away: a write to a dead socket need not call back.
  let onClose = () => {};
  const gone = new Promise<never>((_, reject) => {
    onClose = () => reject(new HttpFail(400, CLIENT_GONE, 'the client went away mid-body'));
  });
  gone.catch(() => {});
  res.once('close', onClose);
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
    }
    await Promise.race([Promise.all(draining), gone]);
    await Promise.race([new Promise<void>((resolve) => res.end(resolve)), gone]);
  } finally {
    res.off('close', onClose);
  }
}

/** A replica still being written under its final name (see IN_PROGRESS_MODE). */
function inProgress(st: Stats): boolean {
  return (st.mode & 0o777) === IN_PROGRESS_MODE;
}

async function inProgressAt(path: string): Promise<boolean> {
  const st = await lstat(path).catch(() => null);
  return st !== null && inProgress(st);
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

function symlinkRefused(): HttpFail {
  return new HttpFail(400, 'bad_path', 'symlinked files are not served');
}

function inside(parent: string, child: string): boolean {
  return child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function toHttpFail(err: unknown): HttpFail {
  if (err instanceof HttpFail) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new HttpFail(507, 'device_full', 'no space left on the device');
  if (code === 'EROFS') return new HttpFail(500, 'read_only', 'the device is mounted read-only');
  return new HttpFail(500, 'internal', describeError(err));
}

function sendFail(res: ServerResponse, fail: HttpFail): void {
  if (fail.token === CLIENT_GONE || res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  if (fail.status === 401) res.setHeader('www-authenticate', 'MogSig');
  sendJson(res, fail.status, { error: fail.token, message: fail.message });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  sendJson(res, 405, { error: 'method_not_allowed', message: `allowed: ${allow}` });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Compares digests, not strings, so neither content nor length leaks through timing. */
function authorized(header: string | undefined, expected: Buffer): boolean {
  return header !== undefined && timingSafeEqual(sha256(header.trim()), expected);
}

/** 127.0.0.0/8, ::1 (also v4-mapped) and localhost: addresses no other machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^(?:::ffff:)?127(?:\.[0-9]{1,3}){3}$/.test(h);
}

/** Resolves true once every promise in the (live) set has settled, false after `ms`. */
async function settleWithin(set: Set<Promise<void>>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (set.size > 0) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...set]),
      new Promise((r) => {
        timer = setTimeout(r, left);
      }),
    ]);
    clearTimeout(timer);
  }
  return true;
}
