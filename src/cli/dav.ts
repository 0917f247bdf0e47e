// `mogftp dav`: one stateless WebDAV front-end over a cluster's database and storage nodes.
import type { CommandModule } from 'yargs';
import { runDavFrontend } from '../dav/run.ts';
import { OS_FILES_MODES, type OsFilesMode } from '../dav/os-files.ts';
import { configurable } from '../config/cli.ts';
import { databaseUrl } from './admin/context.ts';
import { parseListen } from '../config/listen.ts';
import { STORAGE_KEY_FILE_OPTION, STORAGE_TOKEN_OPTION, storageCredentials } from './storage-key.ts';

interface DavArgs {
  db?: string;
  listen: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'os-files': string;
  'allow-infinite-depth': boolean;
  'storage-key-file'?: string;
  'storage-token'?: string;
  'log-level': string;
  'admin-listen'?: string;
  'verify-before-send'?: number;
}

export const davCommand: CommandModule<object, DavArgs> = {
  command: 'dav',
  describe: 'Run a WebDAV front-end (stateless; locks and properties live in the database)',
  builder: (y) =>
    configurable('dav', y)
      .option('db', { type: 'string', describe: 'Database URL (mysql://user:pass@host:port/db or sqlite:/path); env MOGFTP_DB' })
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
      .option('storage-key-file', STORAGE_KEY_FILE_OPTION)
      .option('storage-token', STORAGE_TOKEN_OPTION)
      .option('log-level', { type: 'string', default: 'info', choices: ['debug', 'info', 'warn', 'error', 'silent'] })
      .option('admin-listen', { type: 'string', describe: 'Serve /metrics, /healthz and /readyz on HOST:PORT (off unless set)' }),
  handler: async (args) => {
    const { host, port } = parseListen(args.listen);
    await runDavFrontend({
      dbUrl: databaseUrl(args),
      host,
      port,
      tlsCert: args['tls-cert'],
      tlsKey: args['tls-key'],
      osFiles: args['os-files'] as OsFilesMode,
      allowInfiniteDepth: args['allow-infinite-depth'],
      verifyBeforeSend: args['verify-before-send'],
      ...storageCredentials(args, 'dav'),
      logLevel: args['log-level'] as 'info',
      adminListen: args['admin-listen'],
    });
  },
};
