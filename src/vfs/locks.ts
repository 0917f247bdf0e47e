// WebDAV locks as every other door sees them. A LOCK taken over WebDAV is a row in the shared
// database (src/dav/lock.ts); a door that has no way to submit a lock token (FTP, later SFTP)
// must treat every active lock in the way as a refusal, or an FTP STOR would overwrite the file
// a WebDAV client is editing. The rule is RFC 4918 §7's, without tokens: a write is refused when
// a lock is rooted at the path or is a depth-infinity lock above it; adding or removing a name
// also needs the parent unlocked (a lock on a collection protects its membership); changing a
// whole tree (removing or renaming a directory) also needs no lock below it.
// The WebDAV door finds the same locks in the way (locksInWay), checks the client's tokens
// against them itself (src/dav/context.ts) and opens its volumes with honourLocks: false.
import { ErrorCodes, mogError } from '../errors.ts';
import type { DavLock, DavState } from '../tracker/types.ts';

/** One path a write touches, as a domain path ('/' or '/a/b'), and how. */
export interface LockTouch {
  domainPath: string;
  /** What the client calls it (below its home), for the refusal. */
  shown: string;
  /** The write adds or removes this name in its parent directory. */
  member?: boolean;
  /** The write changes what is below the path too (RMD, renaming a directory). */
  tree?: boolean;
}

/** True when `inner` is `outer` or below it (domain paths). */
export function isWithinPath(inner: string, outer: string): boolean {
  return outer === '/' || inner === outer || inner.startsWith(outer + '/');
}

/** A lock applies to `domainPath`: rooted at it, or depth infinity on an ancestor. */
export function lockCovers(l: Pick<DavLock, 'path' | 'depth'>, domainPath: string): boolean {
  return l.path === domainPath || (l.depth === 'infinity' && isWithinPath(domainPath, l.path));
}

function parentOf(domainPath: string): string | null {
  if (domainPath === '/') return null;
  const i = domainPath.lastIndexOf('/');
  return i <= 0 ? '/' : domainPath.slice(0, i);
}

/** The active locks that stand in the way of a write touching `t`. */
export async function locksInWay(store: Pick<DavState, 'davLocksAt'>, domainId: number, t: LockTouch, now: number): Promise<DavLock[]> {
  const parent = parentOf(t.domainPath);
  // Rooted at the path or at an ancestor (the parent included); with `tree`, below it as well.
  const locks = await store.davLocksAt(domainId, t.domainPath, { descendants: t.tree ?? false, now });
  return locks.filter(
    (l) => lockCovers(l, t.domainPath) || (t.member === true && l.path === parent) || (t.tree === true && isWithinPath(l.path, t.domainPath)),
  );
}

/** Refuses (LOCKED, FTP 450) a write any active lock stands in the way of. */
export async function assertNotLocked(store: Pick<DavState, 'davLocksAt'>, domainId: number, touches: LockTouch[], now = Date.now()): Promise<void> {
  for (const t of touches) {
    const inWay = await locksInWay(store, domainId, t, now);
    if (inWay.length === 0) continue;
    const l = inWay[0]!;
    const where = l.path === t.domainPath ? '' : isWithinPath(l.path, t.domainPath) ? ' (a lock below it)' : ' (a lock on a directory above it)';
    throw mogError(ErrorCodes.LOCKED, `${t.shown} is locked by a WebDAV client${where}; try again when the lock is released`);
  }
}
