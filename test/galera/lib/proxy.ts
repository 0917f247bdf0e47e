// A TCP proxy in front of a real MariaDB for the faults a live server will not do on request:
// a server that stops answering without closing anything (frozen: bytes are held, not passed),
// and a COMMIT whose answer never comes back (the connection dies just before or just after the
// server got it). It reads the client's side as MySQL packets (3-byte length, sequence number,
// payload; COM_QUERY is 0x03 then the statement text) and passes everything else unchanged.
import { createServer, connect, type Server, type Socket } from 'node:net';

/** What happens to the next COMMIT a client sends: cut before it reaches the server, or after (its answer lost). */
export type CommitFault = 'before' | 'after';

const COM_QUERY = 0x03;

export class MysqlProxy {
  private server!: Server;
  private readonly sockets = new Set<Socket>();
  /** While true, nothing is passed either way and new connections get no greeting. */
  frozen = false;
  private held: Array<() => void> = [];
  private commitFault: CommitFault | null = null;
  /** COMMITs cut so far, by kind. */
  readonly cut = { before: 0, after: 0 };

  private constructor(
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }): Promise<MysqlProxy> {
    const p = new MysqlProxy(target);
    p.server = createServer((client) => p.accept(client));
    await new Promise<void>((r) => p.server.listen(0, '127.0.0.1', r));
    return p;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** The next COMMIT through the proxy (on any connection) meets `fault`; once. */
  loseNextCommit(fault: CommitFault): void {
    this.commitFault = fault;
  }

  /** Passes what was held while frozen, and everything after. */
  thaw(): void {
    this.frozen = false;
    const held = this.held;
    this.held = [];
    for (const fn of held) fn();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }

  private pass(fn: () => void): void {
    if (this.frozen) this.held.push(fn);
    else fn();
  }

  private accept(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    let replyLost = false;
    upstream.on('data', (chunk: Buffer) => {
      if (replyLost) {
        // The server has answered the COMMIT (it is done): the client never hears it.
        client.destroy();
        upstream.destroy();
        return;
      }
      this.pass(() => client.write(chunk));
    });
    let buf = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4) {
        const len = buf.readUIntLE(0, 3);
        if (buf.length < 4 + len) break;
        const packet = buf.subarray(0, 4 + len);
        buf = buf.subarray(4 + len);
        const isCommit = len > 1 && packet[4] === COM_QUERY && packet.subarray(5).toString('utf8').trim().toUpperCase() === 'COMMIT';
        if (isCommit && this.commitFault) {
          const fault = this.commitFault;
          this.commitFault = null;
          this.cut[fault]++;
          if (fault === 'before') {
            client.destroy();
            upstream.destroy();
            return;
          }
          replyLost = true;
        }
        this.pass(() => upstream.write(packet));
      }
    });
  }
}
