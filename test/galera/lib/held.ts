// Uploads known to be in flight when a database node fails: each is started (STOR answered 150,
// so its reservation is in the database) and paused half-way through its bytes; the test does
// its damage, then lets it finish and looks at what it ended in.
import { gated, newContent, type Content } from '../../reliability/lib/content.ts';
import { loggedIn } from '../../reliability/lib/ftp.ts';

export interface HeldUpload {
  fe: number;
  path: string;
  content: Content;
  /** Its first half went out and it waits mid-stream (false: refused before its data). */
  paused: boolean;
  /** When it paused. */
  pausedAt: number;
  /** Sends the rest; `done` then settles. */
  release(): void;
  /** The final reply (code 0: the connection broke) and when it came. */
  done: Promise<{ code: number; text: string; at: number }>;
}

const MiB = 1024 * 1024;

/** Starts an upload of `size` bytes through `port` and resolves once it is paused half-way. */
export async function holdUpload(port: number, fe: number, path: string, size = 4 * MiB): Promise<HeldUpload> {
  const content = newContent(size);
  // Thirty clients share 127.0.0.1: a login may be told "busy, try again" (never banned).
  let conn;
  for (let tries = 1; ; tries++) {
    try {
      conn = await loggedIn(port, 'demo', 'demo', { timeoutMs: 60_000 });
      break;
    } catch (err) {
      if (tries >= 20) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let isPaused = false;
  let paused!: () => void;
  const reached = new Promise<void>((r) => (paused = () => ((isPaused = true), r())));
  const done = conn.stor(path, gated(content, size / 2, gate, paused)).then(
    (r) => ({ code: r.final.code, text: r.final.text, at: Date.now() }),
    (err: unknown) => ({ code: 0, text: String(err), at: Date.now() }),
  );
  void done.finally(() => conn.socket.destroy());
  // A STOR refused before its data (the database failing already) settles `done` without pausing.
  await Promise.race([reached, done]);
  return { fe, path, content, paused: isPaused, pausedAt: Date.now(), release, done };
}
