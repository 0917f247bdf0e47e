// A request refused before its body is read (too large for a PROPPATCH, a wrong password) while
// the client is still sending that body: the client must be able to send it all and read the
// refusal, then go on using the connection, or see it closed cleanly when it asked for that. An
// answer followed by a close while the body still arrived made the kernel reset the connection
// under the client's writes (EPIPE instead of the 413, in CI and in full runs). Past
// DRAIN_REFUSED_BODY_BYTES the server answers at once and closes rather than read a large body.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { DRAIN_REFUSED_BODY_BYTES } from '../../src/dav/server.ts';
import { useCluster } from '../harness/cluster.ts';

const MiB = 1024 * 1024;
const auth = (password: string) => `Authorization: Basic ${Buffer.from(`demo:${password}`).toString('base64')}\r\n`;

interface Reply {
  status: number;
  headers: Record<string, string>;
}

/** One HTTP/1.1 client connection, read by hand so that what the server does to it is seen as is. */
class RawConnection {
  private buf = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  closed = false;
  error: Error | null = null;
  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiting?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiting?.();
    });
    socket.on('error', (err) => {
      this.error = err;
    });
  }

  static open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const s = connect(Number(port), hostname, () => resolve(new RawConnection(s)));
      s.once('error', reject);
    });
  }

  private async more(what: string): Promise<void> {
    if (this.closed) throw new Error(`connection closed while waiting for ${what}${this.error ? ` (${this.error.message})` : ''}`);
    await new Promise<void>((resolve) => (this.waiting = resolve));
    this.waiting = null;
  }

  /** Reads one response (headers and a Content-Length body). */
  async reply(): Promise<Reply> {
    let end: number;
    while ((end = this.buf.indexOf('\r\n\r\n')) < 0) await this.more('a response');
    const [statusLine, ...lines] = this.buf.subarray(0, end).toString('latin1').split('\r\n');
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length'] ?? 0);
    while (this.buf.length < end + 4 + length) await this.more('the response body');
    this.buf = this.buf.subarray(end + 4 + length);
    return { status: Number(statusLine!.split(' ')[1]), headers };
  }

  /**
   * Writes all of `bytes` in 64 KiB pieces, each after the last was taken, pausing after the first
   * as a slow or busy client does (the server has decided by then); rejects on a reset.
   */
  async send(bytes: number): Promise<void> {
    const piece = Buffer.alloc(64 * 1024, 0x61);
    for (let sent = 0; sent < bytes; sent += piece.length) {
      const chunk = piece.subarray(0, Math.min(piece.length, bytes - sent));
      await new Promise<void>((resolve, reject) => this.socket.write(chunk, (err) => (err ? reject(err) : resolve())));
      if (sent === 0) await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Resolves once the server has closed the connection (the test's timeout fails it otherwise). */
  async untilClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((resolve) => (this.waiting = resolve));
  }
}

describe('WebDAV: a refused request whose body is still on its way', { timeout: 120_000 }, () => {
  const c = useCluster({ db: 'sqlite', dav: true });
  const size = 2 * MiB;

  for (const [what, password, status] of [
    ['a 2 MiB PROPPATCH (413)', 'demo', 413],
    ['a 2 MiB PROPPATCH with a wrong password (401)', 'wrong', 401],
  ] as const) {
    test(`${what}: the whole body goes through, the refusal is read, the connection serves the next request`, async () => {
      const conn = await RawConnection.open(c.dav.url);
      try {
        conn.socket.write(`PROPPATCH / HTTP/1.1\r\nHost: x\r\n${auth(password)}Content-Type: application/xml\r\nContent-Length: ${size}\r\n\r\n`);
        await conn.send(size);
        const refused = await conn.reply();
        assert.equal(refused.status, status);
        assert.notEqual(refused.headers.connection, 'close');
        conn.socket.write(`OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n`);
        const next = await conn.reply();
        assert.equal(next.status, 200);
        assert.equal(next.headers.dav, '1, 2');
        assert.equal(conn.error, null);
      } finally {
        conn.socket.destroy();
      }
    });
  }

  test('the same with Connection: close (as node:http without an agent sends it): the refusal is read, then a clean close, no reset', async () => {
    const conn = await RawConnection.open(c.dav.url);
    try {
      conn.socket.write(`PROPPATCH / HTTP/1.1\r\nHost: x\r\n${auth('demo')}Connection: close\r\nContent-Length: ${size}\r\n\r\n`);
      await conn.send(size);
      conn.socket.end();
      const refused = await conn.reply();
      assert.equal(refused.status, 413);
      await conn.untilClosed();
      assert.equal(conn.error, null, 'no EPIPE or ECONNRESET');
    } finally {
      conn.socket.destroy();
    }
  });

  test('a body over the drain limit is not read: the refusal comes at once with Connection: close and the server closes', { timeout: 30_000 }, async () => {
    const conn = await RawConnection.open(c.dav.url);
    try {
      conn.socket.write(`PROPPATCH / HTTP/1.1\r\nHost: x\r\n${auth('demo')}Content-Length: ${DRAIN_REFUSED_BODY_BYTES + 1}\r\n\r\n`);
      const refused = await conn.reply();
      assert.equal(refused.status, 413);
      assert.equal(refused.headers.connection, 'close');
      await conn.untilClosed();
    } finally {
      conn.socket.destroy();
    }
  });
});
