// The clients of the Galera fault test: each uploads a fresh file through its front-end, and when
// it got 226 reads it back through the other front-end and checks the bytes (a file acknowledged
// on one database node must be served by a front-end on another). What every attempt ended in is
// kept, to be checked after the fault.
import { FtpClosed, loggedIn, type RawFtp } from '../../reliability/lib/ftp.ts';
import { contentStream, newContent, type Content } from '../../reliability/lib/content.ts';

export interface Attempt {
  path: string;
  content: Content;
  /** Which front-end took the upload (0 or 1). */
  fe: number;
  at: number;
  /** When its final reply came. */
  doneAt: number;
  /** The final reply's code; 0 when the connection broke first. */
  code: number;
  text: string;
}

export interface LoadResults {
  acked: Attempt[];
  failed: Attempt[];
  /** Read back right after its 226 with other bytes than were sent, or 550 (a wrong answer). */
  wrongReads: string[];
  /** Read-backs that failed cleanly (4xx, connection lost) while the database was failing. */
  failedReads: number;
  verifiedReads: number;
}

const KiB = 1024;

export class Load {
  readonly results: LoadResults = { acked: [], failed: [], wrongReads: [], failedReads: 0, verifiedReads: 0 };
  private stopped = false;
  private readonly running: Promise<void>[] = [];

  /** `clients` loops, alternating between the two front-ends' ports; `tag` keeps paths apart. */
  constructor(
    private readonly ports: [number, number],
    private readonly tag: string,
  ) {}

  start(clients: number): void {
    for (let i = 0; i < clients; i++) this.running.push(this.client(i));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }

  /** When front-end `fe` first acknowledged an upload that started after `since` (or null). */
  firstAckAfter(fe: number, since: number): number | null {
    const after = this.results.acked.filter((a) => a.fe === fe && a.at > since).map((a) => a.doneAt);
    return after.length ? Math.min(...after) : null;
  }

  private async client(i: number): Promise<void> {
    const fe = i % 2;
    let up: RawFtp | null = null;
    let down: RawFtp | null = null;
    for (let seq = 0; !this.stopped; seq++) {
      const content = newContent((16 + Math.floor(Math.random() * 240)) * KiB);
      const a: Attempt = { path: `/${this.tag}-c${i}-${seq}.bin`, content, fe, at: Date.now(), doneAt: 0, code: 0, text: '' };
      try {
        up ??= await loggedIn(this.ports[fe], 'demo', 'demo', { timeoutMs: 30_000 });
        const r = await up.stor(a.path, contentStream(content.seed, content.size));
        a.code = r.final.code;
        a.text = r.final.text;
        a.doneAt = Date.now();
      } catch (err) {
        a.text = err instanceof FtpClosed ? 'connection closed' : String(err);
        up?.socket.destroy();
        up = null;
      }
      if (a.code !== 226) {
        this.results.failed.push(a);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      this.results.acked.push(a);
      try {
        down ??= await loggedIn(this.ports[1 - fe], 'demo', 'demo', { timeoutMs: 30_000 });
        const g = await down.retr(a.path);
        if (g.final.code === 226 && g.sha256 === content.sha256) this.results.verifiedReads++;
        else if (g.final.code === 226 || g.final.code === 550) this.results.wrongReads.push(`${a.path}: ${g.final.code} ${g.final.text} (${g.bytes} bytes)`);
        else this.results.failedReads++;
      } catch {
        this.results.failedReads++;
        down?.socket.destroy();
        down = null;
      }
    }
    await up?.quit().catch(() => undefined);
    await down?.quit().catch(() => undefined);
  }
}
