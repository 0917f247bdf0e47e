// `mogftp ftp`: one stateless FTP front-end over a cluster's database and storage nodes.
import type { CommandModule } from 'yargs';
import { runFtpFrontend } from '../cluster.ts';
import { configurable } from '../config/cli.ts';
import { databaseUrl } from './admin/context.ts';
import { parseListen, parsePortRange } from './options.ts';

interface FtpArgs {
  db?: string;
  listen: string;
  'pasv-address'?: string;
  'pasv-ports': string;
  'storage-token'?: string;
  'log-level': string;
  'admin-listen'?: string;
}

export const ftpCommand: CommandModule<object, FtpArgs> = {
  command: 'ftp',
  describe: 'Run an FTP front-end (stateless; run as many as you like on one database)',
  builder: (y) =>
    configurable('ftp', y)
      .option('db', { type: 'string', describe: 'Database URL (mysql://user:pass@host:port/db or sqlite:/path); env MOGFTP_DB' })
      .option('listen', { type: 'string', default: '127.0.0.1:2121', describe: 'Control connection address HOST:PORT' })
      .option('pasv-address', { type: 'string', describe: 'Address announced in PASV replies (default: the listen host)' })
      .option('pasv-ports', { type: 'string', default: '30000-30099', describe: 'Passive data port range LO-HI' })
      .option('storage-token', { type: 'string', describe: 'Bearer token the storage nodes require; env MOGFTP_STORAGE_TOKEN' })
      .option('log-level', { type: 'string', default: 'info', choices: ['debug', 'info', 'warn', 'error', 'silent'] })
      .option('admin-listen', { type: 'string', describe: 'Serve /metrics, /healthz and /readyz on HOST:PORT (off unless set)' }),
  handler: async (args) => {
    const { host, port } = parseListen(args.listen);
    await runFtpFrontend({
      dbUrl: databaseUrl(args),
      host,
      port,
      pasvAddress: args['pasv-address'],
      pasvPorts: parsePortRange(args['pasv-ports']),
      storageToken: args['storage-token'] ?? process.env.MOGFTP_STORAGE_TOKEN,
      logLevel: args['log-level'] as 'info',
      adminListen: args['admin-listen'],
    });
  },
};
