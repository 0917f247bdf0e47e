// FTPS (RFC 4217). One SecureContext per server serves the control connection and every data
// connection: OpenSSL keeps its session cache and ticket keys in that context, so a client
// offering its control session on a data connection resumes it (FileZilla insists on that);
// two contexts built from the same files would never resume.
// Every TLS socket here is a server-side TLSSocket over an accepted TCP socket, created with no
// handshake wait: replies (234, 150) are never held back for a handshake the client only
// starts after reading them (lftp starts the data handshake after 150).
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { TLSSocket, createSecureContext, type SecureContext } from 'node:tls';
import { ErrorCodes, mogError } from '../errors.ts';
import type { CommandSpec, FtpConn, Handler } from './connection.ts';
import { settingsOf, switchControlSocket } from './ftp-srv-adapter.ts';
import { stateOf } from './settings.ts';

export function loadTlsContext(certFile: string, keyFile: string): SecureContext {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(certFile);
    key = readFileSync(keyFile);
  } catch (err) {
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `Cannot read the TLS certificate or key: ${(err as Error).message}`);
  }
  try {
    return createSecureContext({ cert, key, minVersion: 'TLSv1.2' });
  } catch (err) {
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `The TLS certificate or key is not usable: ${(err as Error).message}`);
  }
}

/** Server side of TLS over an accepted socket; the handshake runs whenever the client starts it. */
export function serverTls(raw: Socket, context: SecureContext): TLSSocket {
  const secure = new TLSSocket(raw, { isServer: true, secureContext: context, requestCert: false, rejectUnauthorized: false });
  // A failed handshake must not crash the process; whoever reads the socket sees the error too.
  secure.on('error', () => {});
  secure.once('close', () => raw.destroy());
  return secure;
}

/** Wraps a data socket when PROT P is in force; with require-reuse, refuses fresh sessions. */
export function protectDataSocket(conn: FtpConn, raw: Socket): Socket {
  const settings = settingsOf(conn);
  const state = stateOf(conn);
  if (state.prot !== 'P' || !settings.tls) return raw;
  const secure = serverTls(raw, settings.tls.context);
  holdUntilHandshake(secure, settings.requireTlsSessionReuse);
  return secure;
}

/**
 * The 150 must never wait for the data handshake (clients start it after reading the 150), so
 * the socket is handed over at once, and what must not happen before the handshake is held here:
 * - end(): ending a TLS socket mid-handshake cuts it (an empty listing is done before the client
 *   even starts; lftp then fails with "TLS connection was non-properly terminated");
 * - with require-reuse, every write: nothing may reach a client whose session turns out fresh
 *   (write() answers "wait for drain" meanwhile).
 */
function holdUntilHandshake(secure: TLSSocket, requireReuse: boolean): void {
  const held: Array<Parameters<TLSSocket['write']>> = [];
  let heldEnd: Parameters<TLSSocket['end']> | null = null;
  const gate = secure as unknown as Record<'write' | 'end', unknown>;
  if (requireReuse)
    gate.write = (...args: Parameters<TLSSocket['write']>) => {
      held.push(args);
      return false;
    };
  gate.end = (...args: Parameters<TLSSocket['end']>) => {
    heldEnd = args;
    return secure;
  };
  const fail = (err: Error) => {
    // Whoever waits on a held write or end hears why.
    for (const args of [...held.splice(0), heldEnd ?? []]) {
      const cb = (args as unknown[]).find((a) => typeof a === 'function') as ((e: Error) => void) | undefined;
      if (cb) process.nextTick(cb, err);
    }
    heldEnd = null;
  };
  const onEarlyClose = () => fail(mogError(ErrorCodes.TRANSFER_ABORTED, 'The data connection closed before its TLS handshake completed'));
  secure.once('close', onEarlyClose);
  secure.once('secure', () => {
    secure.off('close', onEarlyClose);
    delete gate.write;
    delete gate.end;
    if (requireReuse && !secure.isSessionReused()) {
      const err = mogError(ErrorCodes.TRANSFER_ABORTED, 'TLS session reuse is required on data connections: resume the control connection\'s session');
      secure.destroy(err);
      fail(err);
      return;
    }
    for (const args of held.splice(0)) secure.write(...args);
    if (heldEnd) secure.end(...heldEnd);
    else if (requireReuse) secure.emit('drain');
  });
  // Nothing may wait on our writes to drive the handshake: start reading (data stays buffered).
  secure.read(0);
}

