// The HTTP client every component uses to talk to storage nodes (ours or any WebDAV server such
// as nginx). One keep-alive agent per client; every failure becomes a coded MogError.
import http from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { Readable, Transform, Writable, pipeline } from 'node:stream';
import got from 'got';
import type { Got } from 'got';
import { ErrorCodes, MogError, describeError, mogError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import type { ChecksumAlg } from '../tracker/types.ts';
import { NGINX_HEADER, authorizationFor, signUrl } from './auth.ts';
import type { StorageKey } from './auth.ts';
import { formatContentDigest } from './digest.ts';
import { parseUsage } from './usage.ts';
import type { NodeUsage } from './usage.ts';

export type { NodeUsage } from './usage.ts';
import type { ListedFid } from './listing.ts';
export type { ListedFid } from './listing.ts';

export interface PutResult {
  /** Bytes the node stored (nginx reports nothing: then the bytes it accepted, i.e. that we sent). */
  length: number;
  /** Lower-case hex in the requested alg as computed by the node; null when it reports none (nginx). */
  checksum: string | null;
}

export interface PutOptions {
  length?: number;
  checksumAlg?: ChecksumAlg;
  expectChecksum?: string;
}

/** Per-call limits. */
export interface CallOptions {
  /** The whole exchange (for get: body included) must finish within this many ms. */
  timeoutMs?: number;
  /** Retries of GET/HEAD/DELETE after a stale keep-alive socket; default: the client's. */
  retries?: number;
}

export interface StorageClientOptions {
  /** The cluster's storage key: every request is signed with it (src/storage/auth.ts). */
  key?: StorageKey | undefined;
  /** Deprecated: also send `Authorization: Bearer <token>` (nodes still on --token alone). */
  token?: string | undefined;
  /** Default 3 s. */
  connectTimeoutMs?: number;
  /** A socket silent this long mid-request fails it. Default 60 s (a node fsyncs a large file before answering). */
  idleTimeoutMs?: number;
  /**
   * While we wait on the node (a PUT body it does not take, a GET's headers, a GET body we are
   * ready for), this long without progress fails the request. Time in which we are not asking
   * (the caller is not writing, or reads slowly) never counts, so a healthy node is not blamed
   * for a slow peer. Default 15 s.
   */
  stallTimeoutMs?: number;
  /** Retries of idempotent requests after ECONNRESET/EPIPE. Default 1. */
  retries?: number;
}

/** Why a node answered with an error status: kept as the MogError's cause. */
class NodeAnswer extends Error {
  constructor(
    readonly status: number,
    readonly token: string | null,
    message: string,
  ) {
    super(message);
    this.name = 'NodeAnswer';
  }
}

/** The HTTP status a node answered with, or null when the error came without an answer. */
export function httpStatusOf(err: unknown): number | null {
  return err instanceof MogError && err.cause instanceof NodeAnswer ? err.cause.status : null;
}

/** True for a NODE_UNAVAILABLE error where no HTTP answer came at all (refused, reset, timed out). */
export function isNoAnswer(err: unknown): boolean {
  return err instanceof MogError && err.code === ErrorCodes.NODE_UNAVAILABLE && !(err.cause instanceof NodeAnswer);
}

const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE']);
const MAX_ERROR_BODY = 16 * 1024;

export class StorageClient {
  /** Shared by got and the raw PUTs so both reuse the same warm sockets. */
  readonly agent: http.Agent;
  private readonly gotClient: Got;
  private readonly key: StorageKey | undefined;
  private readonly token: string | undefined;
  private readonly connectTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly stallTimeoutMs: number;
  private readonly retries: number;

  constructor(opts: StorageClientOptions = {}) {
    this.key = opts.key;
    this.token = opts.token || undefined;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 3000;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
    this.stallTimeoutMs = opts.stallTimeoutMs ?? 15_000;
    this.retries = opts.retries ?? 1;
    // Idle sockets are dropped after 15 s: well before our node (65 s) or nginx (75 s) would
    // close them, so we never send on a socket the server is closing.
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 128, timeout: 15_000, scheduling: 'lifo' });
    this.gotClient = got.extend({
      agent: { http: this.agent },
      throwHttpErrors: false,
      decompress: false,
      followRedirect: false,
      timeout: { connect: this.connectTimeoutMs, socket: this.idleTimeoutMs },
      retry: {
        limit: this.retries,
        methods: ['GET', 'HEAD', 'DELETE'],
        statusCodes: [],
        errorCodes: [...STALE_SOCKET],
        calculateDelay: ({ computedValue }) => (computedValue === 0 ? 0 : 20),
      },
    });
  }

  /**
   * What proves a request is ours: a signature over method, path and expiry; the nginx header
   * for nginx nodes; with neither a key nor a token, nothing (a node run with --insecure-no-auth).
   * A key's signature takes the Authorization header; the deprecated token has it only alone.
   */
  private credentials(method: string, url: string): Record<string, string> {
    if (this.key) return { authorization: authorizationFor(this.key, method, url), [NGINX_HEADER]: this.key.nginxHeader };
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  /** `url` signed for one `method` for `ttlS` seconds, for a client that holds no key (MogileFS-style). */
  signedUrl(method: string, url: string, ttlS: number): string {
    if (!this.key) throw mogError(ErrorCodes.INVALID_ARGUMENT, 'signed URLs need the storage key');
    return signUrl(this.key, method, url, ttlS);
  }

  /**
   * Streaming PUT. Implemented on node:http rather than got: got's duplex stream buffers and
   * re-emits the body through its own machinery and only exposes the response through events on
   * that duplex, which makes "answer arrived early (507, 401) while we are still writing" awkward
   * to surface; it also costs measurably more per request than a bare ClientRequest on the same
   * keep-alive agent, and small-file uploads are a benchmark.
   *
   * `stream` needs no 'error' listener: every failure is also the rejection of `result`.
   */
  openPut(url: string, opts: PutOptions = {}, call: CallOptions = {}): { stream: Writable; result: Promise<PutResult> } {
    const alg = opts.checksumAlg ?? 'sha256';
    const length = opts.length;
    if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
      throw mogError(ErrorCodes.INVALID_ARGUMENT, `bad upload length ${length}`);
    }
    const headers: OutgoingHttpHeaders = { 'x-checksum-alg': alg };
    if (length !== undefined) headers['content-length'] = length;
    if (opts.expectChecksum !== undefined) {
      if (alg === 'none' || !/^[0-9a-f]+$/i.test(opts.expectChecksum)) {
        throw mogError(ErrorCodes.INVALID_ARGUMENT, 'expectChecksum needs a hex digest and a checksum algorithm');
      }
      headers['content-digest'] = formatContentDigest(alg, opts.expectChecksum.toLowerCase());
    }
    Object.assign(headers, this.credentials('PUT', url));

    let resolveResult!: (r: PutResult) => void;
    let rejectResult!: (e: MogError) => void;
    const result = new Promise<PutResult>((res, rej) => {
      resolveResult = res;
      rejectResult = rej;
    });
    result.catch(() => {}); // a caller that only destroys the stream must not crash the process

    let sent = 0;
    let settled = false;
    let answered = false;
    let failure: MogError | null = null;
    let waitingDrain: ((err?: Error | null) => void) | null = null;
    const timers: NodeJS.Timeout[] = [];
    let stall: NodeJS.Timeout | null = null;

    const req = http.request(url, { method: 'PUT', agent: this.agent, headers });

    const fail = (err: MogError) => {
      if (settled) return;
      settled = true;
      failure = err;
      timers.forEach(clearTimeout);
      if (stall) clearTimeout(stall);
      rejectResult(err);
      const cb = waitingDrain;
      waitingDrain = null;
      cb?.(err);
      if (!stream.destroyed) stream.destroy(err);
      req.destroy();
    };
    const succeed = (r: PutResult) => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      if (stall) clearTimeout(stall);
      resolveResult(r);
    };

    const stream = new Writable({
      highWaterMark: 64 * 1024,
      write: (chunk: Buffer, _enc, cb) => {
        if (failure) return cb(failure);
        sent += chunk.length;
        if (length !== undefined && sent > length) {
          const err = mogError(ErrorCodes.LENGTH_MISMATCH, `upload to ${url} got more than the announced ${length} bytes`);
          fail(err);
          return cb(err);
        }
        if (req.write(chunk)) return cb();
        waitingDrain = cb;
        // The node is not taking bytes we have for it: that, and only that, is a stall. (A
        // socket idle timeout would also fire when the caller merely stopped writing, as a
        // fan-out does while it waits for a slower replica.)
        stall = setTimeout(() => fail(noAnswer('PUT', url, timeoutError('stall', this.stallTimeoutMs))), this.stallTimeoutMs);
        req.once('drain', () => {
          if (stall) clearTimeout(stall);
          const w = waitingDrain;
          waitingDrain = null;
          w?.();
        });
      },
      final: (cb) => {
        if (failure) return cb(failure);
        if (length !== undefined && sent !== length) {
          const err = mogError(ErrorCodes.LENGTH_MISMATCH, `upload to ${url} ended after ${sent} of the announced ${length} bytes`);
          fail(err);
          return cb(err);
        }
        req.end();
        // The body is out: the node now writes, fsyncs and answers.
        req.setTimeout(this.idleTimeoutMs, () => fail(noAnswer('PUT', url, timeoutError('idle', this.idleTimeoutMs))));
        cb();
      },
      destroy: (err, cb) => {
        // autoDestroy also lands here after a normal finish: that is no abort.
        if (!settled && (err || !stream.writableFinished)) {
          fail(err instanceof MogError ? err : mogError(ErrorCodes.UPLOAD_ABORTED, `upload to ${url} was abandoned`, err ?? undefined));
        }
        cb(err);
      },
    });
    stream.on('error', () => {});

    req.on('socket', (socket) => {
      if (!socket.connecting) return;
      const t = setTimeout(() => fail(noAnswer('PUT', url, timeoutError('connect', this.connectTimeoutMs))), this.connectTimeoutMs);
      timers.push(t);
      socket.once('connect', () => clearTimeout(t));
    });
    if (call.timeoutMs !== undefined) {
      const ms = call.timeoutMs;
      timers.push(setTimeout(() => fail(noAnswer('PUT', url, timeoutError('request', ms))), ms));
    }
    req.on('error', (err) => fail(noAnswer('PUT', url, err)));
    req.on('close', () => {
      if (!answered) fail(noAnswer('PUT', url, new Error('connection closed before an answer')));
    });
    req.on('response', (res) => {
      answered = true;
      readSmallBody(res).then(
        (body) => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) return fail(answerError('PUT', url, status, body, putCodeFor));
          // writableEnded, not writableFinished: libuv may hand us the answer before the
          // completion of our last write, though the node could only answer after reading it.
          if (!req.writableEnded) {
            return fail(mogError(ErrorCodes.INTERNAL, `storage node answered ${status} to PUT ${url} before the body was sent`));
          }
          const reported = parseJson(body) as { length?: unknown; checksum?: unknown } | null;
          const nodeLength = typeof reported?.length === 'number' ? reported.length : sent;
          const checksum = typeof reported?.checksum === 'string' ? reported.checksum.toLowerCase() : null;
          if (nodeLength !== sent) {
            return fail(mogError(ErrorCodes.LENGTH_MISMATCH, `storage node stored ${nodeLength} bytes of ${sent} sent to ${url}`));
          }
          succeed({ length: nodeLength, checksum: alg === 'none' ? null : checksum });
        },
        (err: unknown) => fail(noAnswer('PUT', url, err)),
      );
    });

    return { stream, result };
  }

  /** PUT a whole Buffer (its length is announced) or Readable. */
  put(url: string, body: Readable | Buffer, opts: PutOptions = {}, call: CallOptions = {}): Promise<PutResult> {
    const isBuf = Buffer.isBuffer(body);
    const { stream, result } = this.openPut(url, { ...opts, length: opts.length ?? (isBuf ? body.length : undefined) }, call);
    if (isBuf) stream.end(body);
    else pipeline(body, stream, () => {});
    return result;
  }

  /**
   * GET, whole or a byte range [start, end] inclusive. Resolves once the status is known; the
   * stream then errors (NODE_UNAVAILABLE) if the body breaks off or ends short of `length`.
   */
  async get(url: string, opts: { start?: number; end?: number } = {}, call: CallOptions = {}): Promise<{ stream: Readable; length: number }> {
    const start = opts.start ?? 0;
    const end = opts.end;
    if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
      throw mogError(ErrorCodes.INVALID_OFFSET, `bad byte range ${start}-${end ?? ''}`);
    }
    const ranged = start > 0 || end !== undefined;
    const headers: Record<string, string> = ranged ? { range: `bytes=${start}-${end ?? ''}` } : {};
    const retries = call.retries ?? this.retries;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.getOnce(url, headers, ranged ? start : null, call);
      } catch (err) {
        const code = (err instanceof MogError && (err.cause as NodeJS.ErrnoException | undefined)?.code) || '';
        if (attempt >= retries || !isNoAnswer(err) || !STALE_SOCKET.has(code)) throw err;
      }
    }
  }

  /**
   * One GET on node:http, like openPut and for the same reason: got's stream cost about 0.5 ms
   * more CPU per request than a bare ClientRequest on the same agent (bench/, 4 KiB RETRs),
   * and a small download is little else. Limits, as before: without a per-call limit the
   * headers must come within the stall limit and lengthChecked watches the body; with one,
   * connect, socket idle and the whole exchange (body included) are each bounded.
   */
  private getOnce(url: string, headers: Record<string, string>, rangeStart: number | null, call: CallOptions) {
    const stallMs = call.timeoutMs === undefined ? this.stallTimeoutMs : null;
    const limits = call.timeoutMs !== undefined ? this.limits(call.timeoutMs) : null;
    return new Promise<{ stream: Readable; length: number }>((resolve, reject) => {
      const timers: NodeJS.Timeout[] = [];
      let answered = false;
      let settled = false;
      const req = http.request(url, {
        method: 'GET',
        agent: this.agent,
        headers: { ...headers, ...this.credentials('GET', url) },
      });
      const clearTimers = () => timers.forEach(clearTimeout);
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        fn();
      };
      // Before the answer this surfaces as the request's 'error'; after it, as the body's.
      const cut = (err: Error) => req.destroy(err);
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        const ms = limits?.connect ?? this.connectTimeoutMs;
        const t = setTimeout(() => cut(timeoutError('connect', ms)), ms);
        timers.push(t);
        socket.once('connect', () => clearTimeout(t));
      });
      if (limits) {
        req.setTimeout(limits.socket, () => cut(timeoutError('idle', limits.socket)));
        timers.push(setTimeout(() => cut(timeoutError('request', limits.request)), limits.request));
      } else {
        timers.push(setTimeout(() => !answered && cut(timeoutError('response', this.stallTimeoutMs)), this.stallTimeoutMs));
      }
      req.on('error', (err) => {
        clearTimers();
        settle(() => reject(noAnswer('GET', url, err)));
      });
      req.on('response', (res: IncomingMessage) => {
        answered = true;
        if (!limits) clearTimers(); // the body has its own watchdog (lengthChecked)
        res.once('close', clearTimers);
        const status = res.statusCode ?? 0;
        const length = Number(res.headers['content-length']);
        const refuse = (err: MogError) => {
          res.destroy();
          settle(() => reject(err));
        };
        if (status === 200 || status === 206) {
          if (rangeStart !== null && (status !== 206 || !String(res.headers['content-range'] ?? '').startsWith(`bytes ${rangeStart}-`))) {
            return refuse(mogError(ErrorCodes.INTERNAL, `storage node ignored the byte range asked of ${url}`));
          }
          if (!Number.isSafeInteger(length)) return refuse(mogError(ErrorCodes.INTERNAL, `storage node sent no Content-Length for ${url}`));
          settle(() => resolve({ stream: lengthChecked(res, length, url, stallMs), length }));
          return;
        }
        // Read the short error body so the socket stays reusable.
        readSmallBody(res).then(
          (body) => {
            if (status === 404) settle(() => reject(mogError(ErrorCodes.NOT_FOUND, `no such replica: ${url}`, new NodeAnswer(404, null, body))));
            else if (status === 416) settle(() => reject(mogError(ErrorCodes.INVALID_OFFSET, `byte range beyond the end of ${url}`, new NodeAnswer(416, null, body))));
            else settle(() => reject(answerError('GET', url, status, body, readCodeFor)));
          },
          (err: unknown) => settle(() => reject(noAnswer('GET', url, err))),
        );
      });
      req.end();
    });
  }

  /** HEAD: the length, or null on 404. */
  async head(url: string, call: CallOptions = {}): Promise<{ length: number } | null> {
    const res = await this.request('HEAD', url, call);
    if (res.statusCode === 404) return null;
    if (res.statusCode !== 200) throw answerError('HEAD', url, res.statusCode, res.body, readCodeFor);
    const length = Number(res.headers['content-length']);
    if (!Number.isSafeInteger(length)) throw mogError(ErrorCodes.INTERNAL, `storage node sent no Content-Length for HEAD ${url}`);
    return { length };
  }

  /** DELETE: true if it deleted, false if it was already gone (404). */
  async delete(url: string, call: CallOptions = {}): Promise<boolean> {
    const res = await this.request('DELETE', url, call);
    if (res.statusCode === 404) return false;
    if (res.statusCode >= 200 && res.statusCode <= 299) return true;
    throw answerError('DELETE', url, res.statusCode, res.body, readCodeFor);
  }

  /** The device's MogileFS usage lines, parsed; null when the node has none (nginx: 404). */
  async usage(baseUrl: string, devid: number, call: CallOptions = {}): Promise<NodeUsage | null> {
    const url = `${baseUrl.replace(/\/+$/, '')}/dev${devid}/usage`;
    const res = await this.request('GET', url, call);
    if (res.statusCode === 404) return null;
    if (res.statusCode !== 200) throw answerError('GET', url, res.statusCode, res.body, readCodeFor);
    return parseUsage(res.body);
  }

  /**
   * One page of a device's replica files (fid > after, ascending, at most `limit`) from our node's
   * listing (listing.ts); null when the node does not list (nginx, an older node: not a 200 of JSON lines).
   */
  async listDevice(baseUrl: string, devid: number, opts: { after: number; limit: number }, call: CallOptions = {}): Promise<ListedFid[] | null> {
    const url = `${baseUrl.replace(/\/+$/, '')}/dev${devid}/?list&after=${opts.after}&limit=${opts.limit}`;
    const res = await this.request('GET', url, call);
    if (res.statusCode === 404 || res.statusCode === 405 || res.statusCode === 403) return null;
    if (res.statusCode !== 200) throw answerError('GET', url, res.statusCode, res.body, readCodeFor);
    if (!String(res.headers['content-type'] ?? '').startsWith('application/x-ndjson')) return null;
    const out: ListedFid[] = [];
    for (const line of String(res.body).split('\n')) {
      if (line.trim() === '') continue;
      let f: ListedFid;
      try {
        f = JSON.parse(line) as ListedFid;
      } catch {
        throw mogError(ErrorCodes.NODE_UNAVAILABLE, `storage node sent a listing of device ${devid} that is not JSON lines`);
      }
      if (!f || !Number.isSafeInteger(f.fid) || !Number.isSafeInteger(f.size) || typeof f.mtime !== 'number')
        throw mogError(ErrorCodes.NODE_UNAVAILABLE, `storage node sent a bad listing line for device ${devid}`);
      out.push(f);
    }
    return out;
  }

  close(): void {
    this.agent.destroy();
  }

  private async request(method: 'GET' | 'HEAD' | 'DELETE', url: string, call: CallOptions) {
    try {
      return await this.gotClient(url, {
        method,
        headers: this.credentials(method, url),
        ...(call.timeoutMs !== undefined ? { timeout: this.limits(call.timeoutMs) } : {}),
        ...(call.retries !== undefined ? { retry: { limit: call.retries } } : {}),
      });
    } catch (err) {
      throw noAnswer(method, url, err);
    }
  }

  private limits(timeoutMs: number) {
    return { connect: Math.min(this.connectTimeoutMs, timeoutMs), socket: Math.min(this.idleTimeoutMs, timeoutMs), request: timeoutMs };
  }
}

