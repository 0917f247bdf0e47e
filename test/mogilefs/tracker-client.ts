// A small MogileFS tracker protocol client for the tests: one TCP connection, one request line
// at a time, the reply parsed into its code and arguments. Written from the protocol as
// perl-MogileFS-Client's Backend.pm speaks it (URL-encoded args, `OK args` / `ERR code text`).
import { connect, type Socket } from 'node:net';

export type TrackerReply = { ok: true; args: Map<string, Buffer> } | { ok: false; code: string; text: string };

function encode(v: string | number | Buffer): string {
  const bytes = Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8');
  let s = '';
  for (const b of bytes) s += /[A-Za-z0-9_.\-/]/.test(String.fromCharCode(b)) && b < 0x80 ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`;
  return s;
}

function decode(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '+') out.push(0x20);
    else if (s[i] === '%') {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(s.charCodeAt(i));
  }
  return Buffer.from(out);
}

export function parseReply(line: string): TrackerReply {
  const err = /^ERR (\S+) ?(\S*)$/.exec(line);
  if (err) return { ok: false, code: err[1]!, text: decode(err[2]!).toString('utf8') };
  const ok = /^OK ?(\S*)$/.exec(line);
  if (!ok) throw new Error(`not a tracker reply: ${JSON.stringify(line)}`);
  const args = new Map<string, Buffer>();
  for (const pair of ok[1]!.split('&')) {
    if (!pair) continue;
    const [k, v = ''] = pair.split('=');
    args.set(decode(k!).toString('utf8'), decode(v));
  }
  return { ok: true, args };
}

export class TrackerClient {
  private buffered = '';
  private waiting: Array<(line: string) => void> = [];
  private constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buffered += d;
      for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
        const line = this.buffered.slice(0, nl).replace(/\r$/, '');
        this.buffered = this.buffered.slice(nl + 1);
        this.waiting.shift()?.(line);
      }
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<TrackerClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, host, () => resolve(new TrackerClient(s)));
      s.once('error', reject);
    });
  }

  /** Sends a raw line (CRLF added) and returns the raw reply line. */
  raw(line: string): Promise<string> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.socket.write(`${line}\r\n`, 'latin1');
    });
  }

  async call(cmd: string, args: Record<string, string | number | Buffer> = {}): Promise<TrackerReply> {
    const line = Object.entries(args).map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
    return parseReply(await this.raw(`${cmd} ${line}`));
  }

  /** A call that must succeed: its arguments as text. */
  async ok(cmd: string, args: Record<string, string | number | Buffer> = {}): Promise<Record<string, string>> {
    const r = await this.call(cmd, args);
    if (!r.ok) throw new Error(`${cmd}: ERR ${r.code} ${r.text}`);
    return Object.fromEntries([...r.args].map(([k, v]) => [k, v.toString('utf8')]));
  }

  /** A call that must fail: its error code. */
  async err(cmd: string, args: Record<string, string | number | Buffer> = {}): Promise<string> {
    const r = await this.call(cmd, args);
    if (r.ok) throw new Error(`${cmd} succeeded, expected an error`);
    return r.code;
  }

  /** Resolves 'closed' when the server closes the connection. */
  closed(): Promise<'closed'> {
    return new Promise((resolve) => (this.socket.closed ? resolve('closed') : this.socket.once('close', () => resolve('closed'))));
  }

  close(): void {
    this.socket.destroy();
  }
}
