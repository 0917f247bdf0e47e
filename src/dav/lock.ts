// LOCK and UNLOCK (RFC 4918 §9.10, §9.11). Write locks only, exclusive or shared, depth 0 or
// infinity; they are rows in the shared database, so every dav front-end honours them.
// A LOCK on an unmapped URL creates an empty file, as RFC 4918 §7.3 asks.
// Limits (state-limits.ts): an owner larger than MAX_LOCK_OWNER_BYTES is a request the server
// will not process (400); a lock over the per-resource, per-user or per-domain count is one it
// cannot keep now (507, RFC 4918 §11.5: temporary, until locks are released or expire).
import { randomUUID } from 'node:crypto';
import type { DavLock, DavLockScope } from '../tracker/types.ts';
import { lockCovers } from '../vfs/locks.ts';
import type { DavRequest } from './context.ts';
import { DavError, hasBody, sendEmpty, sendXml } from './http.ts';
import { activeLock } from './props.ts';
import { lockCountViolation, MAX_LOCK_OWNER_BYTES } from './state-limits.ts';
import { DAV_NS, XML_DECL, child, elements, isDav, parseXml, serializeContent } from './xml.ts';

export async function lock(ctx: DavRequest): Promise<void> {
  ctx.assertWritable();
  const timeoutMs = parseTimeout(ctx.header('timeout'), ctx.cfg.defaultLockTimeoutMs, ctx.cfg.maxLockTimeoutMs);
  if (!hasBody(ctx.req)) return refresh(ctx, timeoutMs);

  const depthHeader = (ctx.header('depth') ?? 'infinity').trim().toLowerCase();
  if (depthHeader !== '0' && depthHeader !== 'infinity') throw new DavError(400, 'A LOCK takes Depth: 0 or infinity');
  const info = parseLockInfo(await ctx.body());
  await ctx.checkIf();

  let target = await ctx.statOrNull(ctx.path);
  if (ctx.refused(ctx.path)) target = null;
  const created = !target;
  if (created) {
    ctx.assertCreatable(ctx.path);
    await ctx.parentMustBeCollection(ctx.path);
    await ctx.assertUnlocked([{ path: ctx.path, member: true }]);
  }
  // Counted here, not in the store's transaction: front-ends locking at the same instant can
  // each pass the check, so a limit may be overshot by the number of concurrent LOCKs.
  const domainLocks = await ctx.store.davLocksAt(ctx.domainId, '/', { descendants: true, now: Date.now() });
  const over = lockCountViolation(domainLocks, ctx.volume.domainPath(ctx.path), ctx.userName);
  if (over) throw new DavError(507, over);
  const lock = await ctx.store.createDavLock(
    {
      token: `opaquelocktoken:${randomUUID()}`,
      domainId: ctx.domainId,
      path: ctx.volume.domainPath(ctx.path),
      // A file has no members for a deep lock to cover.
      depth: target?.kind === 'dir' && depthHeader === 'infinity' ? 'infinity' : '0',
      scope: info.scope,
      owner: info.owner,
      principal: ctx.userName,
      timeoutMs,
    },
    Date.now(),
    ctx.volume.quotaHolder, // the owner's bytes count against the user's quota (507 over it)
  );
  if (created) {
    try {
      const upload = await ctx.volume.openUpload(ctx.path);
      await new Promise<void>((resolve, reject) => upload.end((err?: Error | null) => (err ? reject(err) : resolve())));
    } catch (err) {
      await ctx.store.removeDavLock(lock.token).catch(() => {});
      throw err;
    }
  }
  sendXml(ctx.res, created ? 201 : 200, lockBody(ctx, lock), { 'Lock-Token': `<${lock.token}>` });
}

/** A LOCK without a body refreshes the lock(s) named in the If header that apply here. */
async function refresh(ctx: DavRequest, timeoutMs: number): Promise<void> {
  const submitted = ctx.tokens();
  if (submitted.size === 0) throw new DavError(400, 'A LOCK refresh needs the lock token in an If header');
  await ctx.checkIf();
  const dp = ctx.volume.domainPath(ctx.path);
  const now = Date.now();
  const refreshed: DavLock[] = [];
  for (const token of submitted) {
    const l = await ctx.store.getDavLock(token, now);
    if (!l || l.domainId !== ctx.domainId || !lockCovers(l, dp) || l.principal !== ctx.userName) continue;
    refreshed.push(await ctx.store.refreshDavLock(token, timeoutMs, now));
  }
  if (refreshed.length === 0) throw new DavError(412, 'No lock named in the If header applies to this resource', 'lock-token-matches-request-uri');
  sendXml(ctx.res, 200, lockBody(ctx, ...refreshed));
}

export async function unlock(ctx: DavRequest): Promise<void> {
  const m = /^\s*<([^>]+)>\s*$/.exec(ctx.header('lock-token') ?? '');
  if (!m) throw new DavError(400, 'UNLOCK needs a Lock-Token header: <token>');
  const token = m[1]!;
  const l = await ctx.store.getDavLock(token, Date.now());
  if (!l || l.domainId !== ctx.domainId || !lockCovers(l, ctx.volume.domainPath(ctx.path)))
    throw new DavError(409, 'No such lock applies to this resource', 'lock-token-matches-request-uri');
  if (l.principal !== ctx.userName) throw new DavError(403, 'That lock belongs to another user');
  await ctx.store.removeDavLock(token);
  sendEmpty(ctx.res, 204);
}

function lockBody(ctx: DavRequest, ...locks: DavLock[]): string {
  const active = locks.map((l) => activeLock(l, ctx.lockRootHref(l))).join('');
  return `${XML_DECL}<D:prop xmlns:D="${DAV_NS}"><D:lockdiscovery>${active}</D:lockdiscovery></D:prop>\n`;
}

function parseLockInfo(body: string): { scope: DavLockScope; owner: string | null } {
  const root = parseXml(body);
  if (!isDav(root, 'lockinfo')) throw new DavError(400, 'The body of a LOCK must be a DAV:lockinfo element');
  const scopeEl = child(root, DAV_NS, 'lockscope');
  const scope = scopeEl && elements(scopeEl)[0];
  if (!scope || scope.ns !== DAV_NS || (scope.name !== 'exclusive' && scope.name !== 'shared'))
    throw new DavError(400, 'DAV:lockscope must be exclusive or shared');
  const typeEl = child(root, DAV_NS, 'locktype');
  const type = typeEl && elements(typeEl)[0];
  if (!type || !isDav(type, 'write')) throw new DavError(400, 'Only DAV:write locks exist');
  const ownerEl = child(root, DAV_NS, 'owner');
  const owner = ownerEl ? serializeContent(ownerEl, '') : null;
  if (owner !== null && Buffer.byteLength(owner) > MAX_LOCK_OWNER_BYTES)
    throw new DavError(400, `A lock's DAV:owner may hold at most ${MAX_LOCK_OWNER_BYTES} bytes of XML`);
  return { scope: scope.name, owner };
}

/** `Timeout: Second-3600, Infinite`: the first one understood, capped by the server's maximum. */
export function parseTimeout(value: string | undefined, fallbackMs: number, maxMs: number): number {
  for (const part of (value ?? '').split(',')) {
    const t = part.trim();
    if (/^infinite$/i.test(t)) return maxMs;
    const m = /^second-(\d+)$/i.exec(t);
    if (m) return Math.min(maxMs, Math.max(1000, Number(m[1]) * 1000));
  }
  return Math.min(fallbackMs, maxMs);
}
