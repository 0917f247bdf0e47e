// One WebDAV request as the handlers see it: the user's Volume, the target path, and the
// checks every modifying method shares: the If header (RFC 4918 §10.4) and the locks held on
// the resources it touches (§7). Locks live in the shared database, so these checks hold
// across every `mogftp dav` process of a cluster.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCodes, isMogError } from '../errors.ts';
import type { LogFn } from '../log.ts';
import type { DavLock, DavState, FileRow, Replicas } from '../tracker/types.ts';
import { lockCovers, locksInWay } from '../vfs/locks.ts';
import type { Volume, VolumeStat } from '../vfs/volume.ts';
import { continued, DavError, readSmallBody } from './http.ts';
import { IfHeaderError, parseIfHeader, sameEtag, submittedTokens, type IfList } from './if-header.ts';
import { isOsMetadataName, type OsFilesMode } from './os-files.ts';
import { baseName, hrefFor, isWithin, parentPath, parseUrlPath } from './paths.ts';
import { escapeText } from './xml.ts';

/**
 * The store roles the handlers use beside their Volume: locks and dead properties (DavState)
 * and file rows, for ETags (Replicas). Everything below a path goes through the Volume.
 */
export type DavStore = DavState & Pick<Replicas, 'getFile' | 'getFiles'>;

export interface DavConfig {
  store: DavStore;
  osFiles: OsFilesMode;
  /** Answer PROPFIND with Depth: infinity on a collection (403 by default: it can walk the whole tree). */
  allowInfiniteDepth: boolean;
  defaultLockTimeoutMs: number;
  maxLockTimeoutMs: number;
  log: LogFn;
}

/** What a modifying request touches, for the lock check. */
export interface Touch {
  path: string;
  /** The request changes what is below it too (DELETE, MOVE source, overwritten collection). */
  tree?: boolean;
  /** The request adds or removes this name in its parent (a lock on the parent protects its members). */
  member?: boolean;
}

const NO_LOCK = 'DAV:no-lock';

