// The protocol-neutral volume one logged-in user sees: paths are resolved inside the user's
// home (nothing can climb out of it), and every operation is a tracker call. Protocol adapters
// (src/ftp, later src/dav) translate their commands into these methods and map MogError codes
// to their own replies.
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ErrorCodes, mogError } from '../errors.ts';
import type { StorageClient } from '../storage/client.ts';
import { resolvePathComponents } from '../tracker/names.ts';
import { nearestDirClass, type Tracker } from '../tracker/tracker.ts';
import { ROOT_ID, type Entry, type QuotaHolder, type User } from '../tracker/types.ts';
import type { LogFn } from '../log.ts';
import { openDownload, verifyBeforeSendFromEnv } from './download.ts';
import { assertNotLocked, type LockTouch } from './locks.ts';
import { firstRequest, QUOTA_LEASE_MS, UploadQuota } from './upload-quota.ts';
import { Upload, type UploadOptions } from './upload.ts';

export interface VolumeDeps {
  tracker: Tracker;
  client: StorageClient;
  /** Files up to this many bytes are verified before their first byte is sent (download.ts); default MOGFTP_VERIFY_BEFORE_SEND or 8 MiB. */
  verifyBeforeSend?: number;
  /** Where reads log damaged copies (default: a `vfs` logger on stderr). */
  log?: LogFn;
  /**
   * Refuse writes any active WebDAV lock stands in the way of (locks.ts); default true. The
   * WebDAV door passes false: it checks the client's lock tokens itself (src/dav/context.ts).
   */
  honourLocks?: boolean;
}

/** What a listing or stat shows: an entry, plus the ftp-srv-compatible isDirectory(). */
export interface VolumeStat {
  id: number;
  name: string;
  kind: 'file' | 'dir';
  size: number;
  mtime: Date;
  mode: number;
  fid: number | null;
  /** A directory's own class id (null: it inherits); null for files (their class is on the file row). */
  classId: number | null;
  isDirectory(): boolean;
}

/** A file's or directory's class as users see it (MLST x.class, SITE CLASS, WebDAV). */
export interface ClassView {
  name: string;
  /** 'file': the file's own; 'dir': set on this directory; 'inherited': from a directory above; 'default': the domain's. */
  source: 'file' | 'dir' | 'inherited' | 'default';
}

const LIST_PAGE = 1000;
/** MOGFTP_VERIFY_BEFORE_SEND, read once per process. */
let envLimit: number | undefined;

export class Volume {
  /** Current directory, as components below the home. */
  private cwd: string[] = [];
  /** The user's row as last read (Tracker.currentUser): read-only and removal reach open sessions. */
  private current: User;

  private constructor(
    private readonly deps: VolumeDeps,
    readonly user: User,
    private readonly homeNames: string[],
    private readonly homeId: number,
  ) {
    this.current = user;
  }

  /** Opens a user's volume, creating the home directory when it does not exist yet. */
  static async open(deps: VolumeDeps, user: User): Promise<Volume> {
    const homeNames = resolvePathComponents([], user.homeDir);
    let parentId = ROOT_ID;
    for (const name of homeNames) {
      const found = await deps.tracker.store.lookup(user.domainId, parentId, name);
      if (found && found.kind !== 'dir') throw mogError(ErrorCodes.NOT_A_DIRECTORY, `Home directory ${user.homeDir} is a file`);
      parentId = found
        ? found.id
        : await deps.tracker.store
            .mkdir(user.domainId, parentId, name, { mtime: Date.now() })
            .then((e) => e.id)
            .catch(async (err) => {
              // Another front-end created it at the same moment.
              const again = await deps.tracker.store.lookup(user.domainId, parentId, name);
              if (again?.kind === 'dir') return again.id;
              throw err;
            });
    }
    return new Volume(deps, user, homeNames, parentId);
  }

  get readOnly(): boolean {
    return this.current.readOnly;
  }

