// Group fsync of a directory: PUTs that finish in the same directory at the same time share one
// directory fsync. The rule that keeps each PUT's entry durable: a caller's entry already exists
// when it asks, so it needs an fsync of the directory that STARTS after it asked. An fsync in
// flight may have started before that entry was created and is no proof for it; the caller waits
// for the next one, which starts when the one in flight ends and serves everyone who asked
// meanwhile. A failed fsync fails every caller it was serving (none of them is durable).
import { open } from 'node:fs/promises';

interface DirState {
  /** The fsync in flight. */
  running: Promise<void>;
  /** The fsync that starts when `running` ends, for those who asked after it began. */
  next: Promise<void> | null;
}

export class DirSyncs {
  private readonly dirs = new Map<string, DirState>();

  constructor(private readonly syncDir: (dir: string) => Promise<void> = fsyncDir) {}

  /** Resolves once an fsync of `dir` that started after this call has completed. */
  sync(dir: string): Promise<void> {
    const s = this.dirs.get(dir);
    if (!s) return this.start(dir);
    s.next ??= s.running.then(
      () => this.start(dir),
      () => this.start(dir),
    );
    return s.next;
  }

  /** How many directories have an fsync in flight (for tests: the map does not grow). */
  get inFlight(): number {
    return this.dirs.size;
  }

  private start(dir: string): Promise<void> {
    const running = this.syncDir(dir);
    const state: DirState = { running, next: null };
    this.dirs.set(dir, state);
    const done = () => {
      // Those who asked meanwhile have chained `next`, which calls start() and replaces the state.
      if (this.dirs.get(dir) === state && state.next === null) this.dirs.delete(dir);
    };
    running.then(done, done);
    return running;
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
