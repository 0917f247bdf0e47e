// `mogftp storage`: run one storage node over the device directories under --root.
import type { CommandModule } from 'yargs';
import { configurable } from '../config/cli.ts';
import { parseNodeListen } from '../config/listen.ts';
import { ErrorCodes, mogError } from '../errors.ts';
import { createLogger, LOG_LEVELS, type LogLevel } from '../log.ts';
import { readStorageKeyFile } from '../storage/auth.ts';
import { isLoopbackHost, startStorageNode } from '../storage/node.ts';

interface StorageArgs {
  root: string;
  listen: string;
  'key-file'?: string;
  'insecure-no-auth': boolean;
  token?: string;
  grace: number;
  'log-level': string;
  'admin-listen'?: string;
}

export const storageCommand: CommandModule<object, StorageArgs> = {
  command: 'storage',
  describe: 'Run a storage node serving the device directories DIR/dev<N>/ over HTTP',
  builder: (y) =>
    configurable('storage', y)
      .option('root', { type: 'string', demandOption: true, describe: 'Directory holding the dev<N> device directories (mkdir DIR/dev7 adds device 7)' })
      .option('listen', { type: 'string', default: '0.0.0.0:7500', describe: 'HOST:PORT to listen on ([::1]:PORT for IPv6; port 0 picks a free one)' })
      .option('key-file', {
        type: 'string',
        describe: 'File holding the cluster storage key: every request must be signed with it (docs/operations/storage-auth.md); env MOGFTP_STORAGE_KEY_FILE, or storage-key-file: in --config',
      })
      .option('insecure-no-auth', { type: 'boolean', default: false, describe: 'Serve anyone who can connect, without a key: only allowed on a loopback --listen address' })
      .option('token', { type: 'string', describe: 'Deprecated: also accept "Authorization: Bearer TOKEN" (front-ends not yet given the key); env MOGFTP_STORAGE_TOKEN' })
      .option('grace', { type: 'number', default: 5, describe: 'Seconds in-flight requests may take to finish on SIGTERM/SIGINT' })
      .option('log-level', { type: 'string', default: 'info', choices: LOG_LEVELS })
      .option('admin-listen', { type: 'string', describe: 'Serve /metrics, /healthz and /readyz on HOST:PORT (off unless set)' }),
  handler: async (args) => {
    const { host, port } = parseNodeListen(args.listen);
    const keyFile = args['key-file'];
    const insecure = args['insecure-no-auth'];
    if (keyFile && insecure) throw mogError(ErrorCodes.INVALID_ARGUMENT, '--insecure-no-auth and a storage key file (--key-file) exclude each other: drop one');
    if (!keyFile && !insecure) {
      throw mogError(
        ErrorCodes.INVALID_ARGUMENT,
        "mogftp storage needs the cluster storage key: --key-file FILE (or MOGFTP_STORAGE_KEY_FILE, or storage-key-file: in --config); make one with 'mogftp admin storage-key new FILE'. A node only this machine can reach may instead run with --insecure-no-auth on a loopback --listen address",
      );
    }
    if (insecure && !isLoopbackHost(host)) {
      throw mogError(ErrorCodes.INVALID_ARGUMENT, `--insecure-no-auth is only allowed on a loopback address (127.0.0.1, [::1]), not ${host}: give the node a --key-file instead`);
    }
    const key = keyFile ? readStorageKeyFile(keyFile) : undefined;
    const log = createLogger({ level: args['log-level'] as LogLevel, name: 'storage' });
    // Metrics (prom-client) are loaded only when asked for: a node's memory stays small.
    const adminListen = args['admin-listen'];
    const m = adminListen ? await import('../metrics/index.ts') : null;
    const registry = m?.createRegistry('storage');
    const metrics = m && registry ? m.registerStorageMetrics(registry, args.root) : null;
    const node = await startStorageNode({
      log: (msg) => log('error', msg),
      onRequest: metrics ? (r) => metrics.request(r) : undefined,
      root: args.root,
      host,
      port,
      key,
      insecureNoAuth: insecure,
      token: args.token ?? (process.env.MOGFTP_STORAGE_TOKEN || undefined),
      graceMs: Math.max(0, args.grace) * 1000,
    });
    const admin = m && registry ? await m.startAdminEndpoint('storage', adminListen, { registry, ready: m.storageReadiness(args.root), log }) : null;
    if (insecure) log('warn', 'running with --insecure-no-auth: anyone who can connect to this address may read, overwrite and delete every replica');
    process.stdout.write(`mogftp storage listening on ${node.url}\n`);
    await new Promise<void>((resolve) => {
      const onSignal = () => {
        // A second signal while we drain means "now".
        process.once('SIGTERM', () => process.exit(1));
        process.once('SIGINT', () => process.exit(1));
        void Promise.all([node.close(), admin?.close()]).then(() => resolve());
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
    });
  },
};
