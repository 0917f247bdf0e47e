// PROXY protocol headers from peers that are not the proxy (issue 15, finding 6). With
// `--proxy-protocol`, a header names the client's address; believed from anyone, it let a direct
// client claim 127.0.0.2, have a PORT transfer sent there, and step around the per-address
// limits. Now a header is believed only from `--proxy-protocol-from` peers (default: loopback);
// a connection from any other peer is closed before a word is said. Other loopback addresses
// (127.0.0.x) stand in for other hosts; the host's own non-loopback address, where it has one,
// for a remote peer.
import assert from 'node:assert/strict';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { before, describe, test } from 'node:test';
import { useCluster } from '../harness/cluster.ts';
import { until } from '../harness/wait.ts';
import { trackFigures } from './lib/figures.ts';

const fig = trackFigures('security-proxy');

/** A control connection that starts with `preamble` and reads replies line by line. */
class Session {
  private buf = '';
  private readonly lines: string[] = [];
  private wake: (() => void) | null = null;
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf += d.toString('latin1');
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        this.lines.push(this.buf.slice(0, nl).replace(/\r$/, ''));
        this.buf = this.buf.slice(nl + 1);
      }
      this.wake?.();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  static async open(port: number, o: { preamble?: string; localAddress?: string; host?: string } = {}): Promise<Session> {
    const socket = net.connect({ port, host: o.host ?? '127.0.0.1', localAddress: o.localAddress });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    if (o.preamble) socket.write(o.preamble);
    return new Session(socket);
  }

  /** The next complete reply (all its lines, joined), or null once closed. */
  async reply(): Promise<string | null> {
    for (;;) {
      const i = this.lines.findIndex((l) => /^\d{3} /.test(l));
      if (i >= 0) {
        const lines = this.lines.splice(0, i + 1);
        // A multi-line reply is answered by its last line's code; keep the text of all of them.
        return [lines.at(-1)!, ...lines.slice(0, -1)].join('\n');
      }
      if (this.closed) return null;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }

  async cmd(line: string): Promise<string | null> {
    if (!this.closed) this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A listener on `host` counting connections: the would-be victim of a PORT bounce. */
async function victim(host: string): Promise<{ port: number; accepted: () => number; close(): Promise<void> }> {
  let accepted = 0;
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    accepted++;
    sockets.push(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

const v1 = (source: string, sourcePort = 40000) => `PROXY TCP4 ${source} 127.0.0.1 ${sourcePort} 21\r\n`;

/** This host's first non-loopback IPv4 address, if it has one. */
function hostAddress(): string | null {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return null;
}

describe('PROXY protocol headers are believed only from the listed proxies', () => {
  const c = useCluster({ db: 'sqlite', nodes: 2, mindevcount: 2, auth: false });

  test('a direct client claiming 127.0.0.2 is closed before the greeting; no PORT transfer reaches 127.0.0.2', async () => {
    fig.scenario('direct client sends PROXY TCP4 127.0.0.2 and PORT there');
    const logs: string[] = [];
    const s = await c.startFtp({ proxyProtocol: true, proxyProtocolFrom: '127.0.0.1/32', log: (_l: string, msg: string, f?: Record<string, unknown>) => logs.push(`${msg} ${JSON.stringify(f ?? {})}`) });
    const target = await victim('127.0.0.2');
    try {
      fig.fault();
      const attacker = await Session.open(s.port, { localAddress: '127.0.0.3', preamble: v1('127.0.0.2') });
      const greeting = await attacker.reply();
      if (greeting !== null) {
        // Only reached where the header is believed: play the attack through.
        await attacker.cmd('USER demo');
        await attacker.cmd('PASS demo');
        await attacker.cmd(`PORT 127,0,0,2,${target.port >> 8},${target.port & 0xff}`);
        await attacker.cmd('NLST');
      }
      attacker.close();
      assert.equal(target.accepted(), 0, 'the server made a data connection to the claimed address');
      assert.equal(greeting, null, 'the server greeted a client that is not a listed proxy');
      assert.ok(logs.some((l) => /not from a peer allowed to send PROXY headers/.test(l) && /127\.0\.0\.3/.test(l)), `refusal logged with the peer: ${logs.join('\n')}`);
    } finally {
      await target.close();
      await s.close({ graceMs: 0 });
    }
  });

  test("a listed proxy's header is honoured, and per-address limits count the address it names", async () => {
    fig.scenario('listed proxy: header honoured, limits per real client');
    const s = await c.startFtp({ proxyProtocol: true, proxyProtocolFrom: '127.0.0.1/32, 127.0.0.9', maxConnectionsPerAddress: 1 });
    const open: Session[] = [];
    const session = async (o: Parameters<typeof Session.open>[1]) => {
      const x = await Session.open(s.port, o);
      open.push(x);
      return x;
    };
    try {
      const first = await session({ preamble: v1('198.51.100.7') });
      assert.match((await first.reply()) ?? 'closed', /^220 /);
      assert.match((await first.cmd('USER demo')) ?? 'closed', /^331 /);
      assert.match((await first.cmd('PASS demo')) ?? 'closed', /^230 /);
      assert.match((await first.cmd('STAT')) ?? 'closed', /Connected from 198\.51\.100\.7/);
      // PORT checks use it too: the proxy's own address is not the client's.
      assert.match((await first.cmd('PORT 127,0,0,1,200,10')) ?? 'closed', /^500 .*198\.51\.100\.7/);

      // The same client again through the proxy: over its limit of one.
      const second = await session({ preamble: v1('198.51.100.7', 40001) });
      assert.match((await second.reply()) ?? 'closed', /^421 .*from your address/);
      // Another client through the same proxy is its own address, with its own slot.
      const other = await session({ preamble: v1('198.51.100.8') });
      assert.match((await other.reply()) ?? 'closed', /^220 /);
      // The second listed peer may send headers too.
      const viaNine = await session({ localAddress: '127.0.0.9', preamble: v1('198.51.100.9') });
      assert.match((await viaNine.reply()) ?? 'closed', /^220 /);

      // A direct client cannot mint addresses to get past the limit: each attempt is closed.
      fig.fault(3);
      for (const claimed of ['198.51.100.20', '198.51.100.21', '198.51.100.22']) {
        const x = await session({ localAddress: '127.0.0.4', preamble: v1(claimed) });
        assert.equal(await x.reply(), null, `a header from 127.0.0.4 claiming ${claimed} was believed`);
      }
      // Nor without a header: a PROXY listener takes nobody directly.
      const bare = await session({ localAddress: '127.0.0.4' });
      assert.equal(await bare.reply(), null);
    } finally {
      for (const x of open) x.close();
      await s.close({ graceMs: 0 });
    }
  });

  test('without --proxy-protocol-from only loopback peers may send headers; bad lists refuse to start', async () => {
    const s = await c.startFtp({ host: '0.0.0.0', proxyProtocol: true });
    try {
      const local = await Session.open(s.port, { localAddress: '127.0.0.6', preamble: v1('198.51.100.30') });
      assert.match((await local.reply()) ?? 'closed', /^220 /);
      local.close();
      const remote = hostAddress();
      if (remote) {
        // This host's own LAN address is not loopback: as a peer it is "another host".
        const far = await Session.open(s.port, { host: remote, localAddress: remote, preamble: v1('198.51.100.31') });
        assert.equal(await far.reply(), null, `a header from ${remote} was believed with the default list`);
      }
    } finally {
      await s.close({ graceMs: 0 });
    }
    await assert.rejects(c.startFtp({ proxyProtocol: true, proxyProtocolFrom: '10.0.0.0/33' }), /--proxy-protocol-from: 10\.0\.0\.0\/33 is not a network/);
    await assert.rejects(c.startFtp({ proxyProtocol: true, proxyProtocolFrom: 'haproxy' }), /--proxy-protocol-from/);
    await assert.rejects(c.startFtp({ proxyProtocolFrom: '127.0.0.1' }), /--proxy-protocol-from needs --proxy-protocol/);
  });

  test('`mogftp ftp --proxy-protocol-from` (the CLI and its environment variable) refuses other peers', async () => {
    const fe = await c.startFrontendProcess(['--proxy-protocol'], { MOGFTP_PROXY_PROTOCOL_FROM: '127.0.0.1' });
    try {
      const direct = await Session.open(fe.port, { localAddress: '127.0.0.2', preamble: v1('127.0.0.2') });
      assert.equal(await direct.reply(), null);
      await until('the refusal in the log', () => /not from a peer allowed to send PROXY headers/.test(fe.output()), 10_000);
      const proxied = await Session.open(fe.port, { preamble: v1('198.51.100.40') });
      assert.match((await proxied.reply()) ?? 'closed', /^220 /);
      proxied.close();
    } finally {
      await fe.kill();
    }
  });
});