  /** Whose quota this volume's writes are charged to (dead properties and locks as well as files). */
  get quotaHolder(): QuotaHolder {
    return { userId: this.user.id, homeId: this.homeId };
  }

  pwd(): string {
    return '/' + this.cwd.join('/');
  }

  /** Components below the home for a client path (absolute = from the home). */
  resolve(path: string): string[] {
    return resolvePathComponents(this.cwd, path);
  }

  /** The path in the whole domain ('/' or '/a/b'): one name per file whatever the user's home (WebDAV locks). */
  domainPath(path: string): string {
    return '/' + [...this.homeNames, ...this.resolve(path)].join('/');
  }

  /** Re-reads the account (cached briefly): a removed user's session fails here, before any read or write. */
  private async refreshUser(): Promise<User> {
    this.current = await this.deps.tracker.currentUser(this.user);
    return this.current;
  }

  async stat(path: string): Promise<VolumeStat> {
    return toStat(await this.entryAt(this.resolve(path)));
  }

  async chdir(path: string): Promise<string> {
    const names = this.resolve(path);
    const entry = await this.entryAt(names);
    if (entry.kind !== 'dir') throw mogError(ErrorCodes.NOT_A_DIRECTORY, `${displayPath(names)} is not a directory`);
    this.cwd = names;
    return this.pwd();
  }

  /** A directory's entries in name order, fetched a page at a time; a file lists as itself. */
  async *list(path = '.'): AsyncGenerator<VolumeStat> {
    const entry = await this.entryAt(this.resolve(path));
    if (entry.kind !== 'dir') {
      yield toStat(entry);
      return;
    }
    let after: string | undefined;
    for (;;) {
      const page = await this.deps.tracker.store.listDir(this.user.domainId, entry.id, { after, limit: LIST_PAGE });
      for (const child of page) yield toStat(child);
      if (page.length < LIST_PAGE) return;
      after = page[page.length - 1]!.name;
    }
  }

  async mkdir(path: string): Promise<string> {
    await this.assertWritable();
    const names = this.resolve(path);
    await this.assertUnlocked([{ path, member: true }]);
    const { parent, name } = await this.parentOf(names);
    await this.deps.tracker.store.mkdir(this.user.domainId, parent.id, name, { mtime: Date.now() });
    return displayPath(names);
  }

  async rmdir(path: string): Promise<void> {
    await this.assertWritable();
    const entry = await this.entryAt(this.notHome(this.resolve(path)));
    if (entry.kind !== 'dir') throw mogError(ErrorCodes.NOT_A_DIRECTORY, `${entry.name} is not a directory`);
    await this.assertUnlocked([{ path, member: true, tree: true }]);
    await this.deps.tracker.store.rmdir(entry.id);
  }

  async remove(path: string): Promise<void> {
    await this.assertWritable();
    const entry = await this.entryAt(this.notHome(this.resolve(path)));
    if (entry.kind === 'dir') throw mogError(ErrorCodes.IS_A_DIRECTORY, `${entry.name} is a directory (use RMD)`);
    await this.assertUnlocked([{ path, member: true }]);
    await this.deps.tracker.store.removeFile(entry.id);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.assertWritable();
    const source = await this.entryAt(this.notHome(this.resolve(from)));
    const { parent, name, existing } = await this.parentOf(this.notHome(this.resolve(to)));
    await this.assertUnlocked([
      { path: from, member: true, tree: source.kind === 'dir' },
      { path: to, member: true, tree: existing?.kind === 'dir' },
    ]);
    await this.deps.tracker.store.rename(source.id, parent.id, name);
  }

  async setMtime(path: string, mtime: Date): Promise<void> {
    await this.assertWritable();
    const entry = await this.entryAt(this.notHome(this.resolve(path)));
    await this.assertUnlocked([{ path }]);
    await this.deps.tracker.store.setMtime(entry.id, mtime.getTime());
  }

