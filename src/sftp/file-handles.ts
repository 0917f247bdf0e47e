// What an SFTP file handle is over the Volume. A read handle keeps one download stream and
// serves READs at the offset it has reached (the failover reader; a read from 0 to the end is
// checksum-verified, and so is one resumed at an offset, by the volume's prefix check); a READ
// elsewhere reopens the stream there. A write handle is one upload: its bytes stream through the
// fan-out as WRITEs arrive and commit at CLOSE, which is the SFTP door's "226". Writes must form
// one run: from 0 (a new version), or from an offset inside the existing file (a resumed upload:
// the volume's copy-on-write path keeps that many bytes of the old version, as REST+STOR does).
// The run must reach the old version's end (or the handle was opened with TRUNC, or FSETSTAT set
// the size to where it ends): a rewrite of bytes inside a file would otherwise drop the rest, so
// it is refused and the file stays as it was. WRITEs that arrive ahead of their turn (clients
// with concurrent writes) wait for the ones before them, within the channel's ReorderBudget; a
// WRITE refused (over bytes already written, over the budget) fails the handle: its CLOSE
// stores nothing.
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { ErrorCodes, mogError } from '../errors.ts';
import type { Upload } from '../vfs/upload.ts';
import type { Volume, VolumeStat } from '../vfs/volume.ts';

/** Bytes of early WRITEs one channel holds, over all its handles, while they wait for their turn. */
export interface ReorderBudget {
  used: number;
  readonly limit: number;
}

export class ReadHandle {
  readonly kind = 'read';
  private iter: AsyncIterator<Buffer> | null = null;
  private stream: Readable | null = null;
  private leftover: Buffer = Buffer.alloc(0);
  private pos = 0;
  private opened = false;

  constructor(
    private readonly volume: Volume,
    readonly path: string,
    public stat: VolumeStat,
  ) {}

  /** Up to `len` bytes from `offset`; null at or past the end of the file. */
  async read(offset: number, len: number): Promise<Buffer | null> {
    if (offset >= this.stat.size) return null;
    if (!this.iter || offset !== this.pos) await this.reopen(offset);
    const parts: Buffer[] = [];
    let got = 0;
    while (got < len) {
      if (this.leftover.length === 0) {
        const next = await this.iter!.next();
        if (next.done) break;
        this.leftover = next.value;
      }
      const take = this.leftover.subarray(0, len - got);
      this.leftover = this.leftover.subarray(take.length);
      parts.push(take);
      got += take.length;
    }
    this.pos += got;
    return got === 0 ? null : Buffer.concat(parts, got);
  }

  private async reopen(offset: number): Promise<void> {
    this.close();
    // A handle's first read at an offset is usually a resumed download running to the end
    // (reget): the prefix is hashed too. Later jumps (random access) are served unverified
    // rather than re-reading the prefix on every jump.
    const dl = await this.volume.openDownload(this.path, offset, { verifyResume: offset > 0 && !this.opened });
    this.opened = true;
    this.stream = dl.stream;
    this.iter = dl.stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    this.stat = { ...this.stat, size: dl.size };
    this.pos = offset;
  }

  close(): void {
    this.stream?.destroy();
    this.stream = null;
    this.iter = null;
    this.leftover = Buffer.alloc(0);
  }
}

export interface WriteMode {
  truncate: boolean;
  append: boolean;
  /** The file when the handle was opened; null for a new one. */
  existing: VolumeStat | null;
}

type Reply = (err?: unknown) => void;

export class WriteHandle {
  readonly kind = 'write';
  private upload: Upload | null = null;
  private starting: Promise<Upload> | null = null;
  private expected = 0;
  private failure: unknown = null;
  /** WRITEs that arrived ahead of their turn, by offset: answered already, fed when their turn comes. */
  private readonly early = new Map<number, Buffer>();
  /** FSETSTAT's mode and mtime, applied once the new version is committed. */
  readonly pendingAttrs: { mode?: number; mtime?: Date } = {};
  /** FSETSTAT set the size to where the writes are: the new version may end before the old one did. */
  sizeSet = false;

  constructor(
    private readonly volume: Volume,
    readonly path: string,
    private readonly mode: WriteMode,
    private readonly isCancelled: () => boolean,
    private readonly budget: ReorderBudget,
  ) {}

  /** What FSTAT shows: the file as opened, with the size written so far once writing began. */
  get stat(): VolumeStat {
    const base = this.mode.existing;
    const size = this.upload ? this.expected : this.mode.truncate ? 0 : (base?.size ?? 0);
    return { id: 0, name: this.path, kind: 'file', mode: 0o644, fid: null, classId: null, isDirectory: () => false, mtime: new Date(), ...base, size };
  }

