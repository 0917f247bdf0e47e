// The DavState role: WebDAV dead properties (keyed by entry) and locks (keyed by path), shared by
// every dav front-end. DavWork holds the SQL as units of work over the Driver seam (driver.ts), so
// both databases share one implementation; SqlDavState checks the arguments, runs them in
// transactions and charges what they add to the user's quota (quota.ts).
import { ErrorCodes, mogError } from '../../errors.ts';
import { ROOT_ID } from '../types.ts';
import type { DavLock, DavProp, DavPropPatch, DavState, NewDavLock, QuotaHolder } from '../types.ts';
import type { Dialect, Driver, Work } from './driver.ts';
import { all, get, placeholders, run } from './driver.ts';
import { checkHolder, QuotaWork } from './quota.ts';
import { checkId, checkInt, checkLabel, checkTime, num, str } from './rows.ts';

const invalid = (msg: string) => mogError(ErrorCodes.INVALID_ARGUMENT, msg);

const MAX_NS_BYTES = 1024;
const MAX_PROP_NAME_BYTES = 255;
const MAX_PROP_VALUE_BYTES = 1024 * 1024;
const MAX_LOCK_PATH_BYTES = 8192;
const MAX_TOKEN_BYTES = 255;
/** Entry ids per IN list: well under both databases' parameter limits. */
const IN_BATCH = 500;

const LOCK_COLS = 'token, domain_id, path, depth, scope, owner, principal, timeout_ms, expires_at';

function checkPropName(ns: unknown, name: unknown): void {
  if (typeof ns !== 'string' || Buffer.byteLength(ns) > MAX_NS_BYTES) throw invalid(`A property namespace must be text of at most ${MAX_NS_BYTES} bytes`);
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > MAX_PROP_NAME_BYTES)
    throw invalid(`A property name must be 1 to ${MAX_PROP_NAME_BYTES} bytes`);
}

function checkPatch(ops: DavPropPatch[]): DavPropPatch[] {
  if (!Array.isArray(ops)) throw invalid('Property changes must be a list');
  for (const op of ops) {
    checkPropName(op.ns, op.name);
    if (op.op === 'set') {
      if (typeof op.value !== 'string' || Buffer.byteLength(op.value) > MAX_PROP_VALUE_BYTES)
        throw invalid(`A property value must be text of at most ${MAX_PROP_VALUE_BYTES} bytes`);
    } else if (op.op !== 'remove') {
      throw invalid('A property change is either set or remove');
    }
  }
  return ops;
}

/** A lock root: '/' or '/a/b', no trailing slash, no empty segment. */
function checkLockPath(path: unknown): string {
  if (typeof path !== 'string' || !path.startsWith('/') || (path !== '/' && (path.endsWith('/') || path.includes('//'))))
    throw invalid(`Lock path ${JSON.stringify(path)} must be absolute, like / or /a/b`);
  if (Buffer.byteLength(path) > MAX_LOCK_PATH_BYTES) throw invalid(`Lock path longer than ${MAX_LOCK_PATH_BYTES} bytes`);
  return path;
}

function checkNewLock(l: NewDavLock): NewDavLock {
  if (typeof l.token !== 'string' || l.token.length === 0 || Buffer.byteLength(l.token) > MAX_TOKEN_BYTES)
    throw invalid(`A lock token must be 1 to ${MAX_TOKEN_BYTES} bytes`);
  checkId('Domain id', l.domainId);
  checkLockPath(l.path);
  if (l.depth !== '0' && l.depth !== 'infinity') throw invalid('Lock depth must be 0 or infinity');
  if (l.scope !== 'exclusive' && l.scope !== 'shared') throw invalid('Lock scope must be exclusive or shared');
  if (l.owner !== null && typeof l.owner !== 'string') throw invalid('Lock owner must be text or null');
  checkLabel('Lock principal', l.principal);
  checkInt('Lock timeout', l.timeoutMs, 1);
  return l;
}

