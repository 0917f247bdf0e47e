// A raw FTP control connection for tests that real clients cannot express: split packets,
// pipelining, floods of PASV, a chosen source address, PROXY headers, exact reply codes.
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface Reply {
  code: number;
  text: string;
  lines: string[];
}

export class RawFtp {
  private buf = '';
  private replies: Reply[] = [];
  private waiters: Array<(r: Reply | null) => void> = [];
  private current: string[] = [];
  ended = false;
  readonly closed: Promise<void>;

  private constructor(public socket: Socket) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    this.attach(socket);
  }

  private attach(socket: Socket): void {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => this.onData(d));
    socket.on('error', () => {});
    socket.once('close', () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w(null);
    });
  }

  /** Connects (optionally from `localAddress`, optionally sending `preamble` first) and reads the greeting. */
  static async open(port: number, opts: { localAddress?: string; preamble?: Buffer | string; host?: string } = {}): Promise<{ ftp: RawFtp; greeting: Reply | null }> {
    const socket = connect({ port, host: opts.host ?? '127.0.0.1', localAddress: opts.localAddress });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const ftp = new RawFtp(socket);
    if (opts.preamble) socket.write(opts.preamble);
    const greeting = await ftp.next();
    return { ftp, greeting };
  }

  static async login(port: number, user = 'demo', password = 'demo', opts: { localAddress?: string; preamble?: Buffer | string } = {}): Promise<RawFtp> {
    const { ftp, greeting } = await RawFtp.open(port, opts);
    if (greeting?.code !== 220) throw new Error(`greeting: ${greeting?.text}`);
    await ftp.cmd(`USER ${user}`);
    const r = await ftp.cmd(`PASS ${password}`);
    if (r?.code !== 230) throw new Error(`login: ${r?.text}`);
    return ftp;
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).replace(/\r$/, '');
      this.buf = this.buf.slice(nl + 1);
      this.current.push(line);
      const first = this.current[0]!;
      const code = first.slice(0, 3);
      const done = this.current.length === 1 ? /^\d{3}( |$)/.test(line) : line.startsWith(`${code} `);
      if (!done) continue;
      const reply = { code: Number(code), text: this.current.join('\n'), lines: this.current };
      this.current = [];
      const w = this.waiters.shift();
      if (w) w(reply);
      else this.replies.push(reply);
    }
  }

  /** The next reply, or null once the server closed the connection. */
  next(timeoutMs = 30_000): Promise<Reply | null> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error('no reply in time'));
      }, timeoutMs);
      const waiter = (r: Reply | null) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.push(waiter);
    });
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  async cmd(line: string, timeoutMs?: number): Promise<Reply | null> {
    this.send(line + '\r\n');
    return this.next(timeoutMs);
  }

  /** AUTH TLS on this connection (the usual way: wait for 234, then handshake). */
  async startTls(): Promise<void> {
    const r = await this.cmd('AUTH TLS');
    if (r?.code !== 234) throw new Error(`AUTH TLS: ${r?.text}`);
    this.socket.removeAllListeners('data');
    const secure = tlsConnect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
  }

  /** EPSV, and the port it gave. */
  async epsv(): Promise<number> {
    const r = await this.cmd('EPSV');
    const m = /\|\|\|(\d+)\|/.exec(r?.text ?? '');
    if (!m) throw new Error(`EPSV: ${r?.text}`);
    return Number(m[1]);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Connects a data socket to 127.0.0.1:port and collects everything it receives. */
export async function readData(port: number): Promise<Buffer> {
  const s = connect({ port, host: '127.0.0.1' });
  const chunks: Buffer[] = [];
  s.on('data', (c) => chunks.push(c));
  await new Promise<void>((resolve, reject) => {
    s.once('close', () => resolve());
    s.once('error', reject);
  });
  return Buffer.concat(chunks);
}

/** Polls `check` until it is true or `ms` pass. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Connects a data socket to 127.0.0.1:port, sends `data` and closes its side. */
export async function writeData(port: number, data: Buffer | string): Promise<void> {
  const s = connect({ port, host: '127.0.0.1' });
  s.on('data', () => {});
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.end(data);
    s.once('close', () => resolve());
  });
}