  /**
   * Takes one WRITE. Resolves when the session may read its next request (the bytes went into
   * the fan-out, or wait in the reorder buffer); `reply` gets the WRITE's outcome. An early
   * WRITE is answered OK as soon as it is parked (a client waiting for each answer before its
   * next WRITE must not hang): like every WRITE's OK it promises nothing yet; CLOSE says whether
   * the file was stored, and a gap left at CLOSE stores nothing.
   */
  async write(offset: number, data: Buffer, reply: Reply): Promise<void> {
    if (this.failure) return reply(this.failure);
    if (!this.upload && this.mode.append) await this.start({ append: true });
    else if (!this.upload && offset !== 0 && !this.mode.truncate && this.mode.existing && offset <= this.mode.existing.size) await this.start({ offset });
    else if (!this.upload && offset === 0) await this.start({});
    if (this.failure) return reply(this.failure);
    if (this.mode.append || offset === this.expected) {
      reply(await this.feed(data));
      await this.flushEarly();
      return;
    }
    if (offset < this.expected)
      return this.refuse(reply, `Cannot write at byte ${offset}: the upload is at byte ${this.expected} (writes must go forward, in one run); nothing will be stored`);
    if (this.budget.used + data.length > this.budget.limit || this.early.has(offset))
      return this.refuse(reply, `Writes must be sequential: byte ${offset} arrived while byte ${this.expected} is awaited; nothing will be stored`);
    this.early.set(offset, data);
    this.budget.used += data.length;
    reply();
  }

  /**
   * Starts the upload at OPEN when its start is known already (a new or truncated file begins
   * at byte 0): a missing directory, a bad name or a full quota fail the OPEN, where clients
   * look for them (curl --ftp-create-dirs creates the directory when OPEN says it is missing).
   */
  async begin(): Promise<void> {
    await this.start({ append: this.mode.append });
    if (this.failure) throw this.failure;
  }

  /** Commits the new version (CLOSE): resolves when it is durable, verified and visible. */
  async close(): Promise<void> {
    if (this.early.size) {
      const first = Math.min(...this.early.keys());
      const where = this.upload ? `at byte ${this.expected}` : `before byte ${first} (the file had ${this.mode.existing?.size ?? 0} bytes)`;
      this.fail(mogError(ErrorCodes.INVALID_OFFSET, `The writes left a gap ${where}; nothing was stored`));
    }
    const old = this.mode.existing;
    if (this.upload && old && this.expected < old.size && !this.mode.truncate && !this.mode.append && !this.sizeSet) {
      const short = `The writes end at byte ${this.expected} of the ${old.size}-byte file: rewriting part of a file is not supported; nothing was stored, the file is unchanged`;
      this.fail(mogError(ErrorCodes.INVALID_OFFSET, short));
    }
    if (this.failure) {
      await this.abort();
      throw this.failure;
    }
    // Nothing written: a new or truncated file is stored empty; an existing one stays as it was.
    if (!this.upload && (this.mode.truncate || !this.mode.existing)) await this.start({});
    if (this.upload) {
      this.upload.end();
      await finished(this.upload);
    }
    if (this.pendingAttrs.mode !== undefined) await this.volume.chmod(this.path, this.pendingAttrs.mode);
    if (this.pendingAttrs.mtime) await this.volume.setMtime(this.path, this.pendingAttrs.mtime);
  }

  /** Drops the upload (the client went away or the handle failed): nothing becomes visible. */
  async abort(): Promise<void> {
    this.dropEarly();
    const upload = this.upload ?? (await this.starting?.catch(() => null));
    if (upload) {
      await upload.abort();
      upload.destroy();
    }
  }

  private async start(how: { offset?: number; append?: boolean }): Promise<void> {
    this.starting = this.volume.openUpload(this.path, { ...how, isCancelled: this.isCancelled });
    try {
      const upload = await this.starting;
      // Caught here, read at the next WRITE or the CLOSE: a failed fan-out never throws unheard.
      upload.on('error', (err) => this.fail(err));
      this.upload = upload;
      this.expected = how.append ? (this.mode.existing?.size ?? 0) : (how.offset ?? 0);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Writes bytes into the upload, waiting for it to drain; resolves with the failure, if any. */
  private async feed(data: Buffer): Promise<unknown> {
    const upload = this.upload!;
    this.expected += data.length;
    if (upload.write(data)) return undefined;
    try {
      await once(upload, 'drain');
      return this.failure ?? undefined;
    } catch (err) {
      this.fail(err);
      return err;
    }
  }

  private async flushEarly(): Promise<void> {
    for (let next = this.early.get(this.expected); next && !this.failure; next = this.early.get(this.expected)) {
      this.early.delete(this.expected);
      this.budget.used -= next.length;
      await this.feed(next);
    }
  }

  /** Answers a WRITE that cannot be taken and fails the handle: a file missing those bytes is never committed. */
  private refuse(reply: Reply, message: string): void {
    const err = mogError(ErrorCodes.INVALID_OFFSET, message);
    reply(err);
    this.fail(err);
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    this.dropEarly();
  }

  /** Drops the parked WRITEs and gives their bytes back to the channel's budget. */
  private dropEarly(): void {
    for (const data of this.early.values()) this.budget.used -= data.length;
    this.early.clear();
  }
}
