// The storage node's HTTP answers that are not a file: failures (status plus the JSON body of
// failures.ts), small JSON answers, and 405. Every node module throws HttpFail and lets the
// server turn it into an answer in one place (node-server.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeError } from '../errors.ts';
import { NodeFailure } from './failures.ts';
import type { FailureBody, NodeFailureToken } from './failures.ts';

/**
 * Not a wire token: the client went away, so there is no one to answer. The request's socket
 * is destroyed instead (sendFail).
 */
export const CLIENT_GONE = 'client_gone';

/** An HTTP answer with a JSON body {error, message}; `error` is a stable token the client maps. */
export class HttpFail extends Error {
  constructor(
    readonly status: number,
    readonly token: NodeFailureToken | typeof CLIENT_GONE,
    message: string,
  ) {
    super(message);
  }
}

export function clientGone(): HttpFail {
  return new HttpFail(400, CLIENT_GONE, 'the client went away mid-body');
}

/** File-system errors that say something about the device get their own answer; the rest are 500. */
export function toHttpFail(err: unknown): HttpFail {
  if (err instanceof HttpFail) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new HttpFail(507, NodeFailure.DEVICE_FULL, 'no space left on the device');
  if (code === 'EROFS') return new HttpFail(500, NodeFailure.READ_ONLY, 'the device is mounted read-only');
  return new HttpFail(500, NodeFailure.INTERNAL, describeError(err));
}

export function sendFail(res: ServerResponse, fail: HttpFail): void {
  if (fail.token === CLIENT_GONE || res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  if (fail.status === 401) res.setHeader('www-authenticate', 'MogSig');
  const body: FailureBody = { error: fail.token, message: fail.message };
  sendJson(res, fail.status, body);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  const body: FailureBody = { error: NodeFailure.METHOD_NOT_ALLOWED, message: `allowed: ${allow}` };
  sendJson(res, 405, body);
}

/** A request header as one string (repeated headers joined). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** ENOENT or ENOTDIR: the path, or a directory on the way to it, is not there. */
export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
