// The control listeners and the server's life cycle. We accept connections ourselves (ftp-srv's
// own listener is never started) so that, before ftp-srv sees a socket, we can read a PROXY
// header, refuse banned or surplus clients with a clear 421, and start implicit TLS; and so that
// mogftp owns shutdown: stop accepting, let running transfers finish for a grace time, then
// abort the rest (aborted uploads commit nothing) and close every connection with 421.
import { channel } from 'node:diagnostics_channel';
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, mogError } from '../errors.ts';
import type { Tracker } from '../tracker/tracker.ts';
import { inList, parseCidrList } from '../addresses.ts';
import { parsePasvRules } from './address.ts';
import { watchReplies } from './backpressure.ts';
import type { FtpConn } from './connection.ts';
import type { TransferRecord } from './events.ts';
import { setClientAddress, type FtpSrvServer } from './ftp-srv-adapter.ts';
import { ConnectionLimits, LoginThrottle, isBusy, watchIdle } from './limits.ts';
import { readProxyHeader } from './proxy-protocol.ts';
import { DEFAULTS, defaultPassivePerAddress, type FtpSettings, type ProtocolOptions, stateOf } from './settings.ts';
import { loadTlsContext, serverTls } from './tls.ts';

/** Published for every control connection ftp-srv takes on: `{ conn, socket }` (the TCP socket). */
export const controlSocketChannel = channel('mogftp:ftp:control-socket');

type Log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface ServeOptions extends ProtocolOptions {
  tracker: Tracker;
  host: string;
  port: number;
  pasvAddress?: string;
  pasvPorts?: [number, number];
  onTransfer?: (t: TransferRecord) => void;
}

export interface Listening {
  port: number;
  ftpsPort: number | null;
  close(opts?: { graceMs?: number }): Promise<void>;
}

/** Marks on an accepted socket, read by the connect hook. */
interface Marked {
  mogRaw?: Socket;
  mogImplicit?: boolean;
}

export function buildSettings(opts: ServeOptions): FtpSettings {
  if (!!opts.tlsCert !== !!opts.tlsKey) throw mogError(ErrorCodes.INVALID_ARGUMENT, 'Give both --tls-cert and --tls-key, or neither');
  const tls = opts.tlsCert && opts.tlsKey ? { context: loadTlsContext(opts.tlsCert, opts.tlsKey) } : null;
  if (!tls && (opts.requireTls || opts.ftpsPort !== undefined))
    throw mogError(ErrorCodes.INVALID_ARGUMENT, 'FTPS options need a TLS certificate and key (--tls-cert, --tls-key)');
  let pasvRules;
  try {
    pasvRules = parsePasvRules(opts.pasvAddress);
  } catch (err) {
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `--pasv-address: ${(err as Error).message}`);
  }
  if (opts.proxyProtocolFrom !== undefined && !opts.proxyProtocol)
    throw mogError(ErrorCodes.INVALID_ARGUMENT, '--proxy-protocol-from needs --proxy-protocol');
  let proxyFrom;
  try {
    proxyFrom = parseCidrList(opts.proxyProtocolFrom ?? DEFAULTS.proxyProtocolFrom);
  } catch (err) {
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `--proxy-protocol-from: ${(err as Error).message}`);
  }
  const pasvPorts = opts.pasvPorts ?? [0, 0];
  return {
    host: opts.host,
    tracker: opts.tracker,
    tls,
    requireTls: !!opts.requireTls,
    requireTlsSessionReuse: !!opts.requireTlsSessionReuse,
    allowForeignDataAddress: !!opts.allowForeignDataAddress,
    pasvRules,
    pasvPorts,
    idleTimeoutMs: opts.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
    dataTimeoutMs: opts.dataTimeoutMs ?? DEFAULTS.dataTimeoutMs,
    throttle: new LoginThrottle(opts.loginThrottle ?? DEFAULTS.loginThrottle),
    proxyProtocol: !!opts.proxyProtocol,
    proxyFrom,
    passiveHeld: new Map(),
    maxPassivePerAddress: opts.maxPassivePerAddress ?? defaultPassivePerAddress(pasvPorts),
    replyStallTimeoutMs: opts.replyStallTimeoutMs ?? DEFAULTS.replyStallTimeoutMs,
    closing: false,
    onTransfer: opts.onTransfer,
  };
}

/** Starts the plain (and, if configured, implicit FTPS) listeners for an ftp-srv server. */
export async function serveFtp(ftpSrv: FtpSrvServer, opts: ServeOptions, log: Log): Promise<Listening> {
  const settings = buildSettings(opts);
  ftpSrv.useSettings(settings);
  const limits = new ConnectionLimits({
    maxConnections: opts.maxConnections ?? 0,
    maxConnectionsPerAddress: opts.maxConnectionsPerAddress ?? DEFAULTS.maxConnectionsPerAddress,
  });
  if (settings.proxyProtocol)
    log('info', 'PROXY protocol headers are believed only from listed peers; connections from any other peer are refused', {
      from: opts.proxyProtocolFrom ?? `${DEFAULTS.proxyProtocolFrom} (the default: give --proxy-protocol-from for a proxy on another host)`,
    });
  const open = trackConnections(ftpSrv, settings, log);
  const accept = acceptor(ftpSrv, settings, limits, log);

  const servers: Server[] = [];
  const listen = async (port: number, implicit: boolean) => {
    const server = createServer({ pauseOnConnect: true, noDelay: true }, (socket) => void accept(socket, implicit));
    server.on('error', (err) => log('error', 'FTP listener error', { error: err.message }));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    servers.push(server);
    return (server.address() as { port: number }).port;
  };

  try {
    const port = await listen(opts.port, false);
    const ftpsPort = opts.ftpsPort !== undefined && settings.tls ? await listen(opts.ftpsPort, true) : null;
    const close = (o: { graceMs?: number } = {}) => shutdown(settings, servers, open, o.graceMs ?? opts.shutdownGraceMs ?? DEFAULTS.shutdownGraceMs, log);
    return { port, ftpsPort, close };
  } catch (err) {
    for (const s of servers) s.close();
    throw err;
  }
}

