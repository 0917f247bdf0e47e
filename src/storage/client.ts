// The HTTP client every component uses to talk to storage nodes (ours or any WebDAV server such
// as nginx). One keep-alive agent per client; every failure becomes a coded MogError. Its parts:
//   client-request.ts  the request core: agent, credentials, timeouts, error mapping
//   client-put.ts      the streaming PUT
//   client-get.ts      the GET of a replica, whole or a range, its length checked
import type http from 'node:http';
import { pipeline } from 'node:stream';
import type { Readable, Writable } from 'node:stream';
import { ErrorCodes, MogError, mogError } from '../errors.ts';
import { signUrl } from './auth.ts';
import type { StorageKey } from './auth.ts';
import { getOnce, type GetResult } from './client-get.ts';
import { formatWantContentDigest, type DigestAlg } from './digest.ts';
import { openPut, type PutOptions, type PutResult } from './client-put.ts';
import { NodeAnswer, RequestCore, STALE_SOCKET, answerError, readCodeFor } from './client-request.ts';
import type { CallOptions } from './client-request.ts';
import type { ListedFid } from './listing.ts';
import { parseUsage } from './usage.ts';
import type { NodeUsage } from './usage.ts';

export type { NodeUsage } from './usage.ts';
export type { ListedFid } from './listing.ts';

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

/** The HTTP status a node answered with, or null when the error came without an answer. */
export function httpStatusOf(err: unknown): number | null {
  return err instanceof MogError && err.cause instanceof NodeAnswer ? err.cause.status : null;
}

/** True for a NODE_UNAVAILABLE error where no HTTP answer came at all (refused, reset, timed out). */
export function isNoAnswer(err: unknown): boolean {
  return err instanceof MogError && err.code === ErrorCodes.NODE_UNAVAILABLE && !(err.cause instanceof NodeAnswer);
}

export class StorageClient {
  /** Shared by every request of this client so all reuse the same warm sockets. */
  readonly agent: http.Agent;
  private readonly core: RequestCore;

  constructor(opts: StorageClientOptions = {}) {
    this.core = new RequestCore({
      key: opts.key,
      token: opts.token || undefined,
      connectTimeoutMs: opts.connectTimeoutMs ?? 3000,
      idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
      stallTimeoutMs: opts.stallTimeoutMs ?? 15_000,
      retries: opts.retries ?? 1,
    });
    this.agent = this.core.agent;
  }

  /** `url` signed for one `method` for `ttlS` seconds, for a client that holds no key (MogileFS-style). */
  signedUrl(method: string, url: string, ttlS: number): string {
    const key = this.core.opts.key;
    if (!key) throw mogError(ErrorCodes.INVALID_ARGUMENT, 'signed URLs need the storage key');
    return signUrl(key, method, url, ttlS);
  }

  /** Streaming PUT (client-put.ts). `stream` needs no 'error' listener: every failure is also the rejection of `result`. */
  openPut(url: string, opts: PutOptions = {}, call: CallOptions = {}): { stream: Writable; result: Promise<PutResult> } {
    return openPut(this.core, url, opts, call);
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
   * `digest` asks the node for the digest of what it sends (GetResult.digest says if it will).
   */
  async get(url: string, opts: { start?: number; end?: number; digest?: DigestAlg } = {}, call: CallOptions = {}): Promise<GetResult> {
    const start = opts.start ?? 0;
    const end = opts.end;
    if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
      throw mogError(ErrorCodes.INVALID_OFFSET, `bad byte range ${start}-${end ?? ''}`);
    }
    // A digest comes only with a range (the node then sends Content-Range, the trailer's body length).
    const digest = opts.digest ?? null;
    const ranged = start > 0 || end !== undefined || digest !== null;
    const headers: Record<string, string> = ranged ? { range: `bytes=${start}-${end ?? ''}` } : {};
    if (digest) headers['want-content-digest'] = formatWantContentDigest(digest);
    const retries = call.retries ?? this.core.opts.retries;
    for (let attempt = 0; ; attempt++) {
      try {
        return await getOnce(this.core, url, headers, ranged ? start : null, call, digest);
      } catch (err) {
        const code = (err instanceof MogError && (err.cause as NodeJS.ErrnoException | undefined)?.code) || '';
        if (attempt >= retries || !isNoAnswer(err) || !STALE_SOCKET.has(code)) throw err;
      }
    }
  }

  /** HEAD: the length, or null on 404. */
  async head(url: string, call: CallOptions = {}): Promise<{ length: number } | null> {
    const res = await this.core.send('HEAD', url, call);
    if (res.statusCode === 404) return null;
    if (res.statusCode !== 200) throw answerError('HEAD', url, res.statusCode, res.body, readCodeFor);
    const length = Number(res.headers['content-length']);
    if (!Number.isSafeInteger(length)) throw mogError(ErrorCodes.INTERNAL, `storage node sent no Content-Length for HEAD ${url}`);
    return { length };
  }

  /** DELETE: true if it deleted, false if it was already gone (404). */
  async delete(url: string, call: CallOptions = {}): Promise<boolean> {
    const res = await this.core.send('DELETE', url, call);
    if (res.statusCode === 404) return false;
    if (res.statusCode >= 200 && res.statusCode <= 299) return true;
    throw answerError('DELETE', url, res.statusCode, res.body, readCodeFor);
  }

  /** The device's MogileFS usage lines, parsed; null when the node has none (nginx: 404). */
  async usage(baseUrl: string, devid: number, call: CallOptions = {}): Promise<NodeUsage | null> {
    const url = `${baseUrl.replace(/\/+$/, '')}/dev${devid}/usage`;
    const res = await this.core.send('GET', url, call);
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
    const res = await this.core.send('GET', url, call);
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
}
