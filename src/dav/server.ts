// The WebDAV front-end: a Node HTTP(S) server with keep-alive, Basic auth over the store's
// users, and one handler per method over the same Volume the FTP front-end uses. Like FTP
// front-ends it keeps no state of its own: locks and dead properties are in the database,
// so any number of `mogftp dav` processes can sit behind one load balancer.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describeError, ErrorCodes, mogError } from '../errors.ts';
import type { LogFn } from '../log.ts';
import type { StorageClient } from '../storage/client.ts';
import type { Tracker } from '../tracker/tracker.ts';
import type { DavState, StoreLifecycle } from '../tracker/types.ts';
import { BasicAuth, type AuthDeps } from './auth.ts';
import { DavRequest, type DavConfig, type DavStore } from './context.ts';
import { continued, DavError, sendText, sendXml } from './http.ts';
import { lock, unlock } from './lock.ts';
import type { OsFilesMode } from './os-files.ts';
import { parseUrlPath } from './paths.ts';
import { propfind } from './propfind.ts';
import { proppatch } from './proppatch.ts';
import { ALLOWED_METHODS, get, options } from './read.ts';
import { isServerSide, toDavError } from './status.ts';
import { copyOrMove, del, mkcol, put } from './write.ts';
import { DAV_NS, XML_DECL } from './xml.ts';

export interface DavServerOptions {
  /** The store roles the server uses: its volumes', its handlers', the login bans, and the schema version it needs. */
  store: AuthDeps['store'] & DavStore & Pick<StoreLifecycle, 'schemaVersion'>;
  tracker: Tracker;
  client: StorageClient;
  host: string;
  port: number;
  /** PEM certificate and key: serve HTTPS instead of HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** OS metadata files (.DS_Store, ._*, Thumbs.db, desktop.ini): 'off' (default), 'hide' from listings, or 'refuse'. */
  osFiles?: OsFilesMode;
  allowInfiniteDepth?: boolean;
  /** Files up to this many bytes are checked before their first byte is sent (vfs default when unset). */
  verifyBeforeSend?: number;
  /** Lock timeout when the client asks for none, and the most it may ask for. */
  defaultLockTimeoutMs?: number;
  maxLockTimeoutMs?: number;
  /** How long a successful login is reused without checking the password again. */
  authCacheMs?: number;
  realm?: string;
  log?: LogFn;
}

export interface RunningDavServer {
  host: string;
  port: number;
  /** The base URL clients mount, e.g. http://127.0.0.1:8080/ */
  url: string;
  close(): Promise<void>;
}

/** The most a request's headers may take (Node's default, fixed here on purpose). */
const MAX_HEADER_BYTES = 16 * 1024;

/** How often this front-end sweeps expired locks and properties of deleted entries. */
const PURGE_INTERVAL_MS = 15 * 60_000;

/** The schema version that added the WebDAV tables (dav_props, dav_locks). */
const DAV_SCHEMA_VERSION = 2;

