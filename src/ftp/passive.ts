// Data connections: our PASV/EPSV/PORT/EPRT and the connectors behind them, replacing ftp-srv's
// (whose PASV listeners outlived the next PASV by 30 s, so one client could use up a port range;
// which waited for the data TLS handshake before 150; and which needed the `ip` package).
// - one listener per connection: a new PASV/EPSV/PORT, the end of a transfer or of the control
//   connection closes the previous one; a listener closes once it has its one data connection;
// - only the control connection's client may connect to it, and PORT/EPRT may only name the
//   client's own address (no FXP or bounce), unless allowed;
// - every data socket gets TCP_NODELAY, an inactivity timeout, and TLS when PROT P is in force.
import { channel } from 'node:diagnostics_channel';
import { createServer, isIP, Socket, type Server } from 'node:net';
import { ErrorCodes, mogError } from '../errors.ts';
import { canonicalIp, sameAddress } from '../addresses.ts';
import { pasvAddressFor } from './address.ts';
import type { CommandSpec, Connector, FtpConn, Handler } from './connection.ts';
import { setConnector, settingsOf } from './ftp-srv-adapter.ts';
import { replyFor } from './replies.ts';
import { DEFAULTS, stateOf } from './settings.ts';
import { protectDataSocket } from './tls.ts';

/** Published for every data socket we accept or open: `{ socket, conn }` (observability, tests). */
export const dataSocketChannel = channel('mogftp:ftp:data-socket');

/** No data connection set up (the state after every transfer). */
export class IdleConnector implements Connector {
  type = false as const;
  socket = null;
  dataServer = null;
  waitForConnection(): Promise<Socket> {
    return Promise.reject(mogError(ErrorCodes.INVALID_ARGUMENT, 'No data connection: send PASV or EPSV (or PORT) first'));
  }
  closeServer(): void {}
  end(): void {}
}

abstract class DataConnector implements Connector {
  abstract type: string;
  socket: Socket | null = null;
  private waiters: Array<{ resolve: (s: Socket) => void; reject: (e: Error) => void }> = [];
  private failure: Error | null = null;
  protected ended = false;

  constructor(protected readonly conn: FtpConn) {}

  waitForConnection({ timeout = 15_000 }: { timeout?: number } = {}): Promise<Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (s: Socket) => {
          clearTimeout(timer);
          resolve(s);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(mogError(ErrorCodes.TRANSFER_ABORTED, 'The data connection was not made in time'));
      }, timeout);
      this.waiters.push(waiter);
    });
  }

  /** A data connection is up: prepare it and hand it to whoever waits. */
  protected connected(raw: Socket): void {
    const settings = settingsOf(this.conn);
    raw.setNoDelay(true);
    raw.on('error', () => {});
    const socket = protectDataSocket(this.conn, raw);
    const idleMs = settings.dataTimeoutMs;
    if (idleMs > 0)
      socket.setTimeout(idleMs, () =>
        socket.destroy(mogError(ErrorCodes.TRANSFER_ABORTED, `Data connection stalled (no progress for ${Math.round(idleMs / 1000)} s)`)),
      );
    this.socket = socket;
    dataSocketChannel.publish({ socket: raw, conn: this.conn });
    for (const w of this.waiters.splice(0)) w.resolve(socket);
  }

  protected failed(err: Error): void {
    if (this.socket) return;
    this.failure = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  closeServer(): void {}

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.closeServer();
    const socket = this.socket;
    if (socket && !socket.destroyed) {
      socket.end();
      setTimeout(() => socket.destroy(), 2000).unref();
    }
    this.failed(mogError(ErrorCodes.TRANSFER_ABORTED, 'Data connection closed'));
    if (this.conn.connector === this) setConnector(this.conn, new IdleConnector());
  }
}

export class PassiveConnector extends DataConnector {
  type = 'passive';
  dataServer: Server | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  /** The client address whose passive-listener count this one holds a slot of, while it listens. */
  private holder: string | null = null;