  async chmod(path: string, mode: number): Promise<void> {
    await this.assertWritable();
    const entry = await this.entryAt(this.notHome(this.resolve(path)));
    await this.assertUnlocked([{ path }]);
    await this.deps.tracker.store.setMode(entry.id, mode & 0o7777);
  }

  /**
   * Starts an upload to `path`. With `offset` (REST+STOR, APPE) the new version begins with the
   * existing file's first `offset` bytes; the old version stays readable until the new one commits.
   */
  async openUpload(
    path: string,
    opts: { offset?: number; append?: boolean; size?: number } & Pick<UploadOptions, 'isCancelled'> = {},
  ): Promise<Upload> {
    await this.assertWritable();
    const names = this.notHome(this.resolve(path));
    const { parent, name, existing, dirs } = await this.parentOf(names);
    const store = this.deps.tracker.store;
    if (existing?.kind === 'dir') throw mogError(ErrorCodes.IS_A_DIRECTORY, `${name} is a directory`);
    // Checked again just before the commit: a lock taken while the bytes stream in still counts.
    const lockCheck = () => this.assertUnlocked([{ path, member: !existing }]);
    await lockCheck();
    const offset = opts.append ? (existing?.size ?? 0) : (opts.offset ?? 0);
    if (offset > 0 && (!existing || offset > existing.size))
      throw mogError(ErrorCodes.INVALID_OFFSET, `Cannot resume at byte ${offset}: the file has ${existing?.size ?? 0} bytes`);

    const prior = existing?.fid ? await store.getFile(existing.fid) : null;
    // An overwrite (and a resumed upload) keeps the class of the file it replaces: a class set
    // on one file survives clients that save by overwriting. A new name takes the class its
    // directory passes down (admin dir set-class), from the same path walk: no extra query.
    const cls = prior
      ? await this.deps.tracker.classById(prior.classId)
      : await this.deps.tracker.classForNewFile(this.user.domainId, nearestDirClass(dirs));
    // The reservation is charged to the user in its own transaction (store/quota.ts): parallel
    // uploads cannot all pass one look at the usage. A known size (WebDAV PUT, COPY) is reserved
    // whole; otherwise the reservation grows as the bytes arrive.
    const reservation = await this.deps.tracker.reserveUpload(this.user.domainId, cls, {
      ...this.quotaHolder,
      ...firstRequest(opts.size, offset),
      replacesEntryId: existing?.id ?? null,
      leaseMs: QUOTA_LEASE_MS,
    });
    const grant = reservation.quota;
    const quota = grant?.quotaBytes == null ? undefined : new UploadQuota(this.deps.tracker.store, reservation.fid, grant, grant.quotaBytes);
    const upload = new Upload(this.deps.tracker, this.deps.client, reservation, {
      parentId: parent.id,
      name,
      quota,
      isCancelled: opts.isCancelled,
      beforeCommit: lockCheck,
    });
    if (offset > 0 && prior) {
      try {
        for await (const chunk of openDownload(this.deps.tracker, this.deps.client, { ...prior, length: offset, checksum: null }))
          await upload.feed(chunk as Buffer);
      } catch (err) {
        await upload.abort();
        throw err;
      }
    }
    return upload;
  }

  /** A stream of the file's bytes from `start`, with its total size. */
  async openDownload(path: string, start = 0, opts: { verifyResume?: boolean } = {}): Promise<{ stream: Readable; size: number; name: string }> {
    const entry = await this.entryAt(this.resolve(path));
    if (entry.kind === 'dir' || entry.fid === null) throw mogError(ErrorCodes.IS_A_DIRECTORY, `${entry.name} is a directory`);
    // The file row and its replicas are read at the same time: one database round trip fewer.
    const replicas = this.deps.tracker.replicasFor(entry.fid);
    replicas.catch(() => {}); // unused when the file is gone or the offset is refused
    const file = await this.deps.tracker.getFile(entry.fid);
    if (!file) throw mogError(ErrorCodes.NOT_FOUND, `${entry.name} was just removed`);
    if (start > file.length) throw mogError(ErrorCodes.INVALID_OFFSET, `Cannot restart at byte ${start}: the file has ${file.length} bytes`);
    return {
      stream: openDownload(this.deps.tracker, this.deps.client, file, start, {
        verifyResume: opts.verifyResume,
        replicas,
        verifyBeforeSend: this.deps.verifyBeforeSend ?? (envLimit ??= verifyBeforeSendFromEnv()),
        log: this.deps.log,
      }),
      size: file.length,
      name: entry.name,
    };
  }

