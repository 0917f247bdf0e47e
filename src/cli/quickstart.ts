// `mogftp quickstart`: the whole system on this machine with nothing installed (SQLite, three
// local storage nodes, jobs, FTP, WebDAV, SFTP; src/daemons/quickstart.ts). `npm start` runs it too.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandModule } from 'yargs';
import { configurable } from '../config/cli.ts';
import { parseListen, parsePortRange } from '../config/listen.ts';
import { serveQuickstart, startQuickstart, type RunningQuickstart } from '../daemons/quickstart.ts';
import { type DaemonOutputArgs, daemonOutputFlags, logLevelOf } from './shared-flags.ts';

interface QuickstartArgs extends DaemonOutputArgs {
  data: string;
  port: number;
  host: string;
  'pasv-ports': string;
  tls: boolean;
  dav: boolean;
  'dav-port'?: number;
  sftp: boolean;
  'sftp-port'?: number;
}

export const quickstartCommand: CommandModule<object, QuickstartArgs> = {
  command: 'quickstart',
  describe: 'Run a complete local cluster (SQLite + 3 storage nodes + jobs + FTP + WebDAV + SFTP) from one command',
  builder: (y) =>
    configurable('quickstart', y)
      .option('data', { type: 'string', default: './mogftp-data', describe: 'Data directory (database and node storage)' })
      .option('port', { type: 'number', default: 2121, describe: 'FTP control port (must be free)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'FTP listen address' })
      .option('pasv-ports', { type: 'string', default: '30000-30099', describe: 'Passive data port range LO-HI' })
      .options(daemonOutputFlags('warn'))
      .option('tls', { type: 'boolean', default: true, describe: 'Offer explicit FTPS (AUTH TLS) with a self-signed certificate kept in the data directory' })
      .option('dav', { type: 'boolean', default: true, describe: 'Also serve the files over WebDAV (--no-dav: FTP only)' })
      .option('dav-port', { type: 'number', describe: 'WebDAV port, which must be free (default 8080, or a free port if 8080 is taken)' })
      .option('sftp', { type: 'boolean', default: true, describe: 'Also serve the files over SFTP, with host keys made in the data directory (--no-sftp: none)' })
      .option('sftp-port', { type: 'number', describe: 'SFTP port, which must be free (default 2222, or a free port if 2222 is taken)' }),
  handler: async (args) => {
    const qs = await startQuickstart({
      tls: args.tls,
      dataDir: args.data,
      host: args.host,
      port: args.port,
      pasvPorts: parsePortRange(args['pasv-ports']),
      logLevel: logLevelOf(args),
      adminListen: args['admin-listen'] ? parseListen(args['admin-listen']) : undefined,
      davPort: args.dav ? args['dav-port'] : false,
      sftpPort: args.sftp ? args['sftp-port'] : false,
    });
    // Signals are taken before the banner: whoever reads it may press Ctrl-C at once.
    const served = serveQuickstart(qs);
    process.stdout.write(quickstartBanner(qs, { dataDir: resolve(args.data), host: args.host, packageRoot: packageRoot() }));
    await served;
  },
};

/** The directory holding bin/mogftp.js: this file runs from src/cli/ or from dist/src/cli/. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'bin', 'mogftp.js')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** A word as the shell reads it: bare when it is safe, else single-quoted. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The sftp line: the host key is checked against DATA/known_hosts; the comment shows its fingerprint. */
function sftpLines(qs: RunningQuickstart, host: string): string[] {
  if (!qs.sftp) return [];
  const ed = qs.sftp.keys.find((k) => k.type === 'ssh-ed25519') ?? qs.sftp.keys[0]!;
  const target = `demo@${host.includes(':') ? `[${host}]` : host}`;
  return [`sftp -P ${qs.sftp.server.port} -o UserKnownHostsFile=${shellWord(qs.sftp.knownHosts)} ${target}   # password demo; host key ${ed.fingerprint}`];
}

/**
 * What the quickstart prints first: every line is a shell comment or a command that works as
 * pasted, from any directory (absolute paths; TLS verified against the certificate it made).
 * README.md shows this block for the default run; test/cli/readme-quickstart.test.ts runs it.
 */
export function quickstartBanner(qs: RunningQuickstart, where: { dataDir: string; host: string; packageRoot: string }): string {
  // A wildcard listener is reached on loopback, which the certificate names.
  const host = where.host === '0.0.0.0' || where.host === '::' ? '127.0.0.1' : where.host;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  const port = qs.ftp.port;
  const url = `ftp://demo:demo@${hostInUrl}:${port}`;
  const data = (name: string) => shellWord(join(where.dataDir, name));
  const tls = 'cert' in qs.tls;
  // The WebDAV URL goes last, before the ';': scripts read it up to a space or ';'.
  const doors = [
    `FTP${tls ? ' and explicit FTPS' : ''} on ${hostInUrl}:${port}`,
    ...(qs.sftp ? [`SFTP on ${hostInUrl}:${qs.sftp.server.port}`] : []),
    ...(qs.dav ? [`WebDAV on ${qs.dav.url}`] : []),
  ];
  const lines = [
    `# mogftp quickstart is running: ${doors.join(', ')}; user demo, password demo.`,
    `# Its database, storage nodes and certificate are in ${where.dataDir}.`,
    ...qs.notes.map((note) => `# ${note}`),
    '# Try these from a directory holding photo.jpg (the lftp line mirrors ./site, made empty if missing):',
    `curl -T photo.jpg ${url}/`,
    `curl ${url}/photo.jpg -o copy.jpg`,
    ...(tls
      ? [
          `curl --ssl-reqd --cacert ${data('tls-cert.pem')} -T photo.jpg ${url}/`,
          `mkdir -p site && lftp -u demo,demo -p ${port} -e ${shellWord(`set ssl:ca-file ${join(where.dataDir, 'tls-cert.pem')}; mirror -R site /site; bye`)} ${host}`,
        ]
      : [`mkdir -p site && lftp -u demo,demo -p ${port} -e 'mirror -R site /site; bye' ${host}`]),
    ...(qs.dav ? [`curl -f -u demo:demo -T photo.jpg ${qs.dav.url}   # WebDAV; to mount it, see docs/webdav.md`] : []),
    ...sftpLines(qs, host),
    `filezilla ${url}`,
    `node ${shellWord(join(where.packageRoot, 'bin', 'mogftp.js'))} admin --db ${shellWord(`sqlite:${join(where.dataDir, 'mogftp.db')}`)} device list`,
    ...(qs.admin ? [`curl ${qs.admin.url}/metrics   # also /healthz and /readyz`] : []),
    `# The storage nodes take only requests signed with ${join(where.dataDir, 'storage.key')} (rebalance: --storage-key-file).`,
    '# Press Ctrl-C to stop.',
    '',
  ];
  return lines.join('\n');
}
