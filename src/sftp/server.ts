// The SFTP door: an SSH server (npm ssh2) that offers one thing, the `sftp` subsystem over the
// logged-in user's Volume. No shell, no exec, no port forwarding, no agent or X11 forwarding.
// Only modern algorithms are offered (docs/sftp.md lists them): no CBC ciphers, no SHA-1 MACs,
// key exchanges or `ssh-rsa` signatures. Limits: connections in all and per address, sessions
// per connection, time to log in, failed logins per connection, and an idle timeout.
import { createServer, type AddressInfo, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { Algorithms, Connection, ServerChannel, Session } from 'ssh2';
import { describeError } from '../errors.ts';
import type { LogFn } from '../log.ts';
import { clientKey } from '../tracker/login-throttle.ts';
import type { Volume } from '../vfs/volume.ts';
import { answer, authenticate, type SftpAuthDeps } from './auth.ts';
import type { SessionLimits } from './context.ts';
import { DEFAULT_SESSION_LIMITS, SftpSession } from './session.ts';

export const ALGORITHMS: Algorithms = {
  kex: [
    'curve25519-sha256',
    'curve25519-sha256@libssh.org',
    'ecdh-sha2-nistp256',
    'ecdh-sha2-nistp384',
    'ecdh-sha2-nistp521',
    'diffie-hellman-group-exchange-sha256',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group18-sha512',
    'diffie-hellman-group14-sha256',
  ],
  cipher: ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr'],
  serverHostKey: ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256'],
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'],
  compress: ['none'],
};

export interface SftpLimits {
  maxConnections: number;
  maxPerAddress: number;
  /** Session channels one connection may have open (each can run one sftp subsystem). */
  maxChannels: number;
  /** A connection with no SFTP request for this long is closed. */
  idleMs: number;
  /** Time from connecting to a successful login. */
  loginMs: number;
  /** Failed authentication requests one connection may make before it is closed. */
  maxAuthFailures: number;
  session: SessionLimits;
}

export const DEFAULT_SFTP_LIMITS: SftpLimits = {
  maxConnections: 512,
  maxPerAddress: 16,
  maxChannels: 4,
  idleMs: 10 * 60_000,
  loginMs: 30_000,
  maxAuthFailures: 6,
  session: DEFAULT_SESSION_LIMITS,
};

export interface SftpServerOptions extends SftpAuthDeps {
  host: string;
  port: number;
  /** Host private keys (OpenSSH or PEM format), one per algorithm. */
  hostKeys: Buffer[];
  log: LogFn;
  limits?: Partial<SftpLimits>;
}

export interface RunningSftpServer {
  host: string;
  port: number;
  /** Connections open now. */
  readonly connections: number;
  close(): Promise<void>;
}

/** A TCP connection before and after SSH takes it over: its caps are counted and its login clock runs from the first byte. */
interface Accepted {
  socket: Socket;
  address: string;
  loginTimer: NodeJS.Timeout;
  client?: Connection;
}

export async function startSftpServer(opts: SftpServerOptions): Promise<RunningSftpServer> {
  const limits = { ...DEFAULT_SFTP_LIMITS, ...opts.limits };
  const perAddress = new Map<string, number>();
  const accepted = new Map<string, Accepted>();
  const keyOf = (ip: string | undefined, port: number | undefined) => `${ip}|${port}`;
  const ssh = new ssh2.Server({ hostKeys: opts.hostKeys, algorithms: ALGORITHMS, ident: 'mogftp' }, (client, info) => {
    const conn = accepted.get(keyOf(info.ip, info.port));
    if (!conn) return client.end(); // its socket closed meanwhile
    conn.client = client;
    serveConnection(client, conn, opts, limits);
  });
  // Our own listener hands sockets to ssh2 (injectSocket): ssh2 reports a connection only once
  // the client has sent its version line, and a socket that never does must still be capped
  // and timed out.
  // noDelay: SFTP is request and answer; with Nagle on, an answer written while the one before
  // is unacknowledged waits for the client's delayed ACK (tens of ms on every small request).
  const tcp = createServer({ noDelay: true }, (socket) => {
    const address = clientKey(socket.remoteAddress);
    const count = perAddress.get(address) ?? 0;
    if (accepted.size >= limits.maxConnections || count >= limits.maxPerAddress) {
      opts.log('info', 'sftp connection refused: too many connections', { ip: address });
      socket.destroy();
      return;
    }
    const key = keyOf(socket.remoteAddress, socket.remotePort);
    const loginTimer = setTimeout(() => {
      opts.log('info', 'sftp connection closed: no login in time', { ip: address });
      socket.destroy();
    }, limits.loginMs);
    perAddress.set(address, count + 1);
    accepted.set(key, { socket, address, loginTimer });
    socket.once('close', () => {
      clearTimeout(loginTimer);
      accepted.delete(key);
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
    ssh.injectSocket(socket);
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(opts.port, opts.host, () => {
      tcp.off('error', reject);
      resolve();
    });
  });
  tcp.on('error', (err: Error) => opts.log('error', 'sftp listener failed', { error: describeError(err) }));
  ssh.on('error', (err: Error) => opts.log('error', 'sftp server failed', { error: describeError(err) }));
  const port = (tcp.address() as AddressInfo).port;
  return {
    host: opts.host,
    port,
    get connections() {
      return accepted.size;
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      for (const c of accepted.values()) {
        if (c.client) c.client.end();
        else c.socket.destroy();
      }
      // A client that does not answer the disconnect is cut off.
      const stragglers = setTimeout(() => {
        for (const c of accepted.values()) c.socket.destroy();
      }, 2000);
      await closed;
      clearTimeout(stragglers);
    },
  };
}

/** One SSH connection: its login, its sessions, its idle clock. */
function serveConnection(client: Connection, conn: Accepted, opts: SftpServerOptions, limits: SftpLimits): void {
  const { log } = opts;
  const address = conn.address;
  let volume: Volume | null = null;
  let failures = 0;
  let lastActive = Date.now();
  const idleTimer = setInterval(
    () => {
      if (Date.now() - lastActive < limits.idleMs) return;
      log('info', 'sftp connection closed: idle', { ip: address, user: volume?.user.name });
      client.end();
    },
    Math.max(250, Math.min(limits.idleMs / 4, 30_000)),
  );
  client.on('error', (err) => log('debug', 'sftp connection error', { ip: address, error: describeError(err) }));
  client.on('close', () => clearInterval(idleTimer));
  client.on('authentication', (ctx) => {
    void authenticate(opts, ctx, address, log).then((outcome) => {
      if ('volume' in outcome) {
        volume = outcome.volume;
        clearTimeout(conn.loginTimer);
        lastActive = Date.now();
      } else if ('denied' in outcome && ctx.method !== 'none' && (++failures >= limits.maxAuthFailures || outcome.denied === 'banned')) {
        answer(ctx, outcome);
        client.end();
        return;
      }
      answer(ctx, outcome);
    });
  });
  client.on('ready', () => {
    let channels = 0;
    client.on('session', (accept, reject) => {
      if (channels >= limits.maxChannels || !volume) return reject();
      channels++;
      const session = accept();
      session.once('close', () => channels--);
      refuseEverythingButSftp(session);
      session.on('subsystem', (acceptSub, rejectSub, info) => {
        if (info.name !== 'sftp') return rejectSub();
        const channel = acceptSub();
        const sftp = new SftpSession(volume!, channel, log, limits.session, () => (lastActive = Date.now()));
        runSftp(sftp, channel, log);
      });
    });
    client.on('tcpip', (_accept, reject) => reject());
    client.on('openssh.streamlocal', (_accept, reject) => reject());
    client.on('request', (_accept, reject) => reject?.());
  });
}

function refuseEverythingButSftp(session: Session): void {
  for (const what of ['pty', 'shell', 'exec', 'env', 'x11', 'auth-agent', 'signal', 'window-change'] as const)
    session.on(what as 'shell', (_accept: unknown, reject?: () => void) => reject?.());
}

function runSftp(sftp: SftpSession, channel: ServerChannel, log: LogFn): void {
  sftp.run().then(
    () => channel.end(),
    (err: unknown) => {
      log('error', 'sftp session failed', { error: describeError(err), cause: err });
      channel.destroy();
    },
  );
}
