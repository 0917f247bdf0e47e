// The client's GET of a replica, on a bare node:http ClientRequest like the PUT, and for the
// same reason: got's stream cost about 0.5 ms more CPU per request than a bare ClientRequest on
// the same agent (bench/, 4 KiB RETRs), and a small download is little else.
import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { ErrorCodes, mogError } from '../errors.ts';
import type { MogError } from '../errors.ts';
import { NodeAnswer, answerError, noAnswer, readCodeFor, readSmallBody, timeoutError } from './client-request.ts';
import type { CallOptions, RequestCore } from './client-request.ts';
import { parseContentDigest, type DigestAlg } from './digest.ts';

export interface GetResult {
  stream: Readable;
  length: number;
  /**
   * Null unless a digest was asked for and the node announced a Content-Digest trailer (ours do;
   * nginx does not). Then, once `stream` has ended, the hex digest of the body the node read
   * from its disk, or null if the trailer did not come or is not the algorithm asked for.
   */
  digest: (() => string | null) | null;
}

/**
 * One GET of `url` (no retry). Limits: without a per-call limit the headers must come within
 * the stall limit and lengthChecked watches the body; with one, connect, socket idle and the
 * whole exchange (body included) are each bounded. `rangeStart` is where the range asked for
 * in `headers` begins, null for the whole file.
 */
export function getOnce(core: RequestCore, url: string, headers: Record<string, string>, rangeStart: number | null, call: CallOptions, digest: DigestAlg | null = null): Promise<GetResult> {
  const { stallTimeoutMs, connectTimeoutMs } = core.opts;
  const stallMs = call.timeoutMs === undefined ? stallTimeoutMs : null;
  const limits = call.timeoutMs !== undefined ? core.limits(call.timeoutMs) : null;
  return new Promise<GetResult>((resolve, reject) => {
    let answered = false;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    // Before the answer this surfaces as the request's 'error'; after it, as the body's.
    const cut = (err: Error) => req.destroy(err);
    const { req, timers } = core.open('GET', url, headers, limits?.connect ?? connectTimeoutMs, cut);
    const clearTimers = () => timers.forEach(clearTimeout);
    if (limits) {
      req.setTimeout(limits.socket, () => cut(timeoutError('idle', limits.socket)));
      timers.push(setTimeout(() => cut(timeoutError('request', limits.request)), limits.request));
    } else {
      timers.push(setTimeout(() => !answered && cut(timeoutError('response', stallTimeoutMs)), stallTimeoutMs));
    }
    req.on('error', (err) => {
      clearTimers();
      settle(() => reject(noAnswer('GET', url, err)));
    });
    req.on('response', (res: IncomingMessage) => {
      answered = true;
      if (!limits) clearTimers(); // the body has its own watchdog (lengthChecked)
      res.once('close', clearTimers);
      judgeAnswer(res, url, rangeStart, stallMs, digest).then(
        (got) => settle(() => resolve(got)),
        (err: MogError) => settle(() => reject(err)),
      );
    });
    req.end();
  });
}

/** The body of a 200 or 206 that is what we asked for; a MogError for anything else. */
async function judgeAnswer(res: IncomingMessage, url: string, rangeStart: number | null, stallMs: number | null, digest: DigestAlg | null): Promise<GetResult> {
  const status = res.statusCode ?? 0;
  const promised = digest !== null && status === 206 && /(^|,)\s*content-digest\s*(,|$)/i.test(String(res.headers.trailer ?? ''));
  // With a trailer the body is chunked: its length is the range the node says it sends.
  const length = promised ? rangeLength(res.headers['content-range']) : Number(res.headers['content-length']);
  const refuse = (err: MogError) => {
    res.destroy();
    return Promise.reject(err);
  };
  if (status === 200 || status === 206) {
    if (rangeStart !== null && (status !== 206 || !String(res.headers['content-range'] ?? '').startsWith(`bytes ${rangeStart}-`))) {
      return refuse(mogError(ErrorCodes.INTERNAL, `storage node ignored the byte range asked of ${url}`));
    }
    if (!Number.isSafeInteger(length)) return refuse(mogError(ErrorCodes.INTERNAL, `storage node sent no Content-Length for ${url}`));
    return { stream: lengthChecked(res, length, url, stallMs), length, digest: promised ? () => trailerDigest(res, digest) : null };
  }
  // Read the short error body so the socket stays reusable.
  let body: string;
  try {
    body = await readSmallBody(res);
  } catch (err) {
    throw noAnswer('GET', url, err);
  }
  if (status === 404) throw mogError(ErrorCodes.NOT_FOUND, `no such replica: ${url}`, new NodeAnswer(404, null, body));
  if (status === 416) throw mogError(ErrorCodes.INVALID_OFFSET, `byte range beyond the end of ${url}`, new NodeAnswer(416, null, body));
  throw answerError('GET', url, status, body, readCodeFor);
}

/** The byte count of `bytes A-B/SIZE`, NaN for anything else. */
function rangeLength(header: string | undefined): number {
  const m = /^bytes (\d+)-(\d+)\/\d+$/.exec(header ?? '');
  return m ? Number(m[2]) - Number(m[1]) + 1 : NaN;
}

/** The hex digest of the Content-Digest trailer in `alg`, or null (absent, malformed, another algorithm). */
function trailerDigest(res: IncomingMessage, alg: DigestAlg): string | null {
  try {
    const got = parseContentDigest(res.trailers['content-digest']);
    return got?.alg === alg ? got.bytes.toString('hex') : null;
  } catch {
    return null;
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