function checkTimes(now: number, timeoutMs?: number): void {
  checkTime('Now', now);
  if (timeoutMs !== undefined) checkInt('Lock timeout', timeoutMs, 1);
}

/** '/a/b/c' → ['/', '/a', '/a/b']. */
function ancestorsOf(path: string): string[] {
  if (path === '/') return [];
  const parts = path.split('/').slice(1, -1);
  const out = ['/'];
  for (let i = 1; i <= parts.length; i++) out.push('/' + parts.slice(0, i).join('/'));
  return out;
}

/**
 * The byte range holding every path strictly below `path`: ['/a/', '/a0') for '/a' ('0' follows
 * '/' in byte order), and everything but '/' itself for the root.
 */
function belowRange(path: string): { sql: string; params: string[] } {
  if (path === '/') return { sql: 'path > ?', params: ['/'] };
  return { sql: 'path >= ? AND path < ?', params: [path + '/', path + '0'] };
}

function toLock(r: Record<string, unknown>): DavLock {
  return {
    token: str(r.token),
    domainId: num(r.domain_id),
    path: str(r.path),
    depth: str(r.depth) === 'infinity' ? 'infinity' : '0',
    scope: str(r.scope) === 'shared' ? 'shared' : 'exclusive',
    owner: r.owner == null ? null : str(r.owner),
    principal: str(r.principal),
    timeoutMs: num(r.timeout_ms),
    expiresAt: num(r.expires_at),
  };
}

function toProp(r: Record<string, unknown>): DavProp {
  return { entryId: num(r.entry_id), ns: str(r.ns), name: str(r.name), value: str(r.value) };
}

class DavWork {
  constructor(private readonly d: Dialect) {}

  *props(domainId: number, entryIds: number[]): Work<DavProp[]> {
    const ids = [...new Set(entryIds)];
    const out: DavProp[] = [];
    for (let i = 0; i < ids.length; i += IN_BATCH) {
      const batch = ids.slice(i, i + IN_BATCH);
      const rows = yield* all(
        `SELECT entry_id, ns, name, value FROM dav_props WHERE domain_id = ? AND entry_id IN ${placeholders(batch.length)}`,
        domainId, ...batch,
      );
      out.push(...rows.map(toProp));
    }
    const order = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    return out.sort((a, b) => a.entryId - b.entryId || order(a.ns, b.ns) || order(a.name, b.name));
  }

  /** Checks that the entry exists and keeps it so until commit (the root always exists). */
  private *entryWork(domainId: number, entryId: number): Work<void> {
    if (entryId === ROOT_ID) {
      if (!(yield* get(`SELECT id FROM domains WHERE id = ?${this.d.forShare}`, domainId))) throw mogError(ErrorCodes.NOT_FOUND, `Domain ${domainId} does not exist`);
      return;
    }
    if (!(yield* get(`SELECT id FROM entries WHERE id = ? AND domain_id = ?${this.d.forShare}`, entryId, domainId)))
      throw mogError(ErrorCodes.NOT_FOUND, 'The file or directory no longer exists');
  }

  *patch(domainId: number, entryId: number, ops: DavPropPatch[]): Work<void> {
    yield* this.entryWork(domainId, entryId);
    for (const op of ops) {
      yield* run('DELETE FROM dav_props WHERE domain_id = ? AND entry_id = ? AND ns = ? AND name = ?', domainId, entryId, op.ns, op.name);
      if (op.op === 'set') {
        yield* run('INSERT INTO dav_props (domain_id, entry_id, ns, name, value) VALUES (?, ?, ?, ?, ?)', domainId, entryId, op.ns, op.name, op.value);
      }
    }
  }

  *copy(domainId: number, fromId: number, toId: number): Work<void> {
    yield* this.entryWork(domainId, toId);
    yield* run('DELETE FROM dav_props WHERE domain_id = ? AND entry_id = ?', domainId, toId);
    if (fromId === toId) return;
    yield* run(
      `INSERT INTO dav_props (domain_id, entry_id, ns, name, value)
       SELECT domain_id, ?, ns, name, value FROM dav_props WHERE domain_id = ? AND entry_id = ?`,
      toId, domainId, fromId,
    );
  }

