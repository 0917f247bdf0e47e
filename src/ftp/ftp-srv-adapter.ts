// ftp-srv 4.6.3 is unmaintained; we keep it and own our fixes. This module is the only place
// that reaches into its internals (all CommonJS): its src/ modules, its server object, the
// connection's parser, input handler, control socket and data connector. It checks at start that
// the installed ftp-srv is the version these patches were written against, and patches it once per
// process:
// - the command registry gets our handlers (src/ftp/commands/);
// - the parser keeps the argument verbatim (4.6.3 strips every `"` and eats `-x` as a flag);
// - input is line-buffered and run strictly in order (4.6.3 parses each TCP packet on its own,
//   so a command split across packets became two commands), with ABOR let through at once;
// - a line longer than MAX_LINE closes the connection instead of growing a buffer: one 500,
//   after the replies to the commands before it, and nothing the client sent after it is run;
// - backpressure (backpressure.ts): the socket is not read while MAX_QUEUED_COMMANDS commands
//   wait or replies back up, so a client that never reads its replies cannot grow our memory;
// - the connection's address is the one a PROXY protocol header named (setClientAddress).
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { ErrorCodes, mogError } from '../errors.ts';
import { congested, MAX_HELD_INPUT, REPLY_PAUSE_BYTES } from './backpressure.ts';
import type { CommandSpec, Connector, FtpConn, Handler } from './connection.ts';
import type { FtpSettings } from './settings.ts';

const require = createRequire(import.meta.url);

/** The one ftp-srv release whose internals this module patches. */
export const FTP_SRV_VERSION = '4.6.3';

/* eslint-disable @typescript-eslint/no-explicit-any -- ftp-srv is untyped CommonJS: its objects are `any` inside this module, typed (FtpConn, FtpSrvServer) where they leave it */
type RegistryEntry = { directive: string | string[]; handler: Handler; flags?: Record<string, unknown>; syntax?: string; description?: string };
interface FtpSrvModules {
  FtpSrv: new (options: Record<string, unknown>) => any;
  registry: Record<string, RegistryEntry>;
}
/** A connection as ftp-srv builds it: what FtpConn shows, writable, and its private parts and our input state on it. */
type Internal = { -readonly [K in keyof FtpConn]: FtpConn[K] } & Record<string, any>;
/** A socket listeners.ts accepted, marked with the address a PROXY header named (setClientAddress). */
type MarkedSocket = Socket & { mogClientIp?: string };

/** The version in the installed ftp-srv's package.json. */
export function installedFtpSrvVersion(): string {
  return (require('ftp-srv/package.json') as { version: string }).version;
}

/** Throws, saying what to do, unless `found` is the ftp-srv version this module was written for. */
export function checkFtpSrvVersion(found: string): void {
  if (found === FTP_SRV_VERSION) return;
  throw mogError(
    ErrorCodes.BAD_CONFIG,
    `ftp-srv ${found} is installed, but mogftp patches the internals of ftp-srv ${FTP_SRV_VERSION} and runs on no other version: install ftp-srv@${FTP_SRV_VERSION} (npm ci)`,
  );
}

let loaded: FtpSrvModules | null = null;

/** ftp-srv's modules, patched; the version is checked before any of them is loaded. */
function ftpSrv(): FtpSrvModules {
  if (loaded) return loaded;
  checkFtpSrvVersion(installedFtpSrvVersion());
  const FtpConnection: { prototype: any } = require('ftp-srv/src/connection.js');
  const FtpCommands: { prototype: any } = require('ftp-srv/src/commands/index.js');
  patchParser(FtpCommands.prototype);
  patchConnection(FtpConnection.prototype);
  loaded = { FtpSrv: require('ftp-srv/src/index.js'), registry: require('ftp-srv/src/commands/registry.js') };
  return loaded;
}

/** An ftp-srv server as the rest of the door uses it: its events, its per-connection setup, our settings. */
export interface FtpSrvServer {
  on(event: string, listener: (...args: any[]) => unknown): unknown;
  /** ftp-srv's per-connection setup (greeting, Connection object), for sockets we accept ourselves. */
  accept(socket: Socket): void;
  /** Makes `settings` what settingsOf finds for this server's connections. */
  useSettings(settings: FtpSettings): void;
}

/** Per ftp-srv server object (a connection's `server`): ftp-srv's command registry is shared by all. */
const settingsByServer = new WeakMap<object, FtpSettings>();

/**
 * A new ftp-srv server with our commands: `fileHandlers` replace ftp-srv's own handlers and keep
 * its HELP text, `commands` are registered whole. ftp-srv's listener is never started (the caller
 * accepts sockets itself), and the SIGTERM/SIGINT/SIGQUIT handlers it installs, which call
 * process.exit, are removed: mogftp owns shutdown.
 */
