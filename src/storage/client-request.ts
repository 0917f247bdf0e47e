// The request core every StorageClient call goes through, whether it streams on a bare
// node:http ClientRequest (PUT, GET: client-put.ts, client-get.ts) or is small enough for got
// (HEAD, DELETE, usage, listings): one keep-alive agent, the credentials, the timeouts, and the
// mapping of every failure to a coded MogError, with the node's answer (status, failure token
// of failures.ts) kept as its cause.
import http from 'node:http';
import type { ClientRequest, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Got } from 'got';
import { ErrorCodes, MogError, describeError, mogError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import { NGINX_HEADER, authorizationFor } from './auth.ts';
import type { StorageKey } from './auth.ts';
import { NodeFailure } from './failures.ts';

/** Per-call limits. */
export interface CallOptions {
  /** The whole exchange (for get: body included) must finish within this many ms. */
  timeoutMs?: number;
  /** Retries of GET/HEAD/DELETE after a stale keep-alive socket; default: the client's. */
  retries?: number;
}

export interface RequestCoreOptions {
  key: StorageKey | undefined;
  token: string | undefined;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  stallTimeoutMs: number;
  retries: number;
}

/** An answer got read whole. */
export interface SmallAnswer {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Why a node answered with an error status: kept as the MogError's cause. */
export class NodeAnswer extends Error {
  constructor(
    readonly status: number,
    readonly token: string | null,
    message: string,
  ) {
    super(message);
    this.name = 'NodeAnswer';
  }
}

/** Socket errors after which an idempotent request is retried: the keep-alive socket had gone stale. */
export const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE']);
const MAX_ERROR_BODY = 16 * 1024;

export class RequestCore {
  /** Shared by got and the raw PUTs and GETs so all reuse the same warm sockets. */
  readonly agent: http.Agent;
  // Made at the first small request: got and its 17 packages cost ~0.1 s of CPU to load, which a
  // process that never asks a node (an admin command, a daemon stopped early) need not pay.
  private gotClient: Promise<Got> | undefined;

  constructor(readonly opts: RequestCoreOptions) {
    // Idle sockets are dropped after 15 s: well before our node (65 s) or nginx (75 s) would
    // close them, so we never send on a socket the server is closing.
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 128, timeout: 15_000, scheduling: 'lifo' });
  }

  /**
   * What proves a request is ours: a signature over method, path and expiry; the nginx header
   * for nginx nodes; with neither a key nor a token, nothing (a node run with --insecure-no-auth).
   * A key's signature takes the Authorization header; the deprecated token has it only alone.
   */
  credentials(method: string, url: string): Record<string, string> {
    const { key, token } = this.opts;
    if (key) return { authorization: authorizationFor(key, method, url), [NGINX_HEADER]: key.nginxHeader };
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  /** The connect, socket-idle and whole-request limits for a call given `timeoutMs`. */
  limits(timeoutMs: number): { connect: number; socket: number; request: number } {
    return { connect: Math.min(this.opts.connectTimeoutMs, timeoutMs), socket: Math.min(this.opts.idleTimeoutMs, timeoutMs), request: timeoutMs };
  }

  /**
   * A bare request on the shared agent with our credentials. A new connection that takes longer
   * than `connectMs` calls `onTimeout` with an ETIMEDOUT error; the returned timer list holds
   * that timer, for the caller to clear with its own.
   */
  open(method: 'PUT' | 'GET', url: string, headers: OutgoingHttpHeaders, connectMs: number, onTimeout: (err: Error) => void): { req: ClientRequest; timers: NodeJS.Timeout[] } {
    const timers: NodeJS.Timeout[] = [];
    const req = http.request(url, { method, agent: this.agent, headers: { ...headers, ...this.credentials(method, url) } });
    req.on('socket', (socket) => {
      if (!socket.connecting) return;
      const t = setTimeout(() => onTimeout(timeoutError('connect', connectMs)), connectMs);
      timers.push(t);
      socket.once('connect', () => clearTimeout(t));
    });
    return { req, timers };
  }

  /** The got instance for small requests, on the shared agent, loaded and made once. */
  private smallClient(): Promise<Got> {
    const opts = this.opts;
    this.gotClient ??= import('got').then(({ default: got }) =>
      got.extend({
        agent: { http: this.agent },
        throwHttpErrors: false,
        decompress: false,
        followRedirect: false,
        timeout: { connect: opts.connectTimeoutMs, socket: opts.idleTimeoutMs },
        retry: {
          limit: opts.retries,
          methods: ['GET', 'HEAD', 'DELETE'],
          statusCodes: [],
          errorCodes: [...STALE_SOCKET],
          calculateDelay: ({ computedValue }) => (computedValue === 0 ? 0 : 20),
        },
      }),
    );
    return this.gotClient;
  }

  /** A small request through got, its answer read whole; no answer at all is NODE_UNAVAILABLE. */
  async send(method: 'GET' | 'HEAD' | 'DELETE', url: string, call: CallOptions): Promise<SmallAnswer> {
    // Outside the try: failing to load got is no unavailable node.
    const client = await this.smallClient();
    try {
      return await client(url, {
        method,
        headers: this.credentials(method, url),
        ...(call.timeoutMs !== undefined ? { timeout: this.limits(call.timeoutMs) } : {}),
        ...(call.retries !== undefined ? { retry: { limit: call.retries } } : {}),
      });
    } catch (err) {
      throw noAnswer(method, url, err);
    }
  }
}

/** An answer's body, up to MAX_ERROR_BODY kept (the rest read and dropped, so the socket stays reusable). */
export function readSmallBody(res: Readable): Promise<string> {
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

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** PUT statuses: what the fan-out writer and replication need to tell apart. */
export function putCodeFor(status: number, token: string | null): ErrorCode {
  if (status === 507) return ErrorCodes.DEVICE_FULL;
  if (status === 409 || status === 422) return ErrorCodes.CHECKSUM_MISMATCH;
  if (status === 400 && token === NodeFailure.LENGTH_MISMATCH) return ErrorCodes.LENGTH_MISMATCH;
  // 401/403: wrong token; 404: device directory missing; 5xx: node trouble. The node is unusable.
  if (status === 401 || status === 403 || status === 404 || status >= 500) return ErrorCodes.NODE_UNAVAILABLE;
  return ErrorCodes.INTERNAL;
}

/** Statuses of every other request. */
export function readCodeFor(status: number): ErrorCode {
  return status === 401 || status === 403 || status >= 500 ? ErrorCodes.NODE_UNAVAILABLE : ErrorCodes.INTERNAL;
}

/** The MogError for an error status; the node's failure body (failures.ts), when there is one, says why. */
export function answerError(method: string, url: string, status: number, body: string, codeFor: (status: number, token: string | null) => ErrorCode): MogError {
  const parsed = parseJson(body) as { error?: unknown; message?: unknown } | null;
  const token = typeof parsed?.error === 'string' ? parsed.error : null;
  const detail = typeof parsed?.message === 'string' ? `: ${parsed.message}` : status === 401 ? ': refused our credentials (storage key file, or clocks more than 5 minutes apart?)' : '';
  return mogError(codeFor(status, token), `storage node answered ${status} to ${method} ${url}${detail}`, new NodeAnswer(status, token, body));
}

/** The MogError for a request that got no answer (refused, reset, timed out); a MogError passes through. */
export function noAnswer(method: string, url: string, err: unknown): MogError {
  if (err instanceof MogError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const why = code && !describeError(err).includes(code) ? `${code}: ${describeError(err)}` : describeError(err);
  return mogError(ErrorCodes.NODE_UNAVAILABLE, `storage node unreachable for ${method} ${url} (${why})`, err);
}

export function timeoutError(what: string, ms: number): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${what} timeout after ${ms} ms`);
  err.code = 'ETIMEDOUT';
  return err;
}