  /**
   * Server-side copy of a file: its bytes are streamed from the replicas into a new upload to
   * `to`, which commits (replacing what was there) only when durable. Memory stays constant.
   */
  async copyFile(from: string, to: string): Promise<VolumeStat> {
    const source = await this.openDownload(from);
    let upload: Upload;
    try {
      upload = await this.openUpload(to, { size: source.size });
    } catch (err) {
      source.stream.destroy();
      throw err;
    }
    await pipeline(source.stream, upload);
    return toStat(upload.commitResult!.entry);
  }

  /** Bytes the user may still store (quota), or the cluster's writable space when it has none. */
  async available(): Promise<number> {
    const user = await this.refreshUser();
    if (user.quotaBytes !== null) {
      // Files, dead properties, lock owners and the uploads under way, as the quota counts them.
      const u = await this.deps.tracker.store.quotaUsage(this.quotaHolder, Date.now());
      return u.quotaBytes === null ? Math.max(0, user.quotaBytes) : Math.max(0, u.quotaBytes - u.files - u.props - u.locks - u.reserved);
    }
    const devices = await this.deps.tracker.devices();
    const freeMb = devices
      .filter((d) => d.status === 'alive' && d.hostStatus === 'alive' && d.mbTotal !== null)
      .reduce((sum, d) => sum + Math.max(0, (d.mbTotal ?? 0) - (d.mbUsed ?? 0)), 0);
    return freeMb * 1024 * 1024;
  }

  private async assertWritable(): Promise<void> {
    const user = await this.refreshUser();
    if (user.readOnly) throw mogError(ErrorCodes.PERMISSION_DENIED, 'Permission denied: this account is read-only');
  }

  /** LOCKED when a WebDAV lock stands in the way of the write (locks.ts), unless this door checks tokens itself. */
  private async assertUnlocked(touches: Array<Omit<LockTouch, 'domainPath' | 'shown'> & { path: string }>): Promise<void> {
    if (this.deps.honourLocks === false) return;
    const list = touches.map(({ path, ...how }) => ({ ...how, domainPath: this.domainPath(path), shown: displayPath(this.resolve(path)) }));
    await assertNotLocked(this.deps.tracker.store, this.user.domainId, list);
  }

  private notHome(names: string[]): string[] {
    if (names.length === 0) throw mogError(ErrorCodes.PERMISSION_DENIED, 'Permission denied: that is your home directory');
    return names;
  }

  private async entryAt(names: string[]): Promise<Entry> {
    await this.refreshUser();
    if (names.length === 0) return this.homeEntry();
    const entry = await this.deps.tracker.store.resolvePath(this.user.domainId, [...this.homeNames, ...names]);
    if (!entry) throw mogError(ErrorCodes.NOT_FOUND, `${displayPath(names)}: no such file or directory`);
    return entry;
  }