/**
 * Sets up every control connection ftp-srv takes on (TLS state of implicit FTPS, idle and
 * unread-reply watches, the control-socket channel); returns the set of those still open.
 */
function trackConnections(ftpSrv: FtpSrvServer, settings: FtpSettings, log: Log): Set<FtpConn> {
  const open = new Set<FtpConn>();
  ftpSrv.on('connect', ({ connection }: { connection: FtpConn }) => {
    const socket = connection.commandSocket as Socket & Marked;
    const state = stateOf(connection);
    state.raw = socket.mogRaw ?? socket;
    if (socket.mogImplicit) {
      state.tls = true;
      state.pbsz = true;
      state.prot = 'P';
      connection.secure = true;
    }
    watchIdle(connection, settings.idleTimeoutMs);
    watchReplies(connection, state.raw, settings.replyStallTimeoutMs, (msg, fields) => log('warn', msg, fields));
    open.add(connection);
    controlSocketChannel.publish({ conn: connection, socket: state.raw });
    state.raw.once('close', () => open.delete(connection));
  });
  return open;
}

/**
 * What happens to an accepted TCP socket before ftp-srv sees it: the PROXY header (only from
 * allowed peers), implicit TLS, and refusal of banned or surplus clients with a 421.
 */
function acceptor(ftpSrv: FtpSrvServer, settings: FtpSettings, limits: ConnectionLimits, log: Log) {
  const refuse = (socket: Socket & Marked, text: string) => {
    // Over implicit TLS the 421 can only go out once the handshake is done.
    if (socket.mogImplicit) socket.once('secure', () => socket.end(`421 ${text}\r\n`));
    else socket.end(`421 ${text}\r\n`);
    setTimeout(() => socket.destroy(), 5000).unref();
  };

  return async (raw: Socket, implicit: boolean) => {
    raw.on('error', () => {});
    if (settings.closing) return raw.destroy();
    raw.setNoDelay(true);
    let client = raw.remoteAddress ?? '';
    if (settings.proxyProtocol) {
      // A header from anyone else would let a client pick its own address: past per-address
      // limits and bans, and PORT/EPRT to a third party "of its own".
      if (!inList(settings.proxyFrom, client)) {
        log('warn', 'connection refused: not from a peer allowed to send PROXY headers (--proxy-protocol-from)', { peer: client });
        return raw.destroy();
      }
      try {
        const proxied = await readProxyHeader(raw, DEFAULTS.proxyHeaderTimeoutMs);
        if (proxied) client = proxied.sourceAddress;
      } catch (err) {
        log('warn', 'connection without a valid PROXY header refused', { peer: raw.remoteAddress, error: (err as Error).message });
        return raw.destroy();
      }
    }
    const socket: Socket & Marked = implicit && settings.tls ? serverTls(raw, settings.tls.context) : raw;
    setClientAddress(socket, client);
    socket.mogRaw = raw;
    socket.mogImplicit = implicit;
    if (settings.throttle.bannedFor(client) > 0) {
      log('info', 'connection refused: too many failed logins', { ip: client });
      return refuse(socket, 'Too many failed logins from your address; try again later');
    }
    const why = limits.admit(client);
    if (why) {
      log('info', 'connection refused', { ip: client, reason: why });
      return refuse(socket, why);
    }
    raw.once('close', () => limits.release(client));
    ftpSrv.accept(socket);
  };
}

/**
 * Stops accepting, closes idle connections at once and the others as their transfers end, for
 * up to `graceMs`; then aborts what still runs and closes the rest.
 */
async function shutdown(settings: FtpSettings, servers: Server[], open: Set<FtpConn>, graceMs: number, log: Log): Promise<void> {
  if (settings.closing) return;
  settings.closing = true;
  const stopped = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
  const closeConn = (c: FtpConn) => {
    open.delete(c);
    void Promise.resolve(c.close(421, 'Server shutting down; please reconnect later')).catch(() => c.commandSocket.destroy());
  };
  const deadline = Date.now() + graceMs;
  for (;;) {
    for (const c of [...open]) if (!isBusy(c)) closeConn(c);
    if (open.size === 0 || Date.now() >= deadline) break;
    await sleep(50);
  }
  if (open.size) {
    log('warn', 'shutdown grace time over: aborting running transfers', { connections: open.size });
    for (const c of open) c.mogTransfer?.abort(mogError(ErrorCodes.TRANSFER_ABORTED, 'Server shutting down: transfer aborted, nothing was stored'));
    const abortDeadline = Date.now() + 2000;
    while ([...open].some(isBusy) && Date.now() < abortDeadline) await sleep(50);
    for (const c of [...open]) closeConn(c);
  }
  await Promise.all(stopped);
}
