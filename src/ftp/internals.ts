// ftp-srv 4.6.3 is unmaintained; we keep it and own our fixes. This module is the only place
// that reaches into its internals (all CommonJS), and it patches them once per process:
// - the command registry gets our handlers (src/ftp/commands.ts);
// - the parser keeps the argument verbatim (4.6.3 strips every `"` and eats `-x` as a flag);
// - input is line-buffered and run strictly in order (4.6.3 parses each TCP packet on its own,
//   so a command split across packets became two commands), with ABOR let through at once;
// - a line longer than MAX_LINE closes the connection instead of growing a buffer: one 500,
//   after the replies to the commands before it, and nothing the client sent after it is run;
// - backpressure (backpressure.ts): the socket is not read while MAX_QUEUED_COMMANDS commands
//   wait or replies back up, so a client that never reads its replies cannot grow our memory.
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { congested, MAX_HELD_INPUT, REPLY_PAUSE_BYTES } from './backpressure.ts';
import type { CommandSpec, FtpConn, Handler } from './connection.ts';

const require = createRequire(import.meta.url);

/* eslint-disable @typescript-eslint/no-explicit-any */
export const FtpSrv: new (options: Record<string, unknown>) => any = require('ftp-srv/src/index.js');
const FtpConnection: { prototype: any } = require('ftp-srv/src/connection.js');
const FtpCommands: { prototype: any } = require('ftp-srv/src/commands/index.js');
const registry: Record<string, { directive: string | string[]; handler: Handler; flags?: Record<string, unknown>; syntax?: string; description?: string }> =
  require('ftp-srv/src/commands/registry.js');

export const MAX_LINE = 8192;
const IMMEDIATE = new Set(['ABOR']);

let patched = false;

export function patchFtpSrv(handlers: Record<string, Handler>): void {
  if (patched) return;
  patched = true;
  for (const [directive, handler] of Object.entries(handlers)) {
    const existing = registry[directive];
    registry[directive] = { ...(existing ?? {}), directive, handler };
  }

  FtpCommands.prototype.parse = function parse(message: string) {
    const space = message.indexOf(' ');
    const directive = (space < 0 ? message : message.slice(0, space)).trim().toUpperCase();
    const rest = space < 0 ? '' : message.slice(space + 1);
    return { directive, arg: rest === '' ? null : rest, flags: [], raw: message };
  };

  FtpConnection.prototype._handleData = function handleData(this: FtpConn & Record<string, any>, data: Buffer) {
    // Past an over-long line the session is over: the rest of that line, and whatever follows
    // it, would otherwise be read as commands (and refused again) until the socket is gone.
    if (this._mogTooLong) return;
    this._mogPending = this._mogPending ? Buffer.concat([this._mogPending, data]) : data;
    this._mogQueue ??= Promise.resolve();
    if (this._mogPending.length > MAX_HELD_INPUT) return refuseFlood(this);
    pumpInput(this);
  };
}

/**
 * Runs the complete lines received so far, in order, while the connection is not congested
 * (backpressure.ts); then reads on, or stops reading the socket until the queue and the reply
 * backlog go down again (a command finishing, or the socket draining, calls this again).
 */
function pumpInput(conn: FtpConn & Record<string, any>): void {
  const socket: Socket = conn.commandSocket;
  if (!socket || socket.destroyed || conn._mogTooLong) return;
  for (;;) {
    // After AUTH, nothing more is parsed until it is answered: the bytes that follow may be a
    // TLS ClientHello, which tls.ts takes over (takeHeldInput). The AUTH handler pauses the socket.
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
function refuseFlood(conn: FtpConn & Record<string, any>): void {
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
function refuseLongLine(conn: FtpConn & Record<string, any>): void {
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
export function registerCommands(specs: Record<string, CommandSpec>): void {
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
  return Object.keys(registry)
    .sort()
    .map((d) => ({ directive: d, syntax: (registry[d]!.syntax ?? '{{cmd}}').replace('{{cmd}}', d), description: registry[d]!.description ?? '' }));
}

/** The unparsed bytes held back after AUTH (tls.ts hands them to TLS); clears them. */
export function takeHeldInput(conn: FtpConn): Buffer | null {
  const c = conn as FtpConn & Record<string, any>;
  const held: Buffer | null = c._mogPending ?? null;
  c._mogPending = null;
  return held;
}

/** Moves the control connection onto `socket` (AUTH TLS): its data feeds the command parser. */
export function attachControlSocket(conn: FtpConn, socket: Socket): void {
  const c = conn as FtpConn & Record<string, any>;
  c.commandSocket = socket;
  socket.on('data', (data: Buffer) => c._handleData(data));
}

/** ftp-srv's per-connection setup (greeting, Connection object), for sockets we accept ourselves. */
export function connectionHandlerOf(server: any): (socket: Socket) => void {
  const handler = server.server.listeners('connection')[0];
  if (typeof handler !== 'function') throw new Error('ftp-srv connection handler not found');
  return handler;
}

/**
 * The client's address: what a PROXY protocol header said (listeners.ts marks the socket), else
 * the peer address. Cached, since AUTH TLS replaces the socket.
 */
Object.defineProperty(FtpConnection.prototype, 'ip', {
  configurable: true,
  get(this: Record<string, any>) {
    this._mogIp ??= this.commandSocket?.mogClientIp ?? this.commandSocket?.remoteAddress;
    return this._mogIp;
  },
});

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