const auth: Handler = async function (this: FtpConn, { command }) {
  const settings = settingsOf(this);
  const state = stateOf(this);
  const method = (command.arg ?? '').trim().toUpperCase();
  if (!settings.tls) return this.reply(502, 'TLS is not configured on this server');
  if (!['TLS', 'TLS-C', 'SSL', 'TLS-P'].includes(method)) return this.reply(504, 'Only AUTH TLS is supported');
  if (state.tls) return this.reply(503, 'TLS is already active on this connection');
  const raw = this.commandSocket;
  const context = settings.tls.context;
  // The parser holds back whatever follows the AUTH line (ftp-srv-adapter.ts) and the socket
  // stays paused, so the client's ClientHello is never read as a command; it is handed to TLS
  // below, inside the 234's write callback, before any further read.
  raw.pause();
  await new Promise<void>((resolve) => {
    raw.write('234 AUTH TLS successful; start the TLS handshake\r\n', (err) => {
      if (err) {
        raw.destroy();
        return resolve();
      }
      switchControlSocket(this, (plain) => {
        const secure = serverTls(plain, context);
        secure.on('error', (e) => this.log.debug({ err: e }, 'TLS control connection error'));
        return secure;
      });
      state.tls = true;
      this.secure = true;
      // Data stays clear until PROT P, whichever AUTH was used: curl sends AUTH SSL and then
      // expects RFC 4217 behaviour (an old draft had AUTH SSL imply PROT P).
      resolve();
    });
  });
};

const pbsz: Handler = function (this: FtpConn, { command }) {
  const state = stateOf(this);
  if (!state.tls) return this.reply(503, 'PBSZ needs a TLS control connection: send AUTH TLS first');
  if (!/^\d+$/.test((command.arg ?? '').trim())) return this.reply(501, 'Syntax: PBSZ 0');
  state.pbsz = true;
  return this.reply(200, 'PBSZ=0');
};

const prot: Handler = function (this: FtpConn, { command }) {
  const state = stateOf(this);
  const level = (command.arg ?? '').trim().toUpperCase();
  if (!state.tls) return this.reply(503, 'PROT needs a TLS control connection: send AUTH TLS first');
  if (!state.pbsz) return this.reply(503, 'Send PBSZ 0 before PROT');
  if (level === 'P') {
    state.prot = 'P';
    return this.reply(200, 'Data connections will be protected (TLS)');
  }
  if (level === 'C') {
    if (settingsOf(this).requireTls) return this.reply(536, 'This server requires protected data connections: use PROT P');
    state.prot = 'C';
    return this.reply(200, 'Data connections will be in clear text');
  }
  if (level === 'S' || level === 'E') return this.reply(536, `PROT ${level} is not supported; use PROT P or C`);
  return this.reply(504, 'Syntax: PROT P or PROT C');
};

export const tlsCommands: Record<string, CommandSpec> = {
  AUTH: { handler: auth, noAuth: true, syntax: 'AUTH TLS', description: 'Switch the control connection to TLS' },
  PBSZ: { handler: pbsz, noAuth: true, syntax: 'PBSZ 0', description: 'Protection buffer size (always 0 with TLS)' },
  PROT: { handler: prot, noAuth: true, syntax: 'PROT P|C', description: 'Data connection protection: P = TLS, C = clear' },
};