  *purge(now: number): Work<{ props: number; locks: number }> {
    const props = yield* run(
      `DELETE FROM dav_props WHERE
         (entry_id <> ${ROOT_ID} AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.id = dav_props.entry_id AND e.domain_id = dav_props.domain_id))
         OR (entry_id = ${ROOT_ID} AND NOT EXISTS (SELECT 1 FROM domains d WHERE d.id = dav_props.domain_id))`,
    );
    const locks = yield* run('DELETE FROM dav_locks WHERE expires_at <= ?', now);
    return { props: props.changes, locks: locks.changes };
  }

  /** Active locks at `path`, at its ancestors, and (with descendants) below it. */
  *locksAt(domainId: number, path: string, descendants: boolean, now: number, lock = ''): Work<DavLock[]> {
    const exact = [path, ...ancestorsOf(path)];
    const rows = yield* all(
      `SELECT ${LOCK_COLS} FROM dav_locks WHERE domain_id = ? AND expires_at > ? AND path IN ${placeholders(exact.length)}${lock}`,
      domainId, now, ...exact,
    );
    if (descendants) {
      const below = belowRange(path);
      rows.push(...(yield* all(`SELECT ${LOCK_COLS} FROM dav_locks WHERE domain_id = ? AND expires_at > ? AND ${below.sql}${lock}`, domainId, now, ...below.params)));
    }
    return rows.map(toLock).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.token < b.token ? -1 : 1));
  }

  *create(l: NewDavLock, now: number): Work<DavLock> {
    // One lock creation at a time per domain: the conflict check and the insert must not
    // interleave with another front-end's (SQLite's write transaction already serialises).
    if (!(yield* get(`SELECT id FROM domains WHERE id = ?${this.d.forUpdate}`, l.domainId)))
      throw mogError(ErrorCodes.NOT_FOUND, `Domain ${l.domainId} does not exist`);
    const existing = yield* this.locksAt(l.domainId, l.path, l.depth === 'infinity', now);
    const conflict = existing.find(
      (e) => (e.path === l.path || e.depth === 'infinity' || e.path.length > l.path.length) && (e.scope === 'exclusive' || l.scope === 'exclusive'),
    );
    if (conflict) throw mogError(ErrorCodes.LOCKED, `${l.path} is locked (${conflict.scope} lock on ${conflict.path})`);
    yield* run('DELETE FROM dav_locks WHERE token = ? AND expires_at <= ?', l.token, now);
    if (yield* get('SELECT token FROM dav_locks WHERE token = ?', l.token)) throw mogError(ErrorCodes.EXISTS, 'That lock token is already in use');
    const expiresAt = now + l.timeoutMs;
    yield* run(
      `INSERT INTO dav_locks (${LOCK_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      l.token, l.domainId, l.path, l.depth, l.scope, l.owner, l.principal, l.timeoutMs, expiresAt,
    );
    return { ...l, expiresAt };
  }

  *getLock(token: string, now: number): Work<DavLock | null> {
    const r = yield* get(`SELECT ${LOCK_COLS} FROM dav_locks WHERE token = ? AND expires_at > ?`, token, now);
    return r ? toLock(r) : null;
  }

  *refresh(token: string, timeoutMs: number, now: number): Work<DavLock> {
    const r = yield* get(`SELECT ${LOCK_COLS} FROM dav_locks WHERE token = ? AND expires_at > ?${this.d.forUpdate}`, token, now);
    if (!r) throw mogError(ErrorCodes.NOT_FOUND, 'That lock has expired or was removed');
    const expiresAt = now + timeoutMs;
    yield* run('UPDATE dav_locks SET timeout_ms = ?, expires_at = ? WHERE token = ?', timeoutMs, expiresAt, token);
    return { ...toLock(r), timeoutMs, expiresAt };
  }

  *remove(token: string): Work<boolean> {
    const { changes } = yield* run('DELETE FROM dav_locks WHERE token = ?', token);
    return changes > 0;
  }

  *removeUnder(domainId: number, path: string): Work<number> {
    const below = belowRange(path);
    const a = yield* run('DELETE FROM dav_locks WHERE domain_id = ? AND path = ?', domainId, path);
    const b = yield* run(`DELETE FROM dav_locks WHERE domain_id = ? AND ${below.sql}`, domainId, ...below.params);
    return a.changes + b.changes;
  }
}

export class SqlDavState implements DavState {
  private readonly dav: DavWork;
  private readonly quota: QuotaWork;

  constructor(private readonly driver: Driver) {
    this.dav = new DavWork(driver.dialect);
    this.quota = new QuotaWork(driver.dialect);
  }

  async davProps(domainId: number, entryIds: number[]): Promise<DavProp[]> {
    entryIds.forEach((id) => checkInt('Entry id', id, 0));
    if (entryIds.length === 0) return [];
    return this.driver.read(() => this.dav.props(domainId, entryIds));
  }

  async patchDavProps(domainId: number, entryId: number, ops: DavPropPatch[], holder?: QuotaHolder): Promise<void> {
    checkId('Domain id', domainId);
    checkInt('Entry id', entryId, 0);
    checkPatch(ops);
    if (holder) checkHolder(holder);
    const { dav, quota } = this;
    return this.driver.write(function* () {
      if (!holder) return yield* dav.patch(domainId, entryId, ops);
      // Applied, then measured: the transaction rolls back when it put the user over quota.
      const user = yield* quota.lockUser(holder.userId);
      const before = yield* quota.entryPropBytes(domainId, entryId);
      yield* dav.patch(domainId, entryId, ops);
      const after = yield* quota.entryPropBytes(domainId, entryId);
      yield* quota.assertWithin(user, holder.homeId, after - before, Date.now());
    });
  }

  async copyDavProps(domainId: number, fromId: number, toId: number): Promise<void> {
    checkInt('Entry id', fromId, 0);
    checkInt('Entry id', toId, 0);
    return this.driver.write(() => this.dav.copy(domainId, fromId, toId));
  }

  async purgeDavState(now: number): Promise<{ props: number; locks: number }> {
    checkTimes(now);
    return this.driver.write(() => this.dav.purge(now));
  }

  async createDavLock(lock: NewDavLock, now: number, holder?: QuotaHolder): Promise<DavLock> {
    checkNewLock(lock);
    checkTimes(now);
    if (holder) checkHolder(holder);
    const { dav, quota } = this;
    return this.driver.write(function* () {
      if (!holder) return yield* dav.create(lock, now);
      const user = yield* quota.lockUser(holder.userId);
      const created = yield* dav.create(lock, now);
      yield* quota.assertWithin(user, holder.homeId, lock.owner === null ? 0 : Buffer.byteLength(lock.owner), now);
      return created;
    });
  }

  async davLocksAt(domainId: number, path: string, opts: { descendants: boolean; now: number }): Promise<DavLock[]> {
    checkLockPath(path);
    checkTimes(opts.now);
    return this.driver.read(() => this.dav.locksAt(domainId, path, opts.descendants, opts.now));
  }

  async getDavLock(token: string, now: number): Promise<DavLock | null> {
    checkTimes(now);
    return this.driver.read(() => this.dav.getLock(token, now));
  }

  async refreshDavLock(token: string, timeoutMs: number, now: number): Promise<DavLock> {
    checkTimes(now, timeoutMs);
    return this.driver.write(() => this.dav.refresh(token, timeoutMs, now));
  }

  async removeDavLock(token: string): Promise<boolean> {
    return this.driver.write(() => this.dav.remove(token));
  }

  async removeDavLocksUnder(domainId: number, path: string): Promise<number> {
    checkLockPath(path);
    return this.driver.write(() => this.dav.removeUnder(domainId, path));
  }
}