  async listen(): Promise<number> {
    const settings = settingsOf(this.conn);
    this.holdSlot();
    const server = createServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.accept(socket));
    this.dataServer = server;
    let port: number;
    try {
      port = await bindInRange(server, settings.host, settings.pasvPorts);
    } catch (err) {
      this.releaseSlot();
      throw err;
    }
    if (this.ended) {
      server.close();
      throw mogError(ErrorCodes.TRANSFER_ABORTED, 'Data connection closed');
    }
    server.on('error', () => {});
    this.idleTimer = setTimeout(() => {
      this.closeServer();
      this.failed(mogError(ErrorCodes.TRANSFER_ABORTED, 'Nobody connected to the passive port in time'));
    }, DEFAULTS.pasvAcceptTimeoutMs);
    this.idleTimer.unref();
    return port;
  }

  private accept(socket: Socket): void {
    // Only the client of this control connection (or the proxy it came through) may connect.
    const mine = [this.conn.ip, stateOf(this.conn).raw.remoteAddress].some((a) => sameAddress(a, socket.remoteAddress));
    if (!mine || this.socket || this.ended) {
      socket.destroy();
      return;
    }
    this.closeServer();
    this.connected(socket);
  }

  closeServer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.dataServer?.close();
    this.dataServer = null;
    this.releaseSlot();
  }

  /** Takes one of the client address's passive slots, or refuses (maxPassivePerAddress). */
  private holdSlot(): void {
    const settings = settingsOf(this.conn);
    const key = canonicalIp(this.conn.ip);
    const held = settings.passiveHeld.get(key) ?? 0;
    const max = settings.maxPassivePerAddress;
    if (max > 0 && held >= max)
      throw mogError(ErrorCodes.IN_USE, `your address already holds ${max} passive ports waiting for a connection; connect to those or try again shortly`);
    settings.passiveHeld.set(key, held + 1);
    this.holder = key;
  }

  private releaseSlot(): void {
    if (this.holder === null) return;
    const held = settingsOf(this.conn).passiveHeld;
    const left = (held.get(this.holder) ?? 1) - 1;
    if (left > 0) held.set(this.holder, left);
    else held.delete(this.holder);
    this.holder = null;
  }
}

export class ActiveConnector extends DataConnector {
  type = 'active';
  private pending: Socket | null = null;

  start(host: string, port: number): void {
    const socket = new Socket();
    this.pending = socket;
    socket.once('error', (err) => this.failed(mogError(ErrorCodes.TRANSFER_ABORTED, `Cannot connect to ${host} port ${port}: ${err.message}`)));
    socket.setTimeout(15_000, () => socket.destroy(new Error('connect timed out')));
    socket.connect({ host, port, noDelay: true }, () => {
      socket.setTimeout(0);
      if (this.ended) return socket.destroy();
      this.pending = null;
      this.connected(socket);
    });
  }

  closeServer(): void {
    this.pending?.destroy();
    this.pending = null;
  }
}

async function bindInRange(server: Server, host: string, [min, max]: [number, number]): Promise<number> {
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  if (min === 0 && max === 0) {
    await listen(0);
    return (server.address() as { port: number }).port;
  }
  const count = max - min + 1;
  const first = Math.floor(Math.random() * count);
  for (let i = 0; i < count; i++) {
    const port = min + ((first + i) % count);
    try {
      await listen(port);
      return port;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
    }
  }
  throw mogError(ErrorCodes.IN_USE, `No free passive port in ${min}-${max}; try again shortly`);
}

/** Why this connection may not open a data connection now (require-tls without PROT P), or null. */
function dataRefusal(conn: FtpConn): string | null {
  if (settingsOf(conn).requireTls && stateOf(conn).prot !== 'P')
    return 'Data connections must be protected on this server: send PBSZ 0 and PROT P first';
  return null;
}

async function openPassive(conn: FtpConn): Promise<number> {
  conn.connector.end();
  const connector = new PassiveConnector(conn);
  setConnector(conn, connector);
  return connector.listen();
}

function replyPassiveFailure(conn: FtpConn, err: unknown): Promise<unknown> {
  conn.connector.end();
  return conn.reply(425, `Cannot open a passive port: ${replyFor(err).message}`);
}