  /**
   * The class of a file or directory: a file's own, a directory's (set on it, inherited, or the
   * domain default: what a new file in it gets). One path walk, plus the file row for a file.
   */
  async classOf(path: string): Promise<ClassView> {
    await this.refreshUser();
    const full = [...this.homeNames, ...this.resolve(path)];
    const chain = full.length ? await this.deps.tracker.store.walkPath(this.user.domainId, full) : [];
    if (chain.length < full.length) throw mogError(ErrorCodes.NOT_FOUND, `${displayPath(this.resolve(path))}: no such file or directory`);
    const last = chain[chain.length - 1];
    if (last?.kind === 'file' && last.fid !== null) {
      const file = await this.deps.tracker.getFile(last.fid);
      if (!file) throw mogError(ErrorCodes.NOT_FOUND, `${last.name} was just removed`);
      return { name: (await this.deps.tracker.classById(file.classId)).name, source: 'file' };
    }
    return this.dirClassView(nearestDirClass(chain), last?.id ?? ROOT_ID);
  }

  /**
   * Class names for a page of a listing of directory `path` (MLSD): files by their file rows (one
   * query for the page), directories by their own class or the one `path` passes down.
   */
  async classesIn(path: string, stats: VolumeStat[]): Promise<Map<number, string>> {
    const here = await this.classOf(path);
    const fids = stats.flatMap((s) => (s.kind === 'file' && s.fid !== null ? [s.fid] : []));
    const files = new Map((fids.length ? await this.deps.tracker.store.getFiles(fids) : []).map((f) => [f.fid, f.classId]));
    const out = new Map<number, string>();
    for (const s of stats) {
      const classId = s.kind === 'dir' ? s.classId : s.fid === null ? undefined : files.get(s.fid);
      if (classId === undefined) continue; // a file removed since the page was read
      out.set(s.id, classId === null ? here.name : (await this.deps.tracker.classById(classId)).name);
    }
    return out;
  }

  private async dirClassView(inherited: ReturnType<typeof nearestDirClass>, dirId: number): Promise<ClassView> {
    const cls = await this.deps.tracker.classForNewFile(this.user.domainId, inherited);
    const source = inherited.classId === null ? 'default' : inherited.fromEntryId === dirId ? 'dir' : 'inherited';
    return { name: cls.name, source };
  }

  /** The directory a new name goes into, and what the name holds now: one store round trip. */
  private async parentOf(names: string[]): Promise<{ parent: Entry; name: string; existing: Entry | null; dirs: Entry[] }> {
    const name = names[names.length - 1];
    if (name === undefined) throw mogError(ErrorCodes.INVALID_NAME, 'A file name is needed');
    const dirNames = names.slice(0, -1);
    const full = [...this.homeNames, ...names];
    const chain = await this.deps.tracker.store.walkPath(this.user.domainId, full);
    const parent = full.length === 1 ? await this.homeEntry() : chain[full.length - 2];
    if (!parent) throw mogError(ErrorCodes.NOT_FOUND, `Directory ${displayPath(dirNames)} does not exist`);
    if (parent.kind !== 'dir') throw mogError(ErrorCodes.NOT_A_DIRECTORY, `${displayPath(dirNames)} is not a directory`);
    // The directories from the root down to the parent: the class a new file inherits.
    return { parent, name, existing: chain.length === full.length ? chain[full.length - 1]! : null, dirs: chain.slice(0, full.length - 1) };
  }

  private async homeEntry(): Promise<Entry> {
    if (this.homeId === ROOT_ID) {
      return { id: ROOT_ID, domainId: this.user.domainId, parentId: ROOT_ID, name: '/', kind: 'dir', fid: null, size: 0, mtime: 0, mode: 0o755 };
    }
    const home = await this.deps.tracker.store.getEntry(this.homeId);
    if (!home) throw mogError(ErrorCodes.NOT_FOUND, 'Your home directory no longer exists');
    return home;
  }
}

function displayPath(names: string[]): string {
  return '/' + names.join('/');
}

function toStat(e: Entry): VolumeStat {
  return {
    id: e.id,
    name: e.name,
    kind: e.kind,
    size: e.size,
    mtime: new Date(e.mtime),
    mode: e.mode,
    fid: e.fid,
    classId: e.classId ?? null,
    isDirectory: () => e.kind === 'dir',
  };
}
