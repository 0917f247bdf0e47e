// The protocol-neutral volume one logged-in user sees: paths are resolved inside the user's
// home (home.ts: nothing can climb out of it), and every operation goes to the store roles and
// the Tracker it was given (deps.ts). Protocol adapters (src/ftp, src/dav) translate their
// commands into these methods and map MogError codes to their own replies.
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ErrorCodes, mogError } from '../errors.ts';
import { resolvePathComponents } from '../tracker/names.ts';
import type { Entry, FileRow, QuotaHolder, User } from '../tracker/types.ts';
import { classNamesIn, classOfChain, type ClassView } from './classes.ts';
import type { VolumeDeps } from './deps.ts';
import { openDownload, verifyBeforeSendFromEnv } from './download.ts';
import { displayPath, Home } from './home.ts';
import { assertNotLocked, type LockTouch } from './locks.ts';
import { startUpload } from './start-upload.ts';
import type { Upload, UploadOptions } from './upload.ts';

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
    private readonly home: Home,
  ) {
    this.current = user;
  }

  /** Opens a user's volume, creating the home directory when it does not exist yet. */
  static async open(deps: VolumeDeps, user: User): Promise<Volume> {
    return new Volume(deps, user, await Home.open(deps.store, user));
  }

  get readOnly(): boolean {
    return this.current.readOnly;
  }

  /** Whose quota this volume's writes are charged to (dead properties and locks as well as files). */
  get quotaHolder(): QuotaHolder {
    return { userId: this.user.id, homeId: this.home.id };
  }

  pwd(): string {
    return displayPath(this.cwd);
  }

  /** Components below the home for a client path (absolute = from the home). */
  resolve(path: string): string[] {
    return resolvePathComponents(this.cwd, path);
  }

  /** The path in the whole domain ('/' or '/a/b'): one name per file whatever the user's home (WebDAV locks). */
  domainPath(path: string): string {
    return this.home.domainPath(this.resolve(path));
  }

  /** Re-reads the account (cached briefly): a removed user's session fails here, before any read or write. */
  private async refreshUser(): Promise<User> {
    this.current = await this.deps.tracker.currentUser(this.user);
    return this.current;
  }

  async stat(path: string): Promise<VolumeStat> {
    return toStat(await this.entryAt(this.resolve(path)));
  }

  /** The file row behind a stat (length, checksum, class); null for a directory or a file removed since. */
  async fileOf(stat: VolumeStat): Promise<FileRow | null> {
    return stat.fid === null ? null : this.deps.store.getFile(stat.fid);
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
    for await (const child of this.home.children(entry.id)) yield toStat(child);
  }

  async mkdir(path: string): Promise<string> {
    await this.assertWritable();
    const names = this.resolve(path);
    await this.assertUnlocked([{ path, member: true }]);
    const { parent, name } = await this.home.placeOf(names);
    await this.deps.store.mkdir(this.user.domainId, parent.id, name, { mtime: Date.now() });
    return displayPath(names);
  }

  async rmdir(path: string): Promise<void> {
    await this.assertWritable();
    const entry = await this.entryAt(this.notHome(this.resolve(path)));
    if (entry.kind !== 'dir') throw mogError(ErrorCodes.NOT_A_DIRECTORY, `${entry.name} is not a directory`);
    await this.assertUnlocked([{ path, member: true, tree: true }]);
    await this.deps.store.rmdir(entry.id);
  }

  async remove(path: string): Promise<void> {
    await this.assertWritable();
    const entry = await this.entryAt(this.notHome(this.resolve(path)));
    if (entry.kind === 'dir') throw mogError(ErrorCodes.IS_A_DIRECTORY, `${entry.name} is a directory (use RMD)`);
    await this.assertUnlocked([{ path, member: true }]);
    await this.deps.store.removeFile(entry.id);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.assertWritable();
    const source = await this.entryAt(this.notHome(this.resolve(from)));
    const { parent, name, existing } = await this.home.placeOf(this.notHome(this.resolve(to)));
    await this.assertUnlocked([
      { path: from, member: true, tree: source.kind === 'dir' },
      { path: to, member: true, tree: existing?.kind === 'dir' },
    ]);
    await this.deps.store.rename(source.id, parent.id, name);
  }

  async setMtime(path: string, mtime: Date): Promise<void> {
    await this.assertWritable();
    const entry = await this.entryAt(this.notHome(this.resolve(path)));
    await this.assertUnlocked([{ path }]);
    await this.deps.store.setMtime(entry.id, mtime.getTime());
  }

  async chmod(path: string, mode: number): Promise<void> {
    await this.assertWritable();
    const entry = await this.entryAt(this.notHome(this.resolve(path)));
    await this.assertUnlocked([{ path }]);
    await this.deps.store.setMode(entry.id, mode & 0o7777);
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
    const place = await this.home.placeOf(this.notHome(this.resolve(path)));
    const { name, existing } = place;
    if (existing?.kind === 'dir') throw mogError(ErrorCodes.IS_A_DIRECTORY, `${name} is a directory`);
    // Checked again just before the commit: a lock taken while the bytes stream in still counts.
    const lockCheck = () => this.assertUnlocked([{ path, member: !existing }]);
    await lockCheck();
    const offset = opts.append ? (existing?.size ?? 0) : (opts.offset ?? 0);
    if (offset > 0 && (!existing || offset > existing.size))
      throw mogError(ErrorCodes.INVALID_OFFSET, `Cannot resume at byte ${offset}: the file has ${existing?.size ?? 0} bytes`);
    return startUpload(this.deps, place, {
      domainId: this.user.domainId,
      holder: this.quotaHolder,
      offset,
      size: opts.size,
      isCancelled: opts.isCancelled,
      beforeCommit: lockCheck,
    });
  }

  /** A stream of the file's bytes from `start`, with its total size. */
  async openDownload(path: string, start = 0, opts: { verifyResume?: boolean } = {}): Promise<{ stream: Readable; size: number; name: string }> {
    const entry = await this.entryAt(this.resolve(path));
    if (entry.kind === 'dir' || entry.fid === null) throw mogError(ErrorCodes.IS_A_DIRECTORY, `${entry.name} is a directory`);
    // The file row, its copies and their bad marks in one statement (after the path walk).
    const plan = await this.deps.tracker.fileForRead(entry.fid);
    if (!plan) throw mogError(ErrorCodes.NOT_FOUND, `${entry.name} was just removed`);
    const { file } = plan;
    if (start > file.length) throw mogError(ErrorCodes.INVALID_OFFSET, `Cannot restart at byte ${start}: the file has ${file.length} bytes`);
    return {
      stream: openDownload(this.deps.tracker, this.deps.client, file, start, {
        verifyResume: opts.verifyResume,
        replicas: Promise.resolve(plan.replicas),
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
      const u = await this.deps.store.quotaUsage(this.quotaHolder, Date.now());
      return u.quotaBytes === null ? Math.max(0, user.quotaBytes) : Math.max(0, u.quotaBytes - u.files - u.props - u.locks - u.reserved);
    }
    const devices = await this.deps.tracker.devices();
    const freeMb = devices
      .filter((d) => d.status === 'alive' && d.hostStatus === 'alive' && d.mbTotal !== null)
      .reduce((sum, d) => sum + Math.max(0, (d.mbTotal ?? 0) - (d.mbUsed ?? 0)), 0);
    return freeMb * 1024 * 1024;
  }

  /**
   * The class of a file or directory: a file's own, a directory's (set on it, inherited, or the
   * domain default: what a new file in it gets). One path walk, plus the file row for a file.
   */
  async classOf(path: string): Promise<ClassView> {
    await this.refreshUser();
    return classOfChain(this.deps, this.user.domainId, await this.home.chainTo(this.resolve(path)));
  }

  /**
   * Class names for a page of a listing of directory `path` (MLSD): files by their file rows (one
   * query for the page), directories by their own class or the one `path` passes down.
   */
  async classesIn(path: string, stats: VolumeStat[]): Promise<Map<number, string>> {
    return classNamesIn(this.deps, await this.classOf(path), stats);
  }

  private async assertWritable(): Promise<void> {
    const user = await this.refreshUser();
    if (user.readOnly) throw mogError(ErrorCodes.PERMISSION_DENIED, 'Permission denied: this account is read-only');
  }

  /** LOCKED when a WebDAV lock stands in the way of the write (locks.ts), unless this door checks tokens itself. */
  private async assertUnlocked(touches: Array<Omit<LockTouch, 'domainPath' | 'shown'> & { path: string }>): Promise<void> {
    if (this.deps.honourLocks === false) return;
    const list = touches.map(({ path, ...how }) => ({ ...how, domainPath: this.domainPath(path), shown: displayPath(this.resolve(path)) }));
    await assertNotLocked(this.deps.store, this.user.domainId, list);
  }

  private notHome(names: string[]): string[] {
    if (names.length === 0) throw mogError(ErrorCodes.PERMISSION_DENIED, 'Permission denied: that is your home directory');
    return names;
  }

  private async entryAt(names: string[]): Promise<Entry> {
    await this.refreshUser();
    return this.home.entryAt(names);
  }
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