/**
 * Passes the body through, failing it if it ends short of (or runs past) `length`, or if the
 * node sends nothing for `stallMs` while we are ready for more (backpressure pauses don't count).
 */
function lengthChecked(source: Readable, length: number, url: string, stallMs: number | null): Readable {
  let seen = 0;
  let lastProgress = Date.now();
  let wanting = true;
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      lastProgress = Date.now();
      seen += chunk.length;
      if (seen > length) cb(mogError(ErrorCodes.NODE_UNAVAILABLE, `storage node sent more than ${length} bytes for ${url}`));
      else cb(null, chunk);
    },
    flush(cb) {
      if (seen === length) cb();
      else cb(mogError(ErrorCodes.NODE_UNAVAILABLE, `storage node broke off ${url} after ${seen} of ${length} bytes`));
    },
  });
  source.on('error', (err) => out.destroy(noAnswer('GET', url, err)));
  let watchdog: NodeJS.Timeout | null = null;
  if (stallMs !== null) {
    source.on('pause', () => (wanting = false));
    source.on('resume', () => {
      wanting = true;
      lastProgress = Date.now();
    });
    watchdog = setInterval(() => {
      if (wanting && Date.now() - lastProgress > stallMs) out.destroy(noAnswer('GET', url, timeoutError('stall', stallMs)));
    }, Math.max(50, Math.min(1000, Math.floor(stallMs / 4))));
  }
  out.on('close', () => {
    if (watchdog) clearInterval(watchdog);
    if (!source.destroyed && !source.readableEnded) source.destroy();
  });
  source.pipe(out);
  return out;
}