export async function startDavServer(opts: DavServerOptions): Promise<RunningDavServer> {
  const log: LogFn = opts.log ?? (() => {});
  const version = await opts.store.schemaVersion();
  if (version < DAV_SCHEMA_VERSION)
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `The database schema (version ${version}) predates WebDAV: run 'mogftp admin init' to upgrade it`);
  const cfg: DavConfig = {
    store: opts.store,
    osFiles: opts.osFiles ?? 'off',
    allowInfiniteDepth: opts.allowInfiniteDepth ?? false,
    defaultLockTimeoutMs: opts.defaultLockTimeoutMs ?? 3600_000,
    maxLockTimeoutMs: opts.maxLockTimeoutMs ?? 24 * 3600_000,
    log,
  };
  // honourLocks: false: WebDAV checks the lock tokens its clients submit itself (context.ts); the
  // volume's own check, for doors without tokens, would refuse the lock holder too.
  const auth = new BasicAuth({ store: opts.store, tracker: opts.tracker, client: opts.client, honourLocks: false, log: opts.log, verifyBeforeSend: opts.verifyBeforeSend }, opts.authCacheMs, opts.log);
  const realm = (opts.realm ?? 'mogftp').replace(/["\\]/g, '');
  const expecting = new WeakSet<IncomingMessage>();

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (!admitPipelined(req, res, log)) return;
    const started = Date.now();
    handle(req, res)
      .catch((err) => sendFailure(req, res, err, log))
      .finally(() => log('debug', 'request', { method: req.method, url: req.url, status: res.statusCode, ms: Date.now() - started }));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? '').toUpperCase();
    if (method === 'OPTIONS') return options(res);
    const target = parseUrlPath(req.url ?? '/');
    const volume = await auth.login(req, res);
    if (!volume) {
      return afterBody(req, res, () => sendText(res, 401, 'Authentication required', { 'WWW-Authenticate': `Basic realm="${realm}", charset="UTF-8"` }));
    }
    return dispatch(new DavRequest(req, res, volume, cfg, target.path, expecting.has(req)), method);
  }

  const server = createDavHttpServer(opts.tls, onRequest, expecting, log);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const timer = startPurging(opts.store, log);

  const port = (server.address() as AddressInfo).port;
  const hostInUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host;
  return {
    host: opts.host,
    port,
    url: `${opts.tls ? 'https' : 'http'}://${hostInUrl}:${port}/`,
    close: async () => {
      clearInterval(timer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Runs the handler of the request's method. */
function dispatch(ctx: DavRequest, method: string): Promise<void> {
  switch (method) {
    case 'GET':
      return get(ctx, false);
    case 'HEAD':
      return get(ctx, true);
    case 'PUT':
      return put(ctx);
    case 'DELETE':
      return del(ctx);
    case 'MKCOL':
      return mkcol(ctx);
    case 'COPY':
      return copyOrMove(ctx, false);
    case 'MOVE':
      return copyOrMove(ctx, true);
    case 'PROPFIND':
      return propfind(ctx);
    case 'PROPPATCH':
      return proppatch(ctx);
    case 'LOCK':
      return lock(ctx);
    case 'UNLOCK':
      return unlock(ctx);
    default:
      throw new DavError(501, `${method} is not supported`);
  }
}

/** Answers a failed request with its status (status.ts), or cuts the connection when a body is out already. */
function sendFailure(req: IncomingMessage, res: ServerResponse, err: unknown, log: LogFn): void {
  const e = toDavError(err);
  // The reply's words are generic for server-side failures; the log keeps the cause and stack.
  const cause = err instanceof Error && isServerSide(e) ? { cause: describeError(err), stack: err.stack } : {};
  log(isServerSide(e) ? 'warn' : 'debug', 'request failed', { method: req.method, url: req.url, status: e.status, error: e.message, ...cause });
  if (res.headersSent) {
    // Part of a body is out already: only cutting the connection tells the client it is incomplete.
    res.destroy();
    return;
  }
  const headers: Record<string, string> = e.status === 405 || e.status === 501 ? { Allow: ALLOWED_METHODS } : {};
  afterBody(req, res, () => {
    if (e.condition) {
      const xml = `${XML_DECL}<D:error xmlns:D="${DAV_NS}"><D:${e.condition}>${e.conditionContent ?? ''}</D:${e.condition}></D:error>\n`;
      sendXml(res, e.status, xml, headers);
    } else {
      sendText(res, e.status, e.message, headers);
    }
  });
}

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** The HTTP(S) server with the limits and timeouts WebDAV clients need; not listening yet. */
function createDavHttpServer(tls: DavServerOptions['tls'], onRequest: RequestHandler, expecting: WeakSet<IncomingMessage>, log: LogFn): Server {
  // Headers are small and bounded (Node's 16 KiB, said here so it stays so); bodies are read with
  // limits by the handlers (readSmallBody) or streamed with backpressure (PUT).
  const httpOptions = { keepAlive: true, maxHeaderSize: MAX_HEADER_BYTES };
  const server: Server = tls
    ? createHttpsServer({ cert: tls.cert, key: tls.key, ...httpOptions }, onRequest)
    : createHttpServer(httpOptions, onRequest);
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    // The handler sends 100 Continue once it has checked auth, locks and the parent: a refused
    // upload's body is then never sent at all.
    expecting.add(req);
    onRequest(req, res);
  });
  // Desktop clients keep connections open between bursts; long uploads must not hit a request timeout.
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 60_000;
  server.requestTimeout = 0;
  server.timeout = 5 * 60_000;
  server.on('clientError', (err, socket) => {
    log('debug', 'client error', { error: describeError(err) });
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  return server;
}

/** Sweeps expired locks and properties of deleted entries now and every PURGE_INTERVAL_MS. */
function startPurging(store: Pick<DavState, 'purgeDavState'>, log: LogFn): NodeJS.Timeout {
  const purge = () =>
    store.purgeDavState(Date.now()).then(
      (n) => (n.props || n.locks) && log('debug', 'purged WebDAV state', n),
      (err) => log('warn', 'could not purge WebDAV state', { error: describeError(err) }),
    );
  void purge();
  const timer = setInterval(purge, PURGE_INTERVAL_MS);
  timer.unref();
  return timer;
}

/**
 * Requests one connection may have in progress at once (HTTP/1.1 pipelining). Node parses every
 * request in what it has read and starts them all, so a client pipelining thousands of GETs
 * and never reading would have thousands of storage reads and responses open at once; past
 * this many, the connection is closed. Clients that pipeline at all go a few deep.
 */
export const MAX_PIPELINED = 16;

const inProgress = new WeakMap<object, number>();

/** Counts the request against its connection; false (connection closed) past MAX_PIPELINED. */
function admitPipelined(req: IncomingMessage, res: ServerResponse, log: LogFn): boolean {
  const socket = req.socket;
  const n = (inProgress.get(socket) ?? 0) + 1;
  if (n > MAX_PIPELINED) {
    if (!socket.destroyed) log('warn', 'connection closed: too many pipelined requests', { peer: socket.remoteAddress, limit: MAX_PIPELINED });
    socket.destroy();
    return false;
  }
  inProgress.set(socket, n);
  res.once('close', () => inProgress.set(socket, (inProgress.get(socket) ?? 1) - 1));
  return true;
}

/**
 * A refused request's body up to this size is read and dropped before the answer goes out. An
 * answer sent while the body still arrives, on a connection that then closes (the client asked for
 * `Connection: close`, or the server must close), leaves unread bytes that make the kernel reset
 * the connection under the client's writes, and the client may never read the answer (RFC 9112,
 * 9.6): the security suite's 2 MiB PROPPATCH got EPIPE instead of its 413 in CI and in full runs.
 * A larger body, or one of unknown length, costs more to drain than a new connection costs the
 * client: that answer goes out at once with `Connection: close`.
 */
export const DRAIN_REFUSED_BODY_BYTES = 8 * 1024 * 1024;

/** Calls `send` (a refusal) once the request's body is no longer arriving: dropped if small, cut off if not. */
function afterBody(req: IncomingMessage, res: ServerResponse, send: () => void): void {
  if (req.complete || req.destroyed) return send();
  const large = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > DRAIN_REFUSED_BODY_BYTES;
  // A client told no `100 Continue` may never send its body: the connection's framing is unknown.
  const withheld = /100-continue/i.test(String(req.headers.expect ?? '')) && !continued.has(req);
  if (large || withheld) {
    res.setHeader('Connection', 'close');
    return send();
  }
  let sent = false;
  const once = () => {
    if (sent) return;
    sent = true;
    send();
  };
  // 'close' also covers a client that goes away mid-body (the answer then goes nowhere, harmlessly).
  req.once('end', once);
  req.once('close', once);
  req.resume(); // flowing with no reader drops the bytes
}
