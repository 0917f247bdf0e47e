// The FTP front-end: ftp-srv for the protocol, one Volume per login for everything else.
// Front-ends keep no state of their own beyond open connections: any number can serve one cluster.
import type { Socket } from 'node:net';
import { describeError } from '../errors.ts';
import type { StorageClient } from '../storage/client.ts';
import { LoginDenied } from '../tracker/login-throttle.ts';
import type { Tracker } from '../tracker/tracker.ts';
import type { VolumeStore } from '../vfs/deps.ts';
import { Volume } from '../vfs/volume.ts';
import { fileHandlers, protocolCommands } from './commands/index.ts';
import type { FtpConn } from './connection.ts';
import type { SessionEvent, TransferRecord } from './events.ts';
import { createFtpSrv, settingsOf } from './ftp-srv-adapter.ts';
import { serveFtp } from './listeners.ts';
import type { ProtocolOptions } from './settings.ts';

export interface FtpServerOptions extends ProtocolOptions {
  store: VolumeStore;
  tracker: Tracker;
  client: StorageClient;
  host: string;
  port: number;
  /**
   * Address announced in PASV replies: `ADDR`, or per client network `CIDR=ADDR,...,ADDR`
   * (address.ts). Loopback clients get loopback; unset = the address the client connected to.
   */
  pasvAddress?: string;
  /** Passive port range; [0, 0] lets the OS pick (tests). */
  pasvPorts?: [number, number];
  greeting?: string;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /** Control connections opening and closing, logins (metrics). */
  onSession?: (e: SessionEvent) => void;
  /** One call per finished STOR/APPE/STOU/RETR (the transfer log, metrics); commands/transfers.ts reports. */
  onTransfer?: (t: TransferRecord) => void;
}

export interface RunningFtpServer {
  port: number;
  /** Implicit FTPS port, when configured. */
  ftpsPort: number | null;
  host: string;
  /** Stops accepting, lets transfers run up to `graceMs` (default shutdownGraceMs), aborts the rest. */
  close(opts?: { graceMs?: number }): Promise<void>;
}

export async function startFtpServer(opts: FtpServerOptions): Promise<RunningFtpServer> {
  const log = opts.log ?? (() => {});
  const [pasvMin, pasvMax] = opts.pasvPorts ?? [0, 0];
  const server = createFtpSrv(
    {
      url: `ftp://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`,
      // Unused by our PASV/EPSV handlers (passive.ts, address.ts); kept for ftp-srv's own checks.
      pasv_url: opts.pasvAddress ?? opts.host,
      pasv_min: pasvMin,
      pasv_max: pasvMax,
      anonymous: false,
      greeting: opts.greeting ?? 'mogftp ready',
      log: bunyanShim(log),
    },
    fileHandlers,
    protocolCommands,
  );

  server.on('connect', ({ connection }: { connection: FtpConn }) => {
    (connection.commandSocket as Socket).setNoDelay(true);
    opts.onSession?.({ type: 'open', session: connection.id, ip: connection.ip });
  });
  server.on('disconnect', ({ connection }: { connection: FtpConn }) => {
    opts.onSession?.({ type: 'close', session: connection.id, ip: connection.ip, user: connection.fs?.volume.user.name });
  });
  server.on(
    'login',
    async (
      { connection, username, password }: { connection: FtpConn; username: string; password: string },
      resolve: (r: { fs: { volume: Volume } }) => void,
      reject: (err: Error) => void,
    ) => {
      const throttle = settingsOf(connection).throttle;
      const sessionLog: typeof log = (level, msg, fields) => log(level, msg, { session: connection.id, ...fields });
      try {
        // The shared throttle (tracker/login-throttle.ts) refuses a banned address before hashing,
        // and logs and counts failures itself.
        const from = { address: connection.ip, door: 'ftp' as const, policy: throttle.policy, log: sessionLog };
        const user = await opts.tracker.authenticate(username, password, from);
        const volume = await Volume.open({ store: opts.store, tracker: opts.tracker, client: opts.client, log, verifyBeforeSend: opts.verifyBeforeSend }, user);
        log('info', 'login', { session: connection.id, user: username, ip: connection.ip });
        opts.onSession?.({ type: 'login', session: connection.id, ip: connection.ip, user: username });
        resolve({ fs: { volume } });
      } catch (err) {
        if (err instanceof LoginDenied) {
          // Remembered here too, so the address is refused at connect time without a query.
          if (err.reason === 'banned' || (err.reason === 'wrong-password' && err.retryAfterMs > 0)) throttle.noteBan(connection.ip ?? '', err.retryAfterMs);
          if (err.reason === 'wrong-password') opts.onSession?.({ type: 'login-failed', session: connection.id, ip: connection.ip, user: username });
        } else {
          log('warn', 'login failed', { session: connection.id, user: username, ip: connection.ip, error: describeError(err) });
        }
        // Keep the coded error: PASS (commands/login.ts) tells a wrong password from a refusal or an outage.
        reject(err instanceof Error ? err : new Error(describeError(err)));
      }
    },
  );
  server.on('client-error', ({ context, error }: { context: string; error: Error }) => {
    log('debug', 'client error', { context, error: error?.message });
  });

  // Our own listeners (listeners.ts) replace server.listen(): PROXY protocol, limits, implicit
  // TLS, and a graceful close that ftp-srv's close() (which drops every connection) lacks.
  const listening = await serveFtp(server, opts, log);
  return { port: listening.port, ftpsPort: listening.ftpsPort, host: opts.host, close: listening.close };
}

/**
 * ftp-srv's own errors that only say a client went away (a reply written to a closed socket, a
 * command that arrived as the connection closed): normal on the Internet, kept at debug.
 */
const CLIENT_GONE_MESSAGES = new Set(['Satisfy Parameters Error', '[Process Letter] Socket Write Error', 'Client error']);

/**
 * ftp-srv (and our handlers, through conn.log) log bunyan-style: `log.error({ err, ...fields },
 * 'message')`, `log.error(err)`, `log.error('message', { error })`. Every form keeps its error
 * (message and stack) and its fields.
 */
export function bunyanArgs(args: unknown[]): { msg: string; fields: Record<string, unknown> } {
  const words: string[] = [];
  const fields: Record<string, unknown> = {};
  const addError = (key: string, e: Error) => {
    fields[key] = e.message;
    if (e.stack) fields[`${key}Stack`] = e.stack;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') fields[`${key}Code`] = code;
  };
  for (const a of args) {
    if (a instanceof Error) addError('error', a);
    else if (typeof a === 'string') words.push(a);
    else if (a && typeof a === 'object') {
      for (const [k, v] of Object.entries(a as Record<string, unknown>)) {
        if (v instanceof Error) addError(k === 'err' ? 'error' : k, v);
        else fields[k] = v;
      }
    }
  }
  return { msg: words.join(' '), fields };
}

/** ftp-srv wants a bunyan logger; give it one that forwards to ours. */
function bunyanShim(log: NonNullable<FtpServerOptions['log']>, base: Record<string, unknown> = {}): unknown {
  const emit = (level: 'debug' | 'info' | 'warn' | 'error') => (...args: unknown[]) => {
    const { msg, fields } = bunyanArgs(args);
    const quiet = level === 'error' && CLIENT_GONE_MESSAGES.has(msg);
    log(quiet ? 'debug' : level, msg || 'ftp-srv', { ...base, ...fields });
  };
  return {
    child: (extra: Record<string, unknown>) => bunyanShim(log, { ...base, ...extra }),
    trace: () => {},
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    fatal: emit('error'),
  };
}
