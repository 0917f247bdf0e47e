// `mogftp dav`: parses the WebDAV front-end's flags and runs it (src/daemons/dav.ts).
import type { CommandModule } from 'yargs';
import { OS_FILES_MODES, type OsFilesMode } from '../dav/os-files.ts';
import { configurable } from '../config/cli.ts';
import { parseListen } from '../config/listen.ts';
import { runDavDaemon } from '../daemons/dav.ts';
import { type ClusterDaemonArgs, DATABASE_FLAG, STORAGE_CREDENTIAL_FLAGS, daemonOutputFlags, databaseUrl, logLevelOf, storageCredentials } from './shared-flags.ts';

interface DavArgs extends ClusterDaemonArgs {
  listen: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'os-files': string;
  'allow-infinite-depth': boolean;
  'verify-before-send'?: number;
}

export const davCommand: CommandModule<object, DavArgs> = {
  command: 'dav',
  describe: 'Run a WebDAV front-end (stateless; locks and properties live in the database)',
  builder: (y) =>
    configurable('dav', y)
      .options(DATABASE_FLAG)
      .option('listen', { type: 'string', default: '127.0.0.1:8080', describe: 'HTTP(S) address HOST:PORT' })
      .option('tls-cert', { type: 'string', describe: 'PEM certificate (chain): serve HTTPS; needs --tls-key' })
      .option('tls-key', { type: 'string', describe: 'PEM private key for --tls-cert' })
      .option('os-files', {
        type: 'string',
        default: 'off',
        choices: OS_FILES_MODES,
        describe: 'OS metadata files (.DS_Store, ._*, Thumbs.db, desktop.ini): off, hide (from listings) or refuse',
      })
      .option('verify-before-send', { type: 'number', describe: 'Bytes: files up to this size are checked against their checksum before their first byte is sent (default 8388608; 0 = stream every file, holding back only its last chunk)' })
      .option('allow-infinite-depth', { type: 'boolean', default: false, describe: 'Answer PROPFIND Depth: infinity (walks whole trees)' })
      .options(STORAGE_CREDENTIAL_FLAGS)
      .options(daemonOutputFlags('info')),
  handler: async (args) => {
    const { host, port } = parseListen(args.listen);
    await runDavDaemon({
      dbUrl: databaseUrl(args),
      host,
      port,
      tlsCert: args['tls-cert'],
      tlsKey: args['tls-key'],
      osFiles: args['os-files'] as OsFilesMode,
      allowInfiniteDepth: args['allow-infinite-depth'],
      verifyBeforeSend: args['verify-before-send'],
      ...storageCredentials(args, 'dav'),
      logLevel: logLevelOf(args),
      adminListen: args['admin-listen'],
    });
  },
};
