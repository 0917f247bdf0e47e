// GET and HEAD: files stream from the replicas through Volume.openDownload (failover and
// checksum checks included) with single byte ranges and the usual conditional headers;
// collections get a small HTML index, streamed a page at a time.
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { parseRange } from '../storage/range.ts';
import type { VolumeStat } from '../vfs/volume.ts';
import type { DavRequest } from './context.ts';
import { sendEmpty, write } from './http.ts';
import { contentTypeFor } from './mime.ts';
import { hrefFor, joinPath } from './paths.ts';
import { escapeAttr, escapeText } from './xml.ts';

export const ALLOWED_METHODS = 'OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK, UNLOCK';

export function options(res: ServerResponse): void {
  sendEmpty(res, 200, { DAV: '1, 2', Allow: ALLOWED_METHODS, 'MS-Author-Via': 'DAV', 'Accept-Ranges': 'bytes' });
}

export async function get(ctx: DavRequest, head: boolean): Promise<void> {
  const st = await ctx.stat(ctx.path);
  if (st.kind === 'dir') return index(ctx, st, head);

  const etag = await ctx.etagOf(st);
  const lastModified = st.mtime.toUTCString();
  const validators: Record<string, string> = { 'Last-Modified': lastModified, 'Accept-Ranges': 'bytes' };
  if (etag) validators.ETag = etag;
  const pre = preconditions(ctx, etag, st.mtime);
  if (pre === 412) return sendEmpty(ctx.res, 412);
  if (pre === 304) return sendEmpty(ctx.res, 304, validators);

  const ifRange = ctx.header('if-range');
  const rangeHeader = ifRange === undefined || ifRange === etag || ifRange === lastModified ? ctx.header('range') : undefined;
  const range = parseRange(rangeHeader, st.size);
  if (range.kind === 'unsatisfiable') return sendEmpty(ctx.res, 416, { 'Content-Range': `bytes */${st.size}`, ...validators });

  const start = range.kind === 'partial' ? range.start : 0;
  const end = range.kind === 'partial' ? range.end : st.size - 1;
  const headers: Record<string, string | number> = {
    ...validators,
    'Content-Type': contentTypeFor(st.name),
    'Content-Length': Math.max(0, end - start + 1),
  };
  if (range.kind === 'partial') headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
  const status = range.kind === 'partial' ? 206 : 200;
  if (head || st.size === 0) {
    ctx.res.writeHead(status, headers);
    ctx.res.end();
    return;
  }
  // A range that runs to the end (a resumed download) is verified like a whole read.
  const toEnd = end === st.size - 1;
  const download = await ctx.volume.openDownload(ctx.path, start, { verifyResume: toEnd });
  ctx.res.writeHead(status, headers);
  await send(ctx.res, download.stream, end - start + 1, range.kind === 'partial' && !toEnd);
}

/**
 * Copies `wanted` bytes to the client. A whole-file read holds its last chunk back until the
 * download has verified the checksum, so a corrupt file never arrives complete: the client
 * sees a short body and an aborted connection instead. A range stops reading at its end.
 */
async function send(res: ServerResponse, stream: Readable, wanted: number, partial: boolean): Promise<void> {
  let left = wanted;
  let held: Buffer | null = null;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
      left -= part.length;
      if (held) await write(res, held);
      held = part;
      if (left <= 0 && partial) break;
    }
    if (held) await write(res, held);
    res.end();
  } catch (err) {
    stream.destroy();
    res.destroy();
    throw err;
  }
}

/** 304 / 412 / null from If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since. */
function preconditions(ctx: DavRequest, etag: string | null, mtime: Date): 304 | 412 | null {
  const seconds = Math.floor(mtime.getTime() / 1000);
  const ifMatch = ctx.header('if-match');
  if (ifMatch !== undefined && !etagListMatches(ifMatch, etag)) return 412;
  const ifUnmod = ctx.header('if-unmodified-since');
  if (ifMatch === undefined && ifUnmod !== undefined) {
    const t = Date.parse(ifUnmod);
    if (!Number.isNaN(t) && seconds > Math.floor(t / 1000)) return 412;
  }
  const ifNone = ctx.header('if-none-match');
  if (ifNone !== undefined) return etagListMatches(ifNone, etag) ? 304 : null;
  const ifMod = ctx.header('if-modified-since');
  if (ifMod !== undefined) {
    const t = Date.parse(ifMod);
    if (!Number.isNaN(t) && seconds <= Math.floor(t / 1000)) return 304;
  }
  return null;
}

/** `*` or a list of entity tags, compared weakly. */
export function etagListMatches(header: string, etag: string | null): boolean {
  if (etag === null) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}

async function index(ctx: DavRequest, st: VolumeStat, head: boolean): Promise<void> {
  ctx.res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Last-Modified': st.mtime.toUTCString() });
  if (head) return void ctx.res.end();
  const title = escapeText(ctx.path);
  await write(ctx.res, `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><ul>\n`);
  if (ctx.path !== '/') await write(ctx.res, '<li><a href="../">../</a></li>\n');
  let out = '';
  for await (const e of ctx.volume.list(ctx.path)) {
    if (ctx.hidden(e.name)) continue;
    const dir = e.kind === 'dir';
    const href = hrefFor(joinPath(ctx.path, e.name), dir);
    out += `<li><a href="${escapeAttr(href)}">${escapeText(e.name)}${dir ? '/' : ''}</a>${dir ? '' : ` ${e.size} bytes`}</li>\n`;
    if (out.length > 32_768) {
      await write(ctx.res, out);
      out = '';
    }
  }
  ctx.res.end(out + '</ul></body></html>\n');
}
