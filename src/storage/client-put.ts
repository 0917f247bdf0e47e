// The client's streaming PUT. Implemented on node:http rather than got: got's duplex stream
// buffers and re-emits the body through its own machinery and only exposes the response through
// events on that duplex, which makes "answer arrived early (507, 401) while we are still
// writing" awkward to surface; it also costs measurably more per request than a bare
// ClientRequest on the same keep-alive agent, and small-file uploads are a benchmark.
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { Writable } from 'node:stream';
import type { ChecksumAlg } from '../checksum.ts';
import { ErrorCodes, MogError, mogError } from '../errors.ts';
import { formatContentDigest } from './digest.ts';
import type { PutAnswerBody } from './failures.ts';
import { answerError, noAnswer, parseJson, putCodeFor, readSmallBody, timeoutError } from './client-request.ts';
import type { CallOptions, RequestCore } from './client-request.ts';

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

/** Opens a PUT to `url`: write the body to `stream`; `result` settles with the node's answer. */
export function openPut(core: RequestCore, url: string, opts: PutOptions, call: CallOptions): { stream: Writable; result: Promise<PutResult> } {
  const put = new PutExchange(core, url, opts, call);
  return { stream: put.stream, result: put.result };
}

/** The request headers for a PUT; throws INVALID_ARGUMENT for a bad length or expected checksum. */
function putHeaders(alg: ChecksumAlg, opts: PutOptions): OutgoingHttpHeaders {
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
  return headers;
}

/**
 * One PUT: the caller's Writable in front of the ClientRequest. `stream` needs no 'error'
 * listener: every failure is also the rejection of `result`.
 */
class PutExchange {
  readonly stream: Writable;
  readonly result: Promise<PutResult>;
  private resolveResult!: (r: PutResult) => void;
  private rejectResult!: (e: MogError) => void;
  private readonly alg: ChecksumAlg;
  private readonly length: number | undefined;
  private readonly req: ClientRequest;
  private readonly timers: NodeJS.Timeout[];
  private sent = 0;
  private settled = false;
  private answered = false;
  private failure: MogError | null = null;
  private waitingDrain: ((err?: Error | null) => void) | null = null;
  private stall: NodeJS.Timeout | null = null;

  constructor(
    private readonly core: RequestCore,
    private readonly url: string,
    opts: PutOptions,
    call: CallOptions,
  ) {
    this.alg = opts.checksumAlg ?? 'sha256';
    this.length = opts.length;
    const headers = putHeaders(this.alg, opts);
    this.result = new Promise<PutResult>((res, rej) => {
      this.resolveResult = res;
      this.rejectResult = rej;
    });
    this.result.catch(() => {}); // a caller that only destroys the stream must not crash the process
    const opened = core.open('PUT', url, headers, core.opts.connectTimeoutMs, (err) => this.fail(noAnswer('PUT', url, err)));
    this.req = opened.req;
    this.timers = opened.timers;
    this.stream = new Writable({
      highWaterMark: 64 * 1024,
      write: (chunk: Buffer, _enc, cb) => this.write(chunk, cb),
      final: (cb) => this.final(cb),
      destroy: (err, cb) => {
        // autoDestroy also lands here after a normal finish: that is no abort.
        if (!this.settled && (err || !this.stream.writableFinished)) {
          this.fail(err instanceof MogError ? err : mogError(ErrorCodes.UPLOAD_ABORTED, `upload to ${url} was abandoned`, err ?? undefined));
        }
        cb(err);
      },
    });
    this.stream.on('error', () => {});
    if (call.timeoutMs !== undefined) {
      const ms = call.timeoutMs;
      this.timers.push(setTimeout(() => this.fail(noAnswer('PUT', url, timeoutError('request', ms))), ms));
    }
    this.req.on('error', (err) => this.fail(noAnswer('PUT', url, err)));
    this.req.on('close', () => {
      if (!this.answered) this.fail(noAnswer('PUT', url, new Error('connection closed before an answer')));
    });
    this.req.on('response', (res) => this.onResponse(res));
  }

