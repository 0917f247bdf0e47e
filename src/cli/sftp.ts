// `mogftp sftp`: parses the SFTP front-end's flags and runs it (src/daemons/sftp.ts).
import type { CommandModule } from 'yargs';
import { configurable } from '../config/cli.ts';
import { parseListen } from '../config/listen.ts';
import { runSftpDaemon } from '../daemons/sftp.ts';
import { type ClusterDaemonArgs, DATABASE_FLAG, STORAGE_CREDENTIAL_FLAGS, daemonOutputFlags, databaseUrl, logLevelOf, storageCredentials } from './shared-flags.ts';

interface SftpArgs extends ClusterDaemonArgs {
  listen: string;
  'host-key': string[];
  'max-connections': number;
  'max-per-address': number;
  'max-channels': number;
  'idle-timeout': number;
}

export const sftpCommand: CommandModule<object, SftpArgs> = {
  command: 'sftp',
  describe: 'Run an SFTP front-end (SSH, sftp subsystem only; stateless)',
  builder: (y) =>
    configurable('sftp', y)
      .options(DATABASE_FLAG)
      .option('listen', { type: 'string', default: '127.0.0.1:2222', describe: 'SSH address HOST:PORT' })
      .option('host-key', { type: 'string', array: true, demandOption: true, describe: 'Host private key file (repeat: one per type, e.g. ed25519 and RSA)' })
      .option('max-connections', { type: 'number', default: 512, describe: 'Connections at once, in all' })
      .option('max-per-address', { type: 'number', default: 16, describe: 'Connections at once from one client address' })
      .option('max-channels', { type: 'number', default: 4, describe: 'SSH sessions one connection may open' })
      .option('idle-timeout', { type: 'number', default: 600, describe: 'Seconds without an SFTP request before a connection is closed' })
      .options(STORAGE_CREDENTIAL_FLAGS)
      .options(daemonOutputFlags('info')),
  handler: async (args) => {
    const { host, port } = parseListen(args.listen);
    await runSftpDaemon({
      dbUrl: databaseUrl(args),
      host,
      port,
      hostKeyFiles: args['host-key'],
      limits: {
        maxConnections: args['max-connections'],
        maxPerAddress: args['max-per-address'],
        maxChannels: args['max-channels'],
        idleMs: args['idle-timeout'] * 1000,
      },
      ...storageCredentials(args, 'sftp'),
      logLevel: logLevelOf(args),
      adminListen: args['admin-listen'],
    });
  },
};
