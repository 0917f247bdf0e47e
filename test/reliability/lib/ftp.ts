// A raw FTP client for the reliability suite: it sends exactly the bytes it is given (hostile
// input, half-sent uploads) and reads replies as the server wrote them. Transfers use EPSV.
import { createHash } from 'node:crypto';
import net from 'node:net';

export interface Reply {
  code: number;
  /** The last line's text (after the code). */
  text: string;
  /** Every line of the reply, as received. */
  lines: string[];
}

export class FtpClosed extends Error {
  constructor(readonly partial: string) {
    super(`control connection closed${partial ? ` (unanswered: ${JSON.stringify(partial.slice(0, 200))})` : ''}`);
  }
}

export interface ConnectOptions {
  host?: string;
  /** Source address of the control connection. */
  localAddress?: string;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export class RawFtp {
  greeting!: Reply;
  private pending = '';
  private current: string[] = [];
  private readonly queue: Reply[] = [];
  private waiter: { resolve(r: Reply): void; reject(e: Error): void } | null = null;
  private ended = false;

  private constructor(
    readonly socket: net.Socket,
    readonly host: string,
    /** Data connections come from the same address as the control connection. */
    readonly localAddress?: string,
  ) {
    this.listen();
  }

  static async connect(port: number, opts: ConnectOptions = {}): Promise<RawFtp> {
    const host = opts.host ?? '127.0.0.1';
    const socket = net.connect({ host, port, localAddress: opts.localAddress });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new RawFtp(socket, host, opts.localAddress);
    client.greeting = await client.next(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    return client;
  }

  /** True once the server closed the control connection (or it broke). */
  get closed(): boolean {
    return this.ended;
  }

  private listen(): void {
    this.socket.on('data', (chunk: Buffer) => {
      this.pending += chunk.toString('latin1');
      let nl: number;
      while ((nl = this.pending.indexOf('\n')) >= 0) {
        const line = this.pending.slice(0, nl).replace(/\r$/, '');
        this.pending = this.pending.slice(nl + 1);
        this.onLine(line);
      }
    });
    const end = () => {
      this.ended = true;
      const w = this.waiter;
      this.waiter = null;
      w?.reject(new FtpClosed(this.current.join('\n') + this.pending));
    };
    this.socket.on('close', end);
    this.socket.on('error', () => {});
  }

  private onLine(line: string): void {
    this.current.push(line);
    const first = this.current[0]!;
    const m = /^(\d{3})([ -])/.exec(first);
    if (!m) {
      // Not a reply line at all: report it as a reply with code 0 so tests can see it.
      this.push({ code: 0, text: line, lines: this.current });
      return;
    }
    if (m[2] === '-' && !(line.startsWith(`${m[1]} `) && this.current.length > 1)) return;
    this.push({ code: Number(m[1]), text: line.slice(4), lines: this.current });
  }

  private push(r: Reply): void {
    this.current = [];
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w.resolve(r);
    } else this.queue.push(r);
  }

  /** The next reply; rejects with FtpClosed if the connection ends first. */
  next(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Reply> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.ended) return Promise.reject(new FtpClosed(this.current.join('\n') + this.pending));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Sends raw bytes (no line ending added). */
  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  /** Sends one command line (CRLF added) and reads its reply. */
  async cmd(line: string | Buffer, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Reply> {
    this.write(Buffer.concat([typeof line === 'string' ? Buffer.from(line, 'utf8') : line, Buffer.from('\r\n')]));
    return this.next(timeoutMs);
  }

  async login(user: string, password: string): Promise<Reply> {
    const u = await this.cmd(`USER ${user}`);
    if (u.code !== 331) return u;
    return this.cmd(`PASS ${password}`);
  }

  /** EPSV, and a connected data socket. */
  async openData(): Promise<net.Socket> {
    const r = await this.cmd('EPSV');
    const m = /\(\|\|\|(\d+)\|\)/.exec(r.text);
    if (r.code !== 229 || !m) throw new Error(`EPSV refused: ${r.code} ${r.text}`);
    const data = net.connect({ host: this.host, port: Number(m[1]), localAddress: this.localAddress });
    await new Promise<void>((resolve, reject) => {
      data.once('connect', resolve);
      data.once('error', reject);
    });
    return data;
  }

  /**
   * STOR (or APPE/STOU) of `body`; resolves with the preliminary and final replies. If the
   * server refuses before the 150, `final` is that refusal and nothing is sent.
   */
  async stor(path: string, body: Buffer | AsyncIterable<Buffer>, command = 'STOR'): Promise<{ prelim: Reply; final: Reply; sent: number }> {
    const data = await this.openData();
    data.on('error', () => {});
    const prelim = await this.cmd(`${command} ${path}`);
    if (prelim.code >= 400) {
      data.destroy();
      return { prelim, final: prelim, sent: 0 };
    }
    let sent = 0;
    const chunks: AsyncIterable<Buffer> = Buffer.isBuffer(body) ? single(body) : body;
    try {
      for await (const chunk of chunks) {
        if (data.destroyed) break;
        sent += chunk.length;
        if (!data.write(chunk)) await drainOrClose(data);
      }
    } finally {
      if (!data.destroyed) data.end();
    }
    const final = await this.next();
    data.destroy();
    return { prelim, final, sent };
  }

  /** RETR: the replies, how many bytes came and their sha256 (and the bytes if `keep`). */
  async retr(path: string, opts: { keep?: boolean; onChunk?: (c: Buffer) => void; bytesPerSecond?: number } = {}): Promise<{ prelim: Reply; final: Reply; bytes: number; sha256: string; data?: Buffer }> {
    const data = await this.openData();
    const hash = createHash('sha256');
    const kept: Buffer[] = [];
    let bytes = 0;
    const done = new Promise<void>((resolve) => {
      data.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
        if (opts.keep) kept.push(c);
        opts.onChunk?.(c);
        if (opts.bytesPerSecond) {
          // A slow reader: the server's sends back up as they would for a slow link.
          data.pause();
          setTimeout(() => data.resume(), (c.length / opts.bytesPerSecond) * 1000);
        }
      });
      data.once('close', () => resolve());
      data.on('error', () => {});
    });
    const prelim = await this.cmd(`RETR ${path}`);
    if (prelim.code >= 400) {
      data.destroy();
      return { prelim, final: prelim, bytes: 0, sha256: '' };
    }
    await done;
    const final = await this.next();
    return { prelim, final, bytes, sha256: hash.digest('hex'), ...(opts.keep ? { data: Buffer.concat(kept) } : {}) };
  }