const pasv: Handler = async function (this: FtpConn) {
  const state = stateOf(this);
  if (state.epsvAll) return this.reply(503, 'EPSV ALL is in force: use EPSV');
  const refused = dataRefusal(this);
  if (refused) return this.reply(521, refused);
  const address = pasvAddressFor(settingsOf(this).pasvRules, this.ip ?? '', state.raw.localAddress);
  if (!address) return this.reply(425, 'PASV can only announce IPv4 addresses: use EPSV');
  try {
    const port = await openPassive(this);
    return this.reply(227, `Entering Passive Mode (${address.split('.').join(',')},${port >> 8},${port & 0xff})`);
  } catch (err) {
    return replyPassiveFailure(this, err);
  }
};

const epsv: Handler = async function (this: FtpConn, { command }) {
  const arg = (command.arg ?? '').trim().toUpperCase();
  if (arg === 'ALL') {
    stateOf(this).epsvAll = true;
    return this.reply(200, 'EPSV ALL accepted: only EPSV from now on');
  }
  if (arg !== '' && arg !== '1' && arg !== '2') return this.reply(522, 'Network protocol not supported, use (1,2)');
  const refused = dataRefusal(this);
  if (refused) return this.reply(521, refused);
  try {
    const port = await openPassive(this);
    return this.reply(229, `Entering Extended Passive Mode (|||${port}|)`);
  } catch (err) {
    return replyPassiveFailure(this, err);
  }
};

function active(conn: FtpConn, host: string, port: number): Promise<unknown> {
  const settings = settingsOf(conn);
  if (stateOf(conn).epsvAll) return conn.reply(503, 'EPSV ALL is in force: use EPSV');
  const refused = dataRefusal(conn);
  if (refused) return conn.reply(521, refused);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return conn.reply(501, 'Invalid port number');
  if (!settings.allowForeignDataAddress) {
    if (!sameAddress(host, conn.ip))
      return conn.reply(500, `Data connections go only to your own address (${conn.ip}), not ${host}`);
    if (port < 1024) return conn.reply(500, `Data connections to privileged ports (${port}) are refused`);
  }
  conn.connector.end();
  const connector = new ActiveConnector(conn);
  setConnector(conn, connector);
  connector.start(host, port);
  return conn.reply(200, 'Active data connection set up; send the transfer command');
}

const port: Handler = function (this: FtpConn, { command }) {
  const m = /^\s*(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})\s*$/.exec(command.arg ?? '');
  const n = m ? m.slice(1).map(Number) : [];
  if (!m || n.some((x) => x > 255)) return this.reply(501, 'Syntax: PORT h1,h2,h3,h4,p1,p2');
  return active(this, n.slice(0, 4).join('.'), n[4]! * 256 + n[5]!);
};

const eprt: Handler = function (this: FtpConn, { command }) {
  const arg = (command.arg ?? '').trim();
  const delim = arg[0];
  const parts = delim ? arg.split(delim) : [];
  if (parts.length !== 5 || parts[0] !== '' || parts[4] !== '') return this.reply(501, 'Syntax: EPRT |1|address|port| or |2|address|port|');
  const [, proto, host, portText] = parts as [string, string, string, string, string];
  const family = proto === '1' ? 4 : proto === '2' ? 6 : 0;
  if (!family) return this.reply(522, 'Network protocol not supported, use (1,2)');
  if (isIP(host) !== family) return this.reply(501, `${host} is not an IPv${family} address`);
  if (!/^\d+$/.test(portText)) return this.reply(501, 'Invalid port number');
  return active(this, host, Number(portText));
};

export const dataCommands: Record<string, CommandSpec> = {
  PASV: { handler: pasv, syntax: 'PASV', description: 'Passive mode: the server listens, the client connects (IPv4)' },
  EPSV: { handler: epsv, syntax: 'EPSV [1|2|ALL]', description: 'Extended passive mode (any address family)' },
  PORT: { handler: port, syntax: 'PORT h1,h2,h3,h4,p1,p2', description: 'Active mode: the server connects to the client' },
  EPRT: { handler: eprt, syntax: 'EPRT |af|address|port|', description: 'Extended active mode' },
};