function readSmallBody(res: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      if (size < MAX_ERROR_BODY) chunks.push(c);
      size += c.length;
    });
    res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
    res.once('aborted', () => reject(new Error('answer broke off')));
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** PUT statuses: what the fan-out writer and replication need to tell apart. */
function putCodeFor(status: number, token: string | null): ErrorCode {
  if (status === 507) return ErrorCodes.DEVICE_FULL;
  if (status === 409 || status === 422) return ErrorCodes.CHECKSUM_MISMATCH;
  if (status === 400 && token === 'length_mismatch') return ErrorCodes.LENGTH_MISMATCH;
  // 401/403: wrong token; 404: device directory missing; 5xx: node trouble. The node is unusable.
  if (status === 401 || status === 403 || status === 404 || status >= 500) return ErrorCodes.NODE_UNAVAILABLE;
  return ErrorCodes.INTERNAL;
}

function readCodeFor(status: number): ErrorCode {
  return status === 401 || status === 403 || status >= 500 ? ErrorCodes.NODE_UNAVAILABLE : ErrorCodes.INTERNAL;
}

function answerError(method: string, url: string, status: number, body: string, codeFor: (status: number, token: string | null) => ErrorCode): MogError {
  const parsed = parseJson(body) as { error?: unknown; message?: unknown } | null;
  const token = typeof parsed?.error === 'string' ? parsed.error : null;
  const detail = typeof parsed?.message === 'string' ? `: ${parsed.message}` : status === 401 ? ': refused our credentials (storage key file, or clocks more than 5 minutes apart?)' : '';
  return mogError(codeFor(status, token), `storage node answered ${status} to ${method} ${url}${detail}`, new NodeAnswer(status, token, body));
}

function noAnswer(method: string, url: string, err: unknown): MogError {
  if (err instanceof MogError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const why = code && !describeError(err).includes(code) ? `${code}: ${describeError(err)}` : describeError(err);
  return mogError(ErrorCodes.NODE_UNAVAILABLE, `storage node unreachable for ${method} ${url} (${why})`, err);
}

function timeoutError(what: string, ms: number): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${what} timeout after ${ms} ms`);
  err.code = 'ETIMEDOUT';
  return err;
}