  /** LIST or NLST: the lines that came over the data connection, and the final reply. */
  async list(path?: string, command = 'NLST'): Promise<{ prelim: Reply; final: Reply; lines: string[] }> {
    const data = await this.openData();
    let text = '';
    const done = new Promise<void>((resolve) => {
      data.on('data', (c: Buffer) => (text += c.toString('utf8')));
      data.once('close', () => resolve());
      data.on('error', () => {});
    });
    const prelim = await this.cmd(path === undefined ? command : `${command} ${path}`);
    if (prelim.code >= 400) {
      data.destroy();
      return { prelim, final: prelim, lines: [] };
    }
    await done;
    const final = await this.next();
    return { prelim, final, lines: text.split(/\r?\n/).filter(Boolean) };
  }

  async quit(): Promise<void> {
    if (this.ended) return;
    try {
      await this.cmd('QUIT', 5000);
    } catch {
      // closed already
    }
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

async function* single(b: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += 256 * 1024) yield b.subarray(i, i + 256 * 1024);
}

function drainOrClose(s: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.once('drain', done);
    s.once('close', done);
  });
}

/** Connects, logs in and returns the client; throws unless the login succeeded. */
export async function loggedIn(port: number, user = 'demo', password = 'demo', opts: ConnectOptions = {}): Promise<RawFtp> {
  const c = await RawFtp.connect(port, opts);
  const r = await c.login(user, password);
  if (r.code !== 230) {
    c.destroy();
    throw new Error(`login as ${user} failed: ${r.code} ${r.text}`);
  }
  await c.cmd('TYPE I');
  return c;
}
