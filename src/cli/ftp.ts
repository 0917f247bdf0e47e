// `mogftp ftp`: parses the FTP front-end's flags and runs it (src/daemons/ftp.ts).
import type { CommandModule } from 'yargs';
import { configurable } from '../config/cli.ts';
import { parseListen, parsePortRange } from '../config/listen.ts';
import { runFtpDaemon } from '../daemons/ftp.ts';
import { type ClusterDaemonArgs, DATABASE_FLAG, STORAGE_CREDENTIAL_FLAGS, daemonOutputFlags, databaseUrl, logLevelOf, storageCredentials } from './shared-flags.ts';

interface FtpArgs extends ClusterDaemonArgs {
  listen: string;
  'pasv-address'?: string;
  'pasv-ports': string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'ftps-port'?: number;
  'require-tls': boolean;
  'tls-require-reuse': boolean;
  'allow-fxp': boolean;
  'max-connections': number;
  'max-connections-per-address': number;
  'max-passive-per-address'?: number;
  'reply-stall-timeout': number;
  'verify-before-send'?: number;
  'idle-timeout': number;
  'data-timeout': number;
  'login-fail-limit': number;
  'login-fail-window': number;
  'login-ban': number;
  'proxy-protocol': boolean;
  'proxy-protocol-from'?: string;
  'shutdown-grace': number;
}

export const ftpCommand: CommandModule<object, FtpArgs> = {
  command: 'ftp',
  describe: 'Run an FTP front-end (stateless; run as many as you like on one database)',
  builder: (y) =>
    configurable('ftp', y)
      .options(DATABASE_FLAG)
      .option('listen', { type: 'string', default: '127.0.0.1:2121', describe: 'Control connection address HOST:PORT' })
      .option('pasv-address', { type: 'string', describe: 'Address announced in PASV replies: ADDR, or per client network CIDR=ADDR,...,ADDR (default: the address the client connected to; loopback clients get loopback)' })
      .option('pasv-ports', { type: 'string', default: '30000-30099', describe: 'Passive data port range LO-HI' })
      .options(STORAGE_CREDENTIAL_FLAGS)
      .options(daemonOutputFlags('info'))
      .option('tls-cert', { type: 'string', describe: 'PEM certificate (chain) file: offers FTPS (AUTH TLS)' })
      .option('tls-key', { type: 'string', describe: 'PEM private key file for --tls-cert' })
      .option('ftps-port', { type: 'number', describe: 'Also serve implicit FTPS (TLS from the first byte) on this port' })
      .option('require-tls', { type: 'boolean', default: false, describe: 'Refuse logins before AUTH TLS and data connections without PROT P' })
      .option('tls-require-reuse', { type: 'boolean', default: false, describe: 'Refuse TLS data connections that do not resume the control session (like vsftpd require_ssl_reuse)' })
      .option('allow-fxp', { type: 'boolean', default: false, describe: 'Let PORT/EPRT name addresses other than the client\'s own (server-to-server transfers)' })
      .option('max-connections', { type: 'number', default: 0, describe: 'Control connections at once (0 = unlimited)' })
      .option('max-connections-per-address', { type: 'number', default: 64, describe: 'Control connections at once from one client address (0 = unlimited)' })
      .option('max-passive-per-address', { type: 'number', describe: 'Passive ports one client address may hold open at once (0 = unlimited; default: a tenth of --pasv-ports, at least 4)' })
      .option('reply-stall-timeout', { type: 'number', default: 60, describe: 'Seconds a client may leave its replies unread (not reading the control connection) before it is disconnected (0 = never)' })
      .option('verify-before-send', { type: 'number', describe: 'Bytes: files up to this size are checked against their checksum before their first byte is sent, so a damaged copy is skipped (default 8388608; 0 = stream every file, holding back only its last chunk)' })
      .option('idle-timeout', { type: 'number', default: 300, describe: 'Seconds without a command before a control connection is closed (never during a transfer)' })
      .option('data-timeout', { type: 'number', default: 120, describe: 'Seconds without progress before a data connection is aborted' })
      .option('login-fail-limit', { type: 'number', default: 10, describe: 'Failed logins from one address within --login-fail-window that get it refused (0 = never)' })
      .option('login-fail-window', { type: 'number', default: 60, describe: 'Seconds over which failed logins are counted' })
      .option('login-ban', { type: 'number', default: 300, describe: 'Seconds an address is refused after too many failed logins' })
      .option('proxy-protocol', { type: 'boolean', default: false, describe: 'Expect a PROXY protocol v1/v2 header (HAProxy) on every control connection' })
      .option('proxy-protocol-from', { type: 'string', describe: 'With --proxy-protocol: the proxies (CIDR,...) whose headers are believed; connections from any other peer are refused (default: loopback only)' })
      .option('shutdown-grace', { type: 'number', default: 30, describe: 'Seconds running transfers may go on after SIGTERM before they are aborted' }),
  handler: async (args) => {
    const { host, port } = parseListen(args.listen);
    await runFtpDaemon({
      dbUrl: databaseUrl(args),
      host,
      port,
      pasvAddress: args['pasv-address'],
      pasvPorts: parsePortRange(args['pasv-ports']),
      ...storageCredentials(args, 'ftp'),
      logLevel: logLevelOf(args),
      adminListen: args['admin-listen'],
      tlsCert: args['tls-cert'],
      tlsKey: args['tls-key'],
      ftpsPort: args['ftps-port'],
      requireTls: args['require-tls'],
      requireTlsSessionReuse: args['tls-require-reuse'],
      allowForeignDataAddress: args['allow-fxp'],
      maxConnections: args['max-connections'],
      maxConnectionsPerAddress: args['max-connections-per-address'],
      maxPassivePerAddress: args['max-passive-per-address'],
      replyStallTimeoutMs: args['reply-stall-timeout'] * 1000,
      verifyBeforeSend: args['verify-before-send'],
      idleTimeoutMs: args['idle-timeout'] * 1000,
      dataTimeoutMs: args['data-timeout'] * 1000,
      loginThrottle: { limit: args['login-fail-limit'], windowMs: args['login-fail-window'] * 1000, banMs: args['login-ban'] * 1000 },
      proxyProtocol: args['proxy-protocol'],
      proxyProtocolFrom: args['proxy-protocol-from'],
      shutdownGraceMs: args['shutdown-grace'] * 1000,
    });
  },
};
