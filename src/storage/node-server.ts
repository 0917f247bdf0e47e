// The storage node's HTTP server: checks each request's credentials, routes it by its path
// (node-target.ts) to the device tree, GET, PUT or listing code, turns every failure into one
// answer, and on close lets in-flight requests finish within a grace period.
import http from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describeError } from '../errors.ts';
import { verifyRequest, type StorageKey } from './auth.ts';
import { NodeFailure } from './failures.ts';
import { MAX_LIST_LIMIT, parseListQuery, sendListing } from './listing.ts';
import { parseWantContentDigest } from './digest.ts';
import { serveFile } from './node-get.ts';
import { HttpFail, header, isMissing, methodNotAllowed, sendFail, toHttpFail } from './node-http.ts';
import { receiveFile } from './node-put.ts';
import type { NodeState } from './node-state.ts';
import { parseTarget, type Target } from './node-target.ts';
import { renderUsage } from './usage.ts';

export interface NodeServerOptions {
  /** Null: no signature is checked (a loopback-only node). */
  key: StorageKey | null;
  /** Deprecated bearer token: accepted beside a key, or required without one. */
  token: string | undefined;
  idleTimeoutMs: number;
  graceMs: number;
  onRequest: ((r: { method: string; status: number; durationMs: number }) => void) | undefined;
}

export interface NodeServer {
  server: Server;
  /** Stops accepting, lets in-flight requests finish (up to graceMs), then cuts the rest. */
  close(): Promise<void>;
}

export function createNodeServer(state: NodeState, opts: NodeServerOptions): NodeServer {
  const inFlight = new Set<Promise<void>>();
  const checkAuth = authChecker(opts.key, opts.token);
  // No whole-request timeout (a 2 GiB upload may take long); the idle timeout guards stalls.
  const server = http.createServer({ requestTimeout: 0 }, (req, res) => {
    if (opts.onRequest) {
      const onRequest = opts.onRequest;
      const started = performance.now();
      res.once('close', () => onRequest({ method: req.method ?? '', status: res.statusCode, durationMs: performance.now() - started }));
    }
    const p = serve(state, checkAuth, req, res);
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  });
  // Keep-alive sockets outlive the client agent's idle timeout, so the client, not us, closes
  // them: a client never reuses a socket we are closing at the same moment.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  server.setTimeout(opts.idleTimeoutMs);

  let closing: Promise<void> | null = null;
  const close = () => (closing ??= closeServer(server, inFlight, opts.graceMs).finally(() => state.unfinished.removeAll()));
  return { server, close };
}

async function serve(state: NodeState, checkAuth: (req: IncomingMessage) => void, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    checkAuth(req);
    const target = parseTarget(req.url ?? '');
    if (!target) throw new HttpFail(400, NodeFailure.BAD_PATH, 'not a storage path');
    const devDir = await state.devices.deviceDir(target.devid);
    await dispatch(state, req, res, target, devDir);
  } catch (err) {
    const fail = toHttpFail(err);
    const clientGone = (err as NodeJS.ErrnoException | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
    if (fail.status >= 500 && fail.status !== 507 && !clientGone) state.log(`${req.method} ${req.url}: ${describeError(err)}`);
    sendFail(res, fail);
  }
}

async function dispatch(state: NodeState, req: IncomingMessage, res: ServerResponse, target: Target, devDir: string): Promise<void> {
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
    if (list === 'bad') throw new HttpFail(400, NodeFailure.BAD_LIST, `a listing takes after=FID and limit=1..${MAX_LIST_LIMIT}`);
    if (list) return sendListing(res, devDir, list.after, list.limit);
    if (method !== 'MKCOL') return methodNotAllowed(res, 'MKCOL');
    // PUT creates parents itself; MKCOL is accepted so WebDAV-style callers work unchanged.
    await state.devices.checkedDir(devDir, join(devDir, target.rel), true);
    res.writeHead(201, { 'content-length': 0 }).end();
    return;
  }
  const file = join(devDir, target.rel);
  switch (method) {
    case 'GET':
    case 'HEAD':
      return serveFile(state, { range: req.headers.range, head: method === 'HEAD', digest: parseWantContentDigest(header(req, 'want-content-digest')) }, res, devDir, file);
    case 'PUT':
      return receiveFile(state, req, res, devDir, file);
    case 'DELETE':
      return deleteFile(state, res, devDir, file);
    default:
      return methodNotAllowed(res, 'GET, HEAD, PUT, DELETE');
  }
}

async function deleteFile(state: NodeState, res: ServerResponse, devDir: string, file: string): Promise<void> {
  try {
    await state.devices.checkedDir(devDir, dirname(file), false);
    await unlink(file);
  } catch (err) {
    if (isMissing(err)) throw new HttpFail(404, NodeFailure.NOT_FOUND, 'no such file');
    throw err;
  }
  res.writeHead(204).end();
}

/** A check that throws a 401 HttpFail for a request without valid credentials. */
function authChecker(key: StorageKey | null, token: string | undefined): (req: IncomingMessage) => void {
  if (key) {
    return (req) => {
      const verdict = verifyRequest(key, req.method ?? '', req.url ?? '', header(req, 'authorization'), { legacyBearer: token });
      if (!verdict.ok) throw new HttpFail(401, NodeFailure.UNAUTHORIZED, `this storage node needs a request signed with the cluster storage key (${verdict.why})`);
    };
  }
  const expectedAuth = token ? sha256(`Bearer ${token}`) : null;
  return (req) => {
    if (expectedAuth && !authorized(req.headers.authorization, expectedAuth)) {
      throw new HttpFail(401, NodeFailure.UNAUTHORIZED, 'this storage node needs Authorization: Bearer <token>');
    }
  };
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Compares digests, not strings, so neither content nor length leaks through timing. */
function authorized(header: string | undefined, expected: Buffer): boolean {
  return header !== undefined && timingSafeEqual(sha256(header.trim()), expected);
}

async function closeServer(server: Server, inFlight: Set<Promise<void>>, graceMs: number): Promise<void> {
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
  }
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