export function createFtpSrv(options: Record<string, unknown>, fileHandlers: Record<string, Handler>, commands: Record<string, CommandSpec>): FtpSrvServer {
  const { FtpSrv, registry } = ftpSrv();
  for (const [directive, handler] of Object.entries(fileHandlers)) registry[directive] = { ...(registry[directive] ?? {}), directive, handler };
  registerCommands(registry, commands);
  const before = signalListeners();
  const server = new FtpSrv(options);
  removeNewSignalListeners(before);
  const connectionHandler = server.server.listeners('connection')[0];
  if (typeof connectionHandler !== 'function') throw new Error('ftp-srv connection handler not found');
  return {
    on: (event, listener) => server.on(event, listener),
    accept: (socket) => connectionHandler(socket),
    useSettings: (settings) => settingsByServer.set(server, settings),
  };
}

/** The settings of the server a connection belongs to. */
export function settingsOf(conn: FtpConn): FtpSettings {
  const s = settingsByServer.get((conn as Internal).server);
  if (!s) throw new Error('mogftp settings missing on the ftp-srv server');
  return s;
}

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;

function signalListeners(): Map<string, Function[]> {
  return new Map(SIGNALS.map((s) => [s, process.listeners(s)]));
}

function removeNewSignalListeners(before: Map<string, Function[]>): void {
  for (const s of SIGNALS) {
    for (const l of process.listeners(s)) {
      if (!before.get(s)!.includes(l)) process.removeListener(s, l as (...args: unknown[]) => void);
    }
  }
}

const MAX_LINE = 8192;
const IMMEDIATE = new Set(['ABOR']);

function patchParser(commands: any): void {
  commands.parse = function parse(message: string) {
    const space = message.indexOf(' ');
    const directive = (space < 0 ? message : message.slice(0, space)).trim().toUpperCase();
    const rest = space < 0 ? '' : message.slice(space + 1);
    return { directive, arg: rest === '' ? null : rest, flags: [], raw: message };
  };
}

function patchConnection(connection: any): void {
  connection._handleData = function handleData(this: Internal, data: Buffer) {
    // Past an over-long line the session is over: the rest of that line, and whatever follows
    // it, would otherwise be read as commands (and refused again) until the socket is gone.
    if (this._mogTooLong) return;
    this._mogPending = this._mogPending ? Buffer.concat([this._mogPending, data]) : data;
    this._mogQueue ??= Promise.resolve();
    if (this._mogPending.length > MAX_HELD_INPUT) return refuseFlood(this);
    pumpInput(this);
  };
  // The client's address: what a PROXY protocol header said (setClientAddress), else the peer
  // address. Cached, since AUTH TLS replaces the socket.
  Object.defineProperty(connection, 'ip', {
    configurable: true,
    get(this: Internal) {
      const socket = this.commandSocket as MarkedSocket | undefined;
      this._mogIp ??= socket?.mogClientIp ?? socket?.remoteAddress;
      return this._mogIp;
    },
  });
}

/**
 * Runs the complete lines received so far, in order, while the connection is not congested
 * (backpressure.ts); then reads on, or stops reading the socket until the queue and the reply
 * backlog go down again (a command finishing, or the socket draining, calls this again).
 */
function pumpInput(conn: Internal): void {
  const socket: Socket = conn.commandSocket;
  if (!socket || socket.destroyed || conn._mogTooLong) return;
  for (;;) {
    // After AUTH, nothing more is parsed until it is answered: the bytes that follow may be a
    // TLS ClientHello, which AUTH hands to TLS (switchControlSocket). The AUTH handler pauses the socket.
    if (conn._mogHold) return;
    if (congested(conn, socket)) {
      socket.pause();
      if (socket.writableLength > REPLY_PAUSE_BYTES && !conn._mogAwaitDrain) {
        // Only ABOR replies outside the queue; the rest wait in their commands, whose ends pump.
        conn._mogAwaitDrain = true;
        socket.once('drain', () => {
          conn._mogAwaitDrain = false;
          pumpInput(conn);
        });
      }
      return;
    }
    const pending: Buffer | null = conn._mogPending;
    const nl = pending ? pending.indexOf(0x0a) : -1;
    if (!pending || nl < 0) {
      if (pending && pending.length > MAX_LINE) return refuseLongLine(conn);
      socket.resume();
      return;
    }
    if (nl > MAX_LINE) return refuseLongLine(conn);
    const line = stripTelnet(pending.subarray(0, nl)).toString(conn.encoding).replace(/\r$/, '');
    conn._mogPending = nl + 1 < pending.length ? pending.subarray(nl + 1) : null;
    if (line.trim() === '') continue;
    const directive = line.split(' ', 1)[0]!.toUpperCase();
    if (IMMEDIATE.has(directive)) {
      conn.commands.handle(line);
      continue;
    }
    conn.mogInFlight = (conn.mogInFlight ?? 0) + 1;
    conn._mogQueue = conn._mogQueue
      .then(
        () => conn.commands.handle(line),
        () => conn.commands.handle(line),
      )
      .catch((err: unknown) => conn.log.error({ err }, 'command handler failed'))
      .finally(() => {
        conn.mogInFlight = (conn.mogInFlight ?? 1) - 1;
        conn.mogLastActive = Date.now();
        pumpInput(conn);
      });
    if (directive === 'AUTH') {
      conn._mogHold = true;
      conn._mogQueue = conn._mogQueue.finally(() => {
        conn._mogHold = false;
        pumpInput(conn);
      });
      return;
    }
  }
}

