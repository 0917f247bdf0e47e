// `mogftp tracker`: parses the MogileFS tracker door's flags and runs it (src/daemons/tracker.ts).
import type { CommandModule } from 'yargs';
import { configurable } from '../config/cli.ts';
import { parseListen } from '../config/listen.ts';
import { runTrackerDaemon } from '../daemons/tracker.ts';
import { type ClusterDaemonArgs, DATABASE_FLAG, STORAGE_CREDENTIAL_FLAGS, daemonOutputFlags, databaseUrl, logLevelOf, storageCredentials } from './shared-flags.ts';

interface TrackerArgs extends ClusterDaemonArgs {
  listen: string;
  'allow-remote-clients': boolean;
  admin: boolean;
  'put-url-ttl': number;
  'get-url-ttl': number;
  'unsigned-hosts'?: string;
  'max-connections': number;
  'max-connections-per-address': number;
  'idle-timeout': number;
}

export const trackerCommand: CommandModule<object, TrackerArgs> = {
  command: 'tracker',
  describe: 'Run a MogileFS tracker protocol front-end (MogileFS::Client, mogupload, mogfetch, mogadm; stateless)',
  builder: (y) =>
    configurable('tracker', y)
      .options(DATABASE_FLAG)
      .option('listen', { type: 'string', default: '127.0.0.1:7001', describe: 'Address HOST:PORT (loopback unless --allow-remote-clients)' })
      .option('allow-remote-clients', {
        type: 'boolean',
        default: false,
        describe: 'Allow a --listen address that is not loopback. MogileFS clients send no credentials: whoever reaches the port can read, write and delete every file',
      })
      .option('admin', { type: 'boolean', default: true, describe: 'Answer the admin commands mogadm sends (domains, classes, hosts, devices, set_state); --no-admin refuses them' })
      .option('put-url-ttl', { type: 'number', default: 3600, describe: 'Seconds a create_open upload URL stays valid' })
      .option('get-url-ttl', { type: 'number', default: 600, describe: 'Seconds a get_paths download URL stays valid' })
      .option('unsigned-hosts', {
        type: 'string',
        describe: 'Comma-separated host names whose URLs go out unsigned: nodes that check no signature, such as mogstored (which refuses a PUT URL with a query)',
      })
      .option('max-connections', { type: 'number', default: 1000, describe: 'Open client connections in all (0: no limit)' })
      .option('max-connections-per-address', { type: 'number', default: 64, describe: 'Open client connections per client address (0: no limit)' })
      .option('idle-timeout', { type: 'number', default: 300, describe: 'Seconds before a silent client connection is closed (0: never)' })
      .options(STORAGE_CREDENTIAL_FLAGS)
      .options(daemonOutputFlags('info')),
  handler: async (args) => {
    const { host, port } = parseListen(args.listen);
    await runTrackerDaemon({
      dbUrl: databaseUrl(args),
      host,
      port,
      allowRemoteClients: args['allow-remote-clients'],
      settings: {
        admin: args.admin,
        putUrlTtlS: args['put-url-ttl'],
        getUrlTtlS: args['get-url-ttl'],
        unsignedHosts: (args['unsigned-hosts'] ?? '').split(',').map((h) => h.trim()).filter((h) => h !== ''),
      },
      limits: {
        maxConnections: args['max-connections'],
        maxPerAddress: args['max-connections-per-address'],
        idleTimeoutMs: args['idle-timeout'] * 1000,
      },
      ...storageCredentials(args, 'tracker'),
      logLevel: logLevelOf(args),
      adminListen: args['admin-listen'],
    });
  },
};
