// `mogftp storage`: parses a storage node's flags, refuses a node nobody has to sign requests
// for unless it is only reachable from this machine, and runs it (src/daemons/storage.ts).
import type { CommandModule } from 'yargs';
import { configurable } from '../config/cli.ts';
import { parseNodeListen } from '../config/listen.ts';
import { runStorageDaemon } from '../daemons/storage.ts';
import { ErrorCodes, mogError } from '../errors.ts';
import { readStorageKeyFile } from '../storage/auth.ts';
import { isLoopbackHost } from '../storage/node.ts';
import { type DaemonOutputArgs, daemonOutputFlags, logLevelOf } from './shared-flags.ts';

interface StorageArgs extends DaemonOutputArgs {
  root: string;
  listen: string;
  'key-file'?: string;
  'insecure-no-auth': boolean;
  token?: string;
  grace: number;
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
      .options(daemonOutputFlags('info')),
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
    await runStorageDaemon({
      root: args.root,
      host,
      port,
      key: keyFile ? readStorageKeyFile(keyFile) : undefined,
      insecureNoAuth: insecure,
      token: args.token ?? (process.env.MOGFTP_STORAGE_TOKEN || undefined),
      graceMs: Math.max(0, args.grace) * 1000,
      logLevel: logLevelOf(args),
      adminListen: args['admin-listen'],
    });
  },
};