/**
 * Ends a session whose unparsed input outgrew MAX_HELD_INPUT (the socket is paused long before
 * that, so only a client that ignores it gets here): logged, and closed without a reply, since
 * replies are what it is not reading.
 */
function refuseFlood(conn: Internal): void {
  conn._mogTooLong = true;
  conn._mogPending = null;
  conn.log.info({ ip: conn.ip }, 'client dropped: it sent more input than the server takes before replying');
  conn.commandSocket.destroy();
}

/**
 * Ends the session over a line longer than MAX_LINE, whether it arrived whole or the limit was
 * crossed before its end: input is dropped from here on, and the one 500 and the close are
 * queued behind the commands already received, so their replies come first and in order.
 */
function refuseLongLine(conn: Internal): void {
  conn._mogTooLong = true;
  conn._mogPending = null;
  conn._mogQueue = conn._mogQueue
    .then(
      () => conn.close(500, 'Command line too long'),
      () => conn.close(500, 'Command line too long'),
    )
    .catch((err: unknown) => conn.log.error({ err }, 'closing after an over-long line failed'));
}

/** Adds or replaces commands with full registry entries (HELP shows syntax and description). */
function registerCommands(registry: Record<string, RegistryEntry>, specs: Record<string, CommandSpec>): void {
  for (const [directive, spec] of Object.entries(specs)) {
    const existing = registry[directive];
    registry[directive] = {
      ...(existing ?? {}),
      directive,
      handler: spec.handler,
      syntax: spec.syntax,
      description: spec.description,
      flags: { ...(existing?.flags ?? {}), no_auth: !!spec.noAuth, feat: undefined },
    };
  }
}

/** Every registered command with its syntax, for HELP. */
export function registeredCommands(): Array<{ directive: string; syntax: string; description: string }> {
  const { registry } = ftpSrv();
  return Object.keys(registry)
    .sort()
    .map((d) => ({ directive: d, syntax: (registry[d]!.syntax ?? '{{cmd}}').replace('{{cmd}}', d), description: registry[d]!.description ?? '' }));
}

/**
 * AUTH TLS, once its 234 is written: the plain-text parser lets go of the raw socket first
 * (TLSSocket drains bytes buffered on it with read(), which would also emit them as 'data' to
 * that parser), the input held back after AUTH goes back onto it for the TLS layer to read, and
 * the control connection goes on over the socket `wrap` makes of it, which feeds the parser.
 */
export function switchControlSocket(conn: FtpConn, wrap: (raw: Socket) => Socket): Socket {
  const c = conn as Internal;
  const raw: Socket = c.commandSocket;
  raw.removeAllListeners('data');
  const held: Buffer | null = c._mogPending ?? null;
  c._mogPending = null;
  if (held && held.length) raw.unshift(held);
  const secure = wrap(raw);
  c.commandSocket = secure;
  secure.on('data', (data: Buffer) => c._handleData(data));
  return secure;
}

/** Installs `next` as the connection's data connector (ftp-srv ends it when the connection closes). */
export function setConnector(conn: FtpConn, next: Connector): void {
  (conn as Internal).connector = next;
}

/** Marks an accepted socket with the client address a PROXY header named: the connection's `ip`. */
export function setClientAddress(socket: Socket, address: string): void {
  (socket as MarkedSocket).mogClientIp = address;
}

/** Drops Telnet IAC sequences (clients send IP/Synch before an urgent ABOR). */
function stripTelnet(line: Buffer): Buffer {
  if (!line.includes(0xff)) return line;
  const out: number[] = [];
  for (let i = 0; i < line.length; i++) {
    if (line[i] === 0xff && i + 1 < line.length && line[i + 1]! >= 0xf0) i++;
    else out.push(line[i]!);
  }
  return Buffer.from(out);
}
