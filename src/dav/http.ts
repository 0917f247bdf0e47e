// HTTP plumbing shared by the method handlers: the error type they throw, request bodies with
// a size limit, and plain responses.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A response the handler wants sent instead of its normal one. */
export class DavError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** A DAV: precondition/postcondition element name for a <D:error> body (RFC 4918 §16). */
    readonly condition?: string,
    /** Raw XML placed inside the condition element (e.g. the hrefs of locks in the way). */
    readonly conditionContent?: string,
  ) {
    super(message);
  }
}

/** Requests that were told `100 Continue` (their body is coming). */
export const continued = new WeakSet<IncomingMessage>();

/** XML bodies (PROPFIND, PROPPATCH, LOCK) larger than this are refused: they never need to be. */
export const MAX_XML_BODY = 1024 * 1024;

export function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  if (len !== undefined) return Number(len) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/** Reads a small request body whole (the body of a data-carrying PUT is never read this way). */
export async function readSmallBody(req: IncomingMessage, limit = MAX_XML_BODY): Promise<string> {
  if (Number(req.headers['content-length'] ?? 0) > limit) throw new DavError(413, `Request bodies are limited to ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new DavError(413, `Request bodies are limited to ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string | number> = {}): void {
  const body = text ? text + '\n' : '';
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function sendXml(res: ServerResponse, status: number, xml: string, headers: Record<string, string | number> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/xml; charset=utf-8', 'Content-Length': Buffer.byteLength(xml), ...headers });
  res.end(xml);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string | number> = {}): void {
  res.writeHead(status, { 'Content-Length': 0, ...headers });
  res.end();
}

/** Writes and waits for the socket to take it (backpressure for streamed responses). */
export function write(res: ServerResponse, chunk: string | Buffer): Promise<void> | void {
  if (res.write(chunk)) return;
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      res.off('drain', ok);
      res.off('close', closed);
      if (err) reject(err);
      else resolve();
    };
    const ok = () => done();
    const closed = () => done(new Error('The client went away'));
    res.once('drain', ok);
    res.once('close', closed);
  });
}

export function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Unknown'}`;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  207: 'Multi-Status',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  423: 'Locked',
  424: 'Failed Dependency',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
};