export class DavRequest {
  private ifLists: IfList[] | null | undefined;
  private readonly states = new Map<string, Promise<{ etag: string | null; tokens: Set<string> }>>();

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly volume: Volume,
    readonly cfg: DavConfig,
    /** The request path below the home, '/' or '/a/b'. */
    readonly path: string,
    private readonly expectsContinue: boolean,
  ) {}

  get store(): DavStore {
    return this.cfg.store;
  }

  get domainId(): number {
    return this.volume.user.domainId;
  }

  get userName(): string {
    return this.volume.user.name;
  }

  header(name: string): string | undefined {
    const v = this.req.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(', ') : v;
  }

  /** Tells a client waiting on `Expect: 100-continue` to send its body. */
  continue(): void {
    if (this.expectsContinue && !this.res.headersSent && !continued.has(this.req)) {
      continued.add(this.req);
      this.res.writeContinue();
    }
  }

  async body(): Promise<string> {
    this.continue();
    return readSmallBody(this.req);
  }

  async statOrNull(path: string): Promise<VolumeStat | null> {
    try {
      return await this.volume.stat(path);
    } catch (err) {
      if (isMogError(err, ErrorCodes.NOT_FOUND) || isMogError(err, ErrorCodes.NOT_A_DIRECTORY)) return null;
      throw err;
    }
  }

  async stat(path: string): Promise<VolumeStat> {
    const st = await this.statOrNull(path);
    if (!st || this.refused(path)) throw new DavError(404, `${path}: no such file or collection`);
    return st;
  }

  /** In "refuse" mode OS metadata files do not exist for WebDAV clients and cannot be made. */
  refused(path: string): boolean {
    return this.cfg.osFiles === 'refuse' && path !== '/' && isOsMetadataName(baseName(path));
  }

  assertCreatable(path: string): void {
    if (this.refused(path)) throw new DavError(403, `${baseName(path)} is an OS metadata file, which this server does not store`);
  }

  hidden(name: string): boolean {
    return this.cfg.osFiles !== 'off' && isOsMetadataName(name);
  }

  async fileOf(st: VolumeStat): Promise<FileRow | null> {
    return st.fid === null ? null : this.store.getFile(st.fid);
  }

  async etagOf(st: VolumeStat): Promise<string | null> {
    return st.kind === 'file' ? etagFor(st, await this.fileOf(st)) : null;
  }

  // --- If header ------------------------------------------------------------------------

  private lists(): IfList[] | null {
    if (this.ifLists === undefined) {
      const raw = this.header('if');
      try {
        this.ifLists = raw === undefined ? null : parseIfHeader(raw);
      } catch (err) {
        if (err instanceof IfHeaderError) throw new DavError(400, err.message);
        throw err;
      }
    }
    return this.ifLists;
  }

  /** Lock tokens the client submitted in its If header. */
  tokens(): Set<string> {
    const lists = this.lists();
    return lists ? submittedTokens(lists) : new Set();
  }

  /** 412 unless the If header (when there is one) holds: at least one of its lists is all true. */
  async checkIf(): Promise<void> {
    const lists = this.lists();
    if (!lists) return;
    for (const list of lists) {
      let path: string;
      try {
        path = list.resource === null ? this.path : parseUrlPath(list.resource).path;
      } catch {
        continue; // a resource we cannot name is in no state the list asks for
      }
      const state = await this.stateOf(path);
      const holds = list.conditions.every((c) => {
        const match = c.token !== undefined ? c.token !== NO_LOCK && state.tokens.has(c.token) : state.etag !== null && sameEtag(c.etag!, state.etag);
        return c.not ? !match : match;
      });
      if (holds) return;
    }
    throw new DavError(412, 'The If header does not hold for the resource');
  }

  private stateOf(path: string): Promise<{ etag: string | null; tokens: Set<string> }> {
    let state = this.states.get(path);
    if (!state) {
      state = (async () => {
        const st = this.refused(path) ? null : await this.statOrNull(path);
        const locks = await this.locksCovering(path);
        return { etag: st ? await this.etagOf(st) : null, tokens: new Set(locks.map((l) => l.token)) };
      })();
      this.states.set(path, state);
    }
    return state;
  }

  // --- locks ----------------------------------------------------------------------------

  /** Active locks that apply to `path`: rooted at it, or depth-infinity locks on an ancestor. */
  async locksCovering(path: string): Promise<DavLock[]> {
    const dp = this.volume.domainPath(path);
    const locks = await this.store.davLocksAt(this.domainId, dp, { descendants: false, now: Date.now() });
    return locks.filter((l) => lockCovers(l, dp));
  }

  /** Active locks at `path`, at its ancestors and below it, for a listing's lockdiscovery. */
  async locksAround(path: string): Promise<DavLock[]> {
    return this.store.davLocksAt(this.domainId, this.volume.domainPath(path), { descendants: true, now: Date.now() });
  }

  /**
   * 423 unless the client submitted a token for every lock in the way (RFC 4918 §7.4): locks on
   * each touched path, depth-infinity locks above it, locks on the parent when a member is added
   * or removed, and locks below it when the request changes a whole tree. Holding any one of
   * several shared locks on a resource is enough.
   */
  async assertUnlocked(touches: Touch[]): Promise<void> {
    const submitted = this.tokens();
    for (const t of touches) {
      const touch = { domainPath: this.volume.domainPath(t.path), shown: t.path, member: t.member, tree: t.tree };
      const inWay = await locksInWay(this.store, this.domainId, touch, Date.now());
      const mine = (l: DavLock) => submitted.has(l.token) && l.principal === this.userName;
      for (const l of inWay) {
        if (mine(l)) continue;
        if (l.scope === 'shared' && inWay.some((o) => o.scope === 'shared' && o.path === l.path && mine(o))) continue;
        throw new DavError(423, `${t.path} is locked`, 'lock-token-submitted', `<D:href>${escapeText(this.lockRootHref(l))}</D:href>`);
      }
    }
  }

  /** The href of a lock's root as this user sees it (a lock above the home shows as the home). */
  lockRootHref(l: DavLock): string {
    const home = this.volume.domainPath('/');
    if (!isWithin(l.path, home)) return '/';
    const rel = home === '/' ? l.path : l.path.slice(home.length) || '/';
    return hrefFor(rel, false);
  }

  /** Refuses writes by read-only accounts before any work is done. */
  assertWritable(): void {
    if (this.volume.readOnly) throw new DavError(403, 'Permission denied: this account is read-only');
  }

  async parentMustBeCollection(path: string): Promise<void> {
    const parent = await this.statOrNull(parentPath(path));
    if (!parent || parent.kind !== 'dir') throw new DavError(409, `The parent collection of ${path} does not exist`);
  }
}

/**
 * A file version's strong validator: its fid changes with every write and is never reused;
 * the checksum's start makes two copies of the same bytes recognisable.
 */
export function etagFor(st: { fid: number | null; size: number }, file: FileRow | null): string | null {
  if (st.fid === null) return null;
  const tail = file?.checksum ? file.checksum.slice(0, 16) : `s${st.size}`;
  return `"${st.fid.toString(36)}-${tail}"`;
}
