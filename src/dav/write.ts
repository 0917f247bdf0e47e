// The modifying methods: PUT, MKCOL, DELETE, COPY, MOVE. Each checks the If header and the
// locks in its way, then calls the Volume. PUT answers 201/204 only after the Upload's
// 'finish', which comes after the durable commit (the same rule as FTP's 226); a client that
// goes away mid-body leaves nothing behind.
import { pipeline } from 'node:stream/promises';
import { ErrorCodes, isMogError } from '../errors.ts';
import { etagFor, type DavRequest } from './context.ts';
import { DavError, hasBody, sendEmpty } from './http.ts';
import { hrefFor, isWithin, parseUrlPath } from './paths.ts';
import { etagListMatches } from './read.ts';
import { copyTree, deleteTree } from './tree.ts';

export async function put(ctx: DavRequest): Promise<void> {
  ctx.assertWritable();
  if (ctx.path === '/') throw new DavError(405, 'The home collection cannot be replaced by a file');
  ctx.assertCreatable(ctx.path);
  if (ctx.header('content-range') !== undefined) throw new DavError(400, 'Partial PUT (Content-Range) is not supported');
  const existing = await ctx.statOrNull(ctx.path);
  if (existing?.kind === 'dir') throw new DavError(405, `${ctx.path} is a collection`);
  if (!existing) await ctx.parentMustBeCollection(ctx.path);

  const etag = existing ? await ctx.etagOf(existing) : null;
  const ifMatch = ctx.header('if-match');
  const ifNone = ctx.header('if-none-match');
  if ((ifMatch !== undefined && !etagListMatches(ifMatch, etag)) || (ifNone !== undefined && etagListMatches(ifNone, etag)))
    throw new DavError(412, 'The resource is not in the state the request is conditional on');
  await ctx.checkIf();
  await ctx.assertUnlocked([{ path: ctx.path, member: !existing }]);

  // A declared length is reserved against the quota whole, before the body is read (507 at once).
  const declared = Number(ctx.header('content-length') ?? NaN);
  const size = Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
  const upload = await ctx.volume.openUpload(ctx.path, { size, isCancelled: () => ctx.req.destroyed && !ctx.req.complete });
  ctx.continue();
  // pipeline resolves on the Upload's 'finish' (after the commit) and destroys (aborts) it if
  // the request body ends early or fails.
  await pipeline(ctx.req, upload);
  const entry = upload.commitResult!.entry;
  const file = await ctx.store.getFile(upload.fid).catch(() => null);
  const newEtag = etagFor({ fid: upload.fid, size: entry.size }, file);
  sendEmpty(ctx.res, existing ? 204 : 201, newEtag ? { ETag: newEtag } : {});
}

export async function mkcol(ctx: DavRequest): Promise<void> {
  ctx.assertWritable();
  if (hasBody(ctx.req)) throw new DavError(415, 'MKCOL with a body is not supported');
  if (ctx.path === '/' || (await ctx.statOrNull(ctx.path))) throw new DavError(405, `${ctx.path} already exists`);
  ctx.assertCreatable(ctx.path);
  await ctx.parentMustBeCollection(ctx.path);
  await ctx.checkIf();
  await ctx.assertUnlocked([{ path: ctx.path, member: true }]);
  try {
    await ctx.volume.mkdir(ctx.path);
  } catch (err) {
    if (isMogError(err, ErrorCodes.EXISTS)) throw new DavError(405, `${ctx.path} already exists`);
    if (isMogError(err, ErrorCodes.NOT_FOUND) || isMogError(err, ErrorCodes.NOT_A_DIRECTORY)) throw new DavError(409, `The parent collection of ${ctx.path} does not exist`);
    throw err;
  }
  sendEmpty(ctx.res, 201, { Location: hrefFor(ctx.path, true) });
}

export async function del(ctx: DavRequest): Promise<void> {
  ctx.assertWritable();
  if (ctx.path === '/') throw new DavError(403, 'The home collection cannot be deleted');
  const st = await ctx.stat(ctx.path);
  const depth = ctx.header('depth');
  if (st.kind === 'dir' && depth !== undefined && depth.trim().toLowerCase() !== 'infinity')
    throw new DavError(400, 'DELETE of a collection takes Depth: infinity');
  await ctx.checkIf();
  await ctx.assertUnlocked([{ path: ctx.path, tree: st.kind === 'dir', member: true }]);
  await deleteTree(ctx.volume, ctx.path, st);
  // RFC 4918 §9.6.1: the locks of a deleted resource and of its members go with it.
  await ctx.store.removeDavLocksUnder(ctx.domainId, ctx.volume.domainPath(ctx.path));
  sendEmpty(ctx.res, 204);
}

export async function copyOrMove(ctx: DavRequest, move: boolean): Promise<void> {
  ctx.assertWritable();
  const destHeader = ctx.header('destination');
  if (!destHeader) throw new DavError(400, `${move ? 'MOVE' : 'COPY'} needs a Destination header`);
  const dest = parseUrlPath(destHeader).path;
  const overwrite = (ctx.header('overwrite') ?? 'T').trim().toUpperCase();
  if (overwrite !== 'T' && overwrite !== 'F') throw new DavError(400, 'Overwrite must be T or F');
  const depth = (ctx.header('depth') ?? 'infinity').trim().toLowerCase();
  if (depth !== 'infinity' && (move || depth !== '0')) throw new DavError(400, `${move ? 'MOVE' : 'COPY'} does not take Depth: ${depth}`);

  const src = await ctx.stat(ctx.path);
  if (move && ctx.path === '/') throw new DavError(403, 'The home collection cannot be moved');
  if (dest === '/' || dest === ctx.path) throw new DavError(403, 'The source and destination are the same resource');
  if (isWithin(dest, ctx.path) || isWithin(ctx.path, dest)) throw new DavError(403, 'A resource cannot be copied or moved into itself or over its own parent');
  ctx.assertCreatable(dest);
  await ctx.parentMustBeCollection(dest);
  const existing = await ctx.statOrNull(dest);
  if (existing && overwrite === 'F') throw new DavError(412, `${dest} exists and Overwrite is F`);

  await ctx.checkIf();
  const touches = [{ path: dest, tree: existing?.kind === 'dir', member: true }];
  if (move) touches.push({ path: ctx.path, tree: src.kind === 'dir', member: true });
  await ctx.assertUnlocked(touches);

  // A file replaces a file in one step (rename and upload both swap atomically); anything
  // else in the way is deleted first, as RFC 4918 §9.8.4 describes.
  const replaceInPlace = existing?.kind === 'file' && src.kind === 'file';
  if (existing && !replaceInPlace) await deleteTree(ctx.volume, dest, existing);
  if (move) {
    await ctx.volume.rename(ctx.path, dest);
    // Locks belong to URLs: the source's do not follow it (RFC 4918 §9.9.4).
    await ctx.store.removeDavLocksUnder(ctx.domainId, ctx.volume.domainPath(ctx.path));
  } else {
    await copyTree(ctx.volume, ctx.store, ctx.path, src, dest, depth === 'infinity');
  }
  sendEmpty(ctx.res, existing ? 204 : 201, existing ? {} : { Location: hrefFor(dest, src.kind === 'dir') });
}
