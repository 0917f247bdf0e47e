// Limits on the WebDAV state a client can make the server keep: dead properties and locks.
// Both live in the shared database and are read back into memory by every PROPFIND, LOCK and
// lock check, so without limits one user could make each listing cost gigabytes (issue 15:
// 359 LOCKs with 200 KB owners made a PROPFIND of / 82 MB). The checks run in the handlers,
// before anything is stored; what goes over a limit is refused whole and never stored.
//
// The figures bound what one request can load: the dead properties of one resource
// (≤ MAX_PROPS_BYTES_PER_RESOURCE), the locks of one domain (≤ MAX_LOCKS_PER_DOMAIN locks of
// ≤ MAX_LOCK_OWNER_BYTES owner each, about 17 MiB), and PROPFIND fetches dead properties for
// PROP_FETCH_BATCH entries at a time (≤ 8 MiB). docs/webdav.md lists them.
import type { DavLock, DavProp, DavPropPatch } from '../tracker/types.ts';

/** One dead property's value, as stored (its XML content). */
export const MAX_PROP_VALUE_BYTES = 64 * 1024;
/** Dead properties on one resource. */
export const MAX_PROPS_PER_RESOURCE = 100;
/** All dead properties of one resource together: namespaces, names and values. */
export const MAX_PROPS_BYTES_PER_RESOURCE = 256 * 1024;
/** The DAV:owner XML of one lock, as stored. */
export const MAX_LOCK_OWNER_BYTES = 4 * 1024;
/** Active locks rooted at one resource (only shared locks can stack). */
export const MAX_LOCKS_PER_RESOURCE = 64;
/** Active locks one user holds in the domain. */
export const MAX_LOCKS_PER_USER = 1000;
/** Active locks in one domain, all users together. */
export const MAX_LOCKS_PER_DOMAIN = 4000;
/** Entries whose dead properties PROPFIND loads at once: 32 × 256 KiB = 8 MiB at most. */
export const PROP_FETCH_BATCH = 32;
/** Elements nested in a request body (a property value may hold XML, but never this deep). */
export const MAX_XML_DEPTH = 100;
/** Elements in a request body: far more than 2 × 100 properties with structured values need. */
export const MAX_XML_ELEMENTS = 20_000;

function propBytes(ns: string, name: string, value: string): number {
  return Buffer.byteLength(ns) + Buffer.byteLength(name) + Buffer.byteLength(value);
}

/**
 * Which operations of a PROPPATCH would break a limit, each with the reason: a value larger than
 * MAX_PROP_VALUE_BYTES, or the resource's properties after the whole patch (`existing` with the
 * operations applied in document order) more than MAX_PROPS_PER_RESOURCE or
 * MAX_PROPS_BYTES_PER_RESOURCE. For the totals, the sets whose property survives the patch are
 * blamed (the new names for the count, every surviving set for the bytes).
 */
export function propLimitViolations(existing: DavProp[], ops: DavPropPatch[]): Map<DavPropPatch, string> {
  const out = new Map<DavPropPatch, string>();
  const state = new Map<string, { bytes: number; setBy?: DavPropPatch }>();
  for (const p of existing) state.set(`${p.ns}\n${p.name}`, { bytes: propBytes(p.ns, p.name, p.value) });
  const before = new Set(state.keys());
  for (const op of ops) {
    const key = `${op.ns}\n${op.name}`;
    if (op.op === 'remove') {
      state.delete(key);
      continue;
    }
    if (Buffer.byteLength(op.value) > MAX_PROP_VALUE_BYTES) out.set(op, `A property value may hold at most ${MAX_PROP_VALUE_BYTES} bytes`);
    state.set(key, { bytes: propBytes(op.ns, op.name, op.value), setBy: op });
  }
  if (state.size > MAX_PROPS_PER_RESOURCE) {
    for (const [key, s] of state)
      if (s.setBy && !before.has(key) && !out.has(s.setBy)) out.set(s.setBy, `A resource may have at most ${MAX_PROPS_PER_RESOURCE} dead properties`);
  }
  let total = 0;
  for (const s of state.values()) total += s.bytes;
  if (total > MAX_PROPS_BYTES_PER_RESOURCE) {
    for (const s of state.values())
      if (s.setBy && !out.has(s.setBy)) out.set(s.setBy, `The dead properties of a resource may hold at most ${MAX_PROPS_BYTES_PER_RESOURCE} bytes in all`);
  }
  return out;
}

/** Why one more lock (rooted at `path`, taken by `principal`) would break a limit, or null. */
export function lockCountViolation(domainLocks: DavLock[], path: string, principal: string): string | null {
  if (domainLocks.filter((l) => l.path === path).length >= MAX_LOCKS_PER_RESOURCE)
    return `A resource may carry at most ${MAX_LOCKS_PER_RESOURCE} locks at once`;
  if (domainLocks.filter((l) => l.principal === principal).length >= MAX_LOCKS_PER_USER)
    return `A user may hold at most ${MAX_LOCKS_PER_USER} locks at once; release some (UNLOCK) or let them expire`;
  if (domainLocks.length >= MAX_LOCKS_PER_DOMAIN) return `This domain already has ${MAX_LOCKS_PER_DOMAIN} locks, the most it may have at once`;
  return null;
}
