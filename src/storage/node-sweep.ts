// The files a storage node leaves unfinished: temp files (`.<name>.<12 hex>.tmp`, beside a
// replica being replaced) and replicas still in progress under their final name (layout.ts).
// While the node runs, each is known to the UnfinishedFiles of its node state and removed if its
// request fails or the node closes. A node killed outright (SIGKILL, power loss) leaves them
// behind: the first upload into a directory after a start removes those older than the start,
// since uploads go to the directories of the newest fids, which is where a crash leaves them.
// (Whole replicas the tracker does not know are the orphan sweep's business: listing.ts.)
import { randomBytes } from 'node:crypto';
import { lstatSync, unlinkSync } from 'node:fs';
import { lstat, readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { describeError } from '../errors.ts';
import { isInProgress } from './layout.ts';

/** The temp files tempPathBeside makes. */
const STALE_TEMP = /^\..+\.[0-9a-f]{12}\.tmp$/;
/** Past this many swept directories the record starts over, so it cannot grow without bound. */
const MAX_SWEPT_DIRS = 100_000;

/** A fresh temp file name beside `file`, for replacing it atomically. */
export function tempPathBeside(file: string): string {
  return join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
}

export class UnfinishedFiles {
  /** Temp and in-progress files being written, removed on shutdown whatever state their request is in. */
  private readonly writing = new Set<string>();
  private readonly sweptDirs = new Set<string>();
  private readonly startedAt = Date.now();

  constructor(private readonly log: (msg: string) => void) {}

  add(path: string): void {
    this.writing.add(path);
  }

  delete(path: string): void {
    this.writing.delete(path);
  }

  /** Starts the crash-leftover sweep of `dir` the first time an upload goes there. */
  sweepOnce(dir: string): void {
    if (this.sweptDirs.has(dir)) return;
    if (this.sweptDirs.size >= MAX_SWEPT_DIRS) this.sweptDirs.clear();
    this.sweptDirs.add(dir);
    void this.removeStale(dir);
  }

  /**
   * Belt and braces at close: a handler that never got to its own cleanup leaves no temp or
   * in-progress file (a complete replica that took its name meanwhile stays).
   */
  removeAll(): void {
    for (const path of this.writing) {
      try {
        if (STALE_TEMP.test(basename(path)) || isInProgress(lstatSync(path))) unlinkSync(path);
      } catch {
        // already gone
      }
    }
    this.writing.clear();
  }

  private async removeStale(dir: string): Promise<void> {
    try {
      for (const name of await readdir(dir)) {
        const temp = STALE_TEMP.test(name);
        if (!temp && !name.endsWith('.fid')) continue;
        const path = join(dir, name);
        if (this.writing.has(path)) continue;
        const st = await lstat(path).catch(() => null);
        if (!st?.isFile() || st.mtimeMs >= this.startedAt) continue;
        if (temp || isInProgress(st)) await unlink(path).catch(() => {});
      }
    } catch (err) {
      this.log(`cannot look for stale temp files in ${dir}: ${describeError(err)}`);
    }
  }
}
