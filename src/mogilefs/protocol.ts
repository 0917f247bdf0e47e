// The MogileFS tracker protocol's wire format (MogileFS-Server lib/MogileFS/Worker/Query.pm and
// perl-MogileFS-Client lib/MogileFS/Backend.pm): one request a line, `cmd name=value&name=value`
// with URL-encoded names and values ('+' is a space), ended by \r\n or \n; one reply a line,
// `OK name=value&...` or `ERR <code> <url-encoded text>`. Values are byte strings: a key is
// whatever bytes the client sent, so arguments are decoded to Buffers, not text.

export interface Request {
  /** Lower-cased command name. */
  cmd: string;
  args: Args;
}

/** The arguments of a request; a name given twice keeps its last value. */
export class Args {
  constructor(private readonly values: Map<string, Buffer>) {}

  /** The raw bytes of an argument, or undefined when absent. */
  bytes(name: string): Buffer | undefined {
    return this.values.get(name);
  }

  /** An argument as UTF-8 text ('' when absent). */
  text(name: string): string {
    return this.values.get(name)?.toString('utf8') ?? '';
  }

  /** Perl's truth of the value: absent, '' and '0' are false. */
  flag(name: string): boolean {
    const v = this.text(name);
    return v !== '' && v !== '0';
  }

  /** A non-negative whole number, null when absent or empty; NaN when not a number. */
  int(name: string): number | null {
    const v = this.text(name).trim();
    if (v === '') return null;
    return /^[0-9]{1,15}$/.test(v) ? Number(v) : Number.NaN;
  }
}

/** Decodes `%XX` and `+` of one URL-encoded component into bytes. */
export function decodeComponent(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) out.push(0x20);
    else if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(c & 0xff); // lines are read as latin1: one character per byte
  }
  return Buffer.from(out);
}

/** Parses one request line (read as latin1, without its line end); null when it names no command. */
export function parseRequest(line: string): Request | null {
  const m = /^\s*([A-Za-z0-9_]+)\s*(.*)$/s.exec(line);
  if (!m) return null;
  const values = new Map<string, Buffer>();
  for (const pair of m[2]!.trim().split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq < 0 ? pair : pair.slice(0, eq)).toString('utf8');
    values.set(name, decodeComponent(eq < 0 ? '' : pair.slice(eq + 1)));
  }
  return { cmd: m[1]!.toLowerCase(), args: new Args(values) };
}

const PLAIN = /[A-Za-z0-9_,\-./\\: ]/;

/** URL-encodes bytes the way the server does (eurl: letters, digits and _,-./\: kept, space as '+'). */
export function encodeComponent(v: string | number | Buffer): string {
  const bytes = Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8');
  let s = '';
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    if (b < 0x80 && PLAIN.test(ch)) s += ch === ' ' ? '+' : ch;
    else s += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return s;
}

/** What a command answers with: names and values, in the order given. */
export type Reply = Record<string, string | number | Buffer>;

export function okLine(reply: Reply = {}): string {
  const args = Object.entries(reply).map(([k, v]) => `${encodeComponent(k)}=${encodeComponent(v)}`);
  return `OK ${args.join('&')}\r\n`;
}

export function errLine(code: string, text: string): string {
  return `ERR ${code} ${encodeComponent(text)}\r\n`;
}