  private fail(err: MogError): void {
    if (this.settled) return;
    this.settled = true;
    this.failure = err;
    this.clearTimers();
    this.rejectResult(err);
    const cb = this.waitingDrain;
    this.waitingDrain = null;
    cb?.(err);
    if (!this.stream.destroyed) this.stream.destroy(err);
    this.req.destroy();
  }

  private succeed(r: PutResult): void {
    if (this.settled) return;
    this.settled = true;
    this.clearTimers();
    this.resolveResult(r);
  }

  private clearTimers(): void {
    this.timers.forEach(clearTimeout);
    if (this.stall) clearTimeout(this.stall);
  }

  private write(chunk: Buffer, cb: (err?: Error | null) => void): void {
    if (this.failure) return cb(this.failure);
    this.sent += chunk.length;
    if (this.length !== undefined && this.sent > this.length) {
      const err = mogError(ErrorCodes.LENGTH_MISMATCH, `upload to ${this.url} got more than the announced ${this.length} bytes`);
      this.fail(err);
      return cb(err);
    }
    if (this.req.write(chunk)) return cb();
    this.waitingDrain = cb;
    // The node is not taking bytes we have for it: that, and only that, is a stall. (A socket
    // idle timeout would also fire when the caller merely stopped writing, as a fan-out does
    // while it waits for a slower replica.)
    const stallMs = this.core.opts.stallTimeoutMs;
    this.stall = setTimeout(() => this.fail(noAnswer('PUT', this.url, timeoutError('stall', stallMs))), stallMs);
    this.req.once('drain', () => {
      if (this.stall) clearTimeout(this.stall);
      const w = this.waitingDrain;
      this.waitingDrain = null;
      w?.();
    });
  }

  private final(cb: (err?: Error | null) => void): void {
    if (this.failure) return cb(this.failure);
    if (this.length !== undefined && this.sent !== this.length) {
      const err = mogError(ErrorCodes.LENGTH_MISMATCH, `upload to ${this.url} ended after ${this.sent} of the announced ${this.length} bytes`);
      this.fail(err);
      return cb(err);
    }
    this.req.end();
    // The body is out: the node now writes, fsyncs and answers.
    const idleMs = this.core.opts.idleTimeoutMs;
    this.req.setTimeout(idleMs, () => this.fail(noAnswer('PUT', this.url, timeoutError('idle', idleMs))));
    cb();
  }

  private onResponse(res: IncomingMessage): void {
    this.answered = true;
    readSmallBody(res).then(
      (body) => this.judgeAnswer(res.statusCode ?? 0, body),
      (err: unknown) => this.fail(noAnswer('PUT', this.url, err)),
    );
  }

  private judgeAnswer(status: number, body: string): void {
    const url = this.url;
    if (status < 200 || status > 299) return this.fail(answerError('PUT', url, status, body, putCodeFor));
    // writableEnded, not writableFinished: libuv may hand us the answer before the completion
    // of our last write, though the node could only answer after reading it.
    if (!this.req.writableEnded) {
      return this.fail(mogError(ErrorCodes.INTERNAL, `storage node answered ${status} to PUT ${url} before the body was sent`));
    }
    const reported = parseJson(body) as Partial<Record<keyof PutAnswerBody, unknown>> | null;
    const nodeLength = typeof reported?.length === 'number' ? reported.length : this.sent;
    const checksum = typeof reported?.checksum === 'string' ? reported.checksum.toLowerCase() : null;
    if (nodeLength !== this.sent) {
      return this.fail(mogError(ErrorCodes.LENGTH_MISMATCH, `storage node stored ${nodeLength} bytes of ${this.sent} sent to ${url}`));
    }
    this.succeed({ length: nodeLength, checksum: this.alg === 'none' ? null : checksum });
  }
}
