// `mogftp quickstart`: the whole system on this machine with nothing installed (SQLite, three
// local storage nodes, jobs, FTP). `npm start` runs it too.
import type { CommandModule } from 'yargs';
import { startQuickstart } from '../cluster.ts';
import { untilSignal } from '../signals.ts';
import { configurable } from '../config/cli.ts';
import { parsePortRange } from './options.ts';

interface QuickstartArgs {
  data: string;
  port: number;
  host: string;
  'pasv-ports': string;
  'log-level': string;
  'admin-listen'?: string;
  tls: boolean;
  dav: boolean;
  'dav-port'?: number;
}

export const quickstartCommand: CommandModule<object, QuickstartArgs> = {
  command: 'quickstart',
  describe: 'Run a complete local cluster (SQLite + 3 storage nodes + jobs + FTP) in one process',
  builder: (y) =>
    configurable('quickstart', y)
      .option('data', { type: 'string', default: './mogftp-data', describe: 'Data directory (database and node storage)' })
      .option('port', { type: 'number', default: 2121, describe: 'FTP control port' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'FTP listen address' })
      .option('pasv-ports', { type: 'string', default: '30000-30099', describe: 'Passive data port range LO-HI' })
      .option('log-level', { type: 'string', default: 'warn', choices: ['debug', 'info', 'warn', 'error', 'silent'] })
      .option('admin-listen', { type: 'string', describe: 'Serve /metrics, /healthz and /readyz on HOST:PORT (off unless set)' })
      .option('tls', { type: 'boolean', default: true, describe: 'Offer explicit FTPS (AUTH TLS) with a self-signed certificate kept in the data directory' })
      .option('dav', { type: 'boolean', default: true, describe: 'Also serve the files over WebDAV (--no-dav: FTP only)' })
      .option('dav-port', { type: 'number', describe: 'WebDAV port (default 8080, or a free port if 8080 is taken)' }),
  handler: async (args) => {
    const qs = await startQuickstart({
      tls: args.tls,
      dataDir: args.data,
      host: args.host,
      port: args.port,
      pasvPorts: parsePortRange(args['pasv-ports']),
      logLevel: args['log-level'] as 'warn',
      adminListen: args['admin-listen'],
      davPort: args.dav ? args['dav-port'] : false,
    });
    const url = `ftp://demo:demo@${args.host}:${qs.ftp.port}`;
    process.stdout.write(
      [
        `mogftp quickstart is running (data in ${args.data}, database ${qs.dbUrl}).`,
        `  FTP:       ${url}/   (user demo, password demo)`,
        `  curl:      curl -T myfile ${url}/   then   curl ${url}/myfile -o copy`,
        'cert' in qs.tls
          ? `  FTPS:      curl --ssl-reqd -k -T myfile ${url}/   (explicit TLS, self-signed certificate ${qs.tls.cert})`
          : `  FTPS:      off (${qs.tls.off})`,
        `  lftp:      lftp -u demo,demo -p ${qs.ftp.port} ${args.host}`,
        qs.dav ? `  WebDAV:    ${qs.dav.url}   (user demo, password demo; mounting it: docs/webdav.md)` : '  WebDAV:    off',
        `  FileZilla: filezilla ftp://demo:demo@${args.host}:${qs.ftp.port}`,
        `  admin:     npx mogftp admin --db ${qs.dbUrl} device list`,
        `  nodes:     signed with the storage key in ${args.data}/storage.key (give it to rebalance as --storage-key-file)`,
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
    await untilSignal();
    process.stdout.write('Stopping...\n');
    await qs.stop();
  },
};
