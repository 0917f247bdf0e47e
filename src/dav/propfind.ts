// PROPFIND: the multistatus is streamed as the directory is paged through (Volume.list fetches
// a page at a time), with one query per batch for ETags and one per PROP_FETCH_BATCH entries
// for dead properties, so a 10 000-entry directory costs a few hundred queries. Each entry's
// <D:response> is rendered on its own and written once FLUSH_BYTES have gathered, waiting for
// the socket to drain: memory is bounded by one entry's properties and locks (state-limits.ts)
// and one small batch, however large the whole answer (issue 15: a Depth 1 built whole failed
// with 'Invalid string length').
import type { DavLock, DavProp } from '../tracker/types.ts';
import type { VolumeStat } from '../vfs/volume.ts';
import { lockCovers } from '../vfs/locks.ts';
import type { DavRequest } from './context.ts';
import { DavError, hasBody, write } from './http.ts';
import { hrefFor, joinPath } from './paths.ts';
import { needsDeadProps, needsEtags, needsLocks, needsQuota, renderResponse, type PropName, type PropRequest } from './props.ts';
import { etagFor } from './context.ts';
import { PROP_FETCH_BATCH } from './state-limits.ts';
import { DAV_NS, XML_DECL, elements, isDav, parseXml } from './xml.ts';

const BATCH = 250;
/** Rendered responses are gathered up to this size before each write (fewer, larger chunks). */
const FLUSH_BYTES = 64 * 1024;

export async function propfind(ctx: DavRequest): Promise<void> {
  const depth = parseDepth(ctx.header('depth'));
  const request = hasBody(ctx.req) ? parsePropfind(await ctx.body()) : ({ kind: 'allprop', include: [] } as PropRequest);
  const target = await ctx.stat(ctx.path);
  const isDir = target.kind === 'dir';
  if (isDir && depth === 'infinity' && !ctx.cfg.allowInfiniteDepth)
    throw new DavError(403, 'PROPFIND with Depth: infinity is not allowed here; use Depth: 1', 'propfind-finite-depth');

  const locks = needsLocks(request) ? (isDir && depth !== '0' ? await ctx.locksAround(ctx.path) : await ctx.locksCovering(ctx.path)) : [];
  const available = isDir && needsQuota(request) ? await ctx.volume.available() : undefined;
  const { res } = ctx;
  res.writeHead(207, { 'Content-Type': 'application/xml; charset=utf-8' });
  await write(res, `${XML_DECL}<D:multistatus xmlns:D="${DAV_NS}">`);
  await writeBatch(ctx, request, [{ path: ctx.path, stat: target }], locks, available);
  if (isDir && depth !== '0') await walk(ctx, request, ctx.path, depth === 'infinity', locks, available);
  res.end('</D:multistatus>\n');
}

async function walk(ctx: DavRequest, request: PropRequest, dir: string, deep: boolean, locks: DavLock[], available?: number): Promise<void> {
  let batch: Array<{ path: string; stat: VolumeStat }> = [];
  const subdirs: string[] = [];
  for await (const stat of ctx.volume.list(dir)) {
    if (ctx.hidden(stat.name)) continue;
    const path = joinPath(dir, stat.name);
    batch.push({ path, stat });
    if (deep && stat.kind === 'dir') subdirs.push(path);
    if (batch.length >= BATCH) {
      await writeBatch(ctx, request, batch, locks, available);
      batch = [];
    }
  }
  if (batch.length) await writeBatch(ctx, request, batch, locks, available);
  for (const sub of subdirs) await walk(ctx, request, sub, deep, locks, available);
}

async function writeBatch(
  ctx: DavRequest,
  request: PropRequest,
  batch: Array<{ path: string; stat: VolumeStat }>,
  locks: DavLock[],
  available?: number,
): Promise<void> {
  const fids = needsEtags(request) ? batch.flatMap((b) => (b.stat.fid === null ? [] : [b.stat.fid])) : [];
  const files = new Map((fids.length ? await ctx.store.getFiles(fids) : []).map((f) => [f.fid, f]));
  let out = '';
  for (let i = 0; i < batch.length; i += PROP_FETCH_BATCH) {
    const part = batch.slice(i, i + PROP_FETCH_BATCH);
    const dead = new Map<number, DavProp[]>();
    if (needsDeadProps(request)) {
      for (const p of await ctx.store.davProps(ctx.domainId, part.map((b) => b.stat.id))) {
        const list = dead.get(p.entryId);
        if (list) list.push(p);
        else dead.set(p.entryId, [p]);
      }
    }
    for (const { path, stat } of part) {
      const dp = locks.length ? ctx.volume.domainPath(path) : '';
      out += renderResponse(
        {
          href: hrefFor(path, stat.kind === 'dir'),
          stat,
          etag: stat.kind === 'file' ? etagFor(stat, stat.fid === null ? null : (files.get(stat.fid) ?? null)) : null,
          dead: dead.get(stat.id) ?? [],
          locks: locks.filter((l) => lockCovers(l, dp)),
          lockRootHref: (l) => ctx.lockRootHref(l),
          available,
        },
        request,
      );
      if (out.length >= FLUSH_BYTES) {
        await send(ctx, out);
        out = '';
      }
    }
  }
  if (out) await send(ctx, out);
}

/** A client gone before a write would never drain: stop rendering for it instead of waiting. */
async function send(ctx: DavRequest, chunk: string): Promise<void> {
  if (ctx.res.destroyed) throw new Error('The client went away during a PROPFIND');
  await write(ctx.res, chunk);
}

export function parseDepth(value: string | undefined): '0' | '1' | 'infinity' {
  const v = (value ?? 'infinity').trim().toLowerCase();
  if (v === '0' || v === '1' || v === 'infinity') return v;
  throw new DavError(400, `Bad Depth header: ${value}`);
}

export function parsePropfind(body: string): PropRequest {
  const root = parseXml(body);
  if (!isDav(root, 'propfind')) throw new DavError(400, 'The body of a PROPFIND must be a DAV:propfind element');
  const kids = elements(root);
  const names = (el: (typeof kids)[number]): PropName[] => elements(el).map((p) => ({ ns: p.ns, name: p.name }));
  const prop = kids.find((k) => isDav(k, 'prop'));
  if (kids.some((k) => isDav(k, 'propname'))) return { kind: 'propname' };
  if (kids.some((k) => isDav(k, 'allprop'))) {
    const include = kids.find((k) => isDav(k, 'include'));
    return { kind: 'allprop', include: include ? names(include) : [] };
  }
  if (prop) return { kind: 'prop', names: names(prop) };
  throw new DavError(400, 'A DAV:propfind must ask for prop, allprop or propname');
}
