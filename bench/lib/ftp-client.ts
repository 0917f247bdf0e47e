// A minimal FTP client, only so the benchmark can time single commands (a LIST without the
// login in front of it, the latency of one small STOR) where curl and lftp time a whole session.
import net from 'node:net';

export interface Reply {
  code: number;
  text: string;
}

export class MiniFtp {
  private buf = '';
  private waiting: Array<(r: Reply) => void> = [];
  private replies: Reply[] = [];
  private constructor(private readonly sock: net.Socket) {
    sock.setNoDelay(true);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('error', () => {});
  }

  static async connect(port: number, user: string, password: string): Promise<MiniFtp> {
    const sock = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const c = new MiniFtp(sock);
    await c.expect(await c.next(), 220);
    await c.expect(await c.send(`USER ${user}`), 331);
    await c.expect(await c.send(`PASS ${password}`), 230);
    await c.expect(await c.send('TYPE I'), 200);
    return c;
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).replace(/\r$/, '');
      this.buf = this.buf.slice(nl + 1);
      // A multi-line reply ends with "NNN " (a space after the code); "NNN-" continues it.
      const m = /^(\d{3}) /.exec(line);
      if (!m) continue;
      const r = { code: Number(m[1]), text: line };
      const w = this.waiting.shift();
      if (w) w(r);
      else this.replies.push(r);
    }
  }

  next(): Promise<Reply> {
    const r = this.replies.shift();
    if (r) return Promise.resolve(r);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  send(line: string): Promise<Reply> {
    this.sock.write(line + '\r\n');
    return this.next();
  }

  async expect(r: Reply, code: number): Promise<Reply> {
    if (r.code !== code) throw new Error(`FTP: expected ${code}, got "${r.text}"`);
    return r;
  }

  /** EPSV, then a connected data socket. */
  async data(): Promise<net.Socket> {
    const r = await this.expect(await this.send('EPSV'), 229);
    const port = Number(/\(\|\|\|(\d+)\|\)/.exec(r.text)?.[1]);
    const s = net.connect({ host: '127.0.0.1', port });
    s.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return s;
  }

  /** LIST of `path`; resolves with the bytes and lines received, after the 226. */
  async list(path: string): Promise<{ bytes: number; lines: number }> {
    const s = await this.data();
    let bytes = 0;
    let lines = 0;
    s.on('data', (c: Buffer) => {
      bytes += c.length;
      for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) lines++;
    });
    const ended = new Promise<void>((resolve) => s.once('close', () => resolve()));
    await this.expect(await this.send(`LIST ${path}`), 150);
    await ended;
    await this.expect(await this.next(), 226);
    return { bytes, lines };
  }

  /** STOR of `body` to `path`; resolves after the 226. */
  async stor(path: string, body: Buffer, onSend?: () => void): Promise<void> {
    const s = await this.data();
    onSend?.();
    const first = this.send(`STOR ${path}`);
    await this.expect(await first, 150);
    await new Promise<void>((resolve) => s.end(body, () => resolve()));
    await this.expect(await this.next(), 226);
  }

  /** RETR of `path`; resolves with the byte count after the 226. */
  async retr(path: string, onSend?: () => void): Promise<number> {
    const s = await this.data();
    let bytes = 0;
    s.on('data', (c: Buffer) => (bytes += c.length));
    const ended = new Promise<void>((resolve) => s.once('close', () => resolve()));
    onSend?.();
    await this.expect(await this.send(`RETR ${path}`), 150);
    await ended;
    await this.expect(await this.next(), 226);
    return bytes;
  }

  async quit(): Promise<void> {
    await this.send('QUIT').catch(() => undefined);
    this.sock.destroy();
  }
}
