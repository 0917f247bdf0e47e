// Flags the commands share, declared once: the database, the credentials for the storage nodes,
// and each daemon's log level and admin endpoint. Commands add them with yargs' `.options(...)`,
// in the place their help has always listed them. The storage key is only ever named by its file
// (`--storage-key-file FILE`, env MOGFTP_STORAGE_KEY_FILE, or `storage-key-file:` at the top of
// --config, so one setting configures a whole cluster), never given on the command line, where
// `ps` shows it.
import { ErrorCodes, mogError } from '../errors.ts';
import { LOG_LEVELS, type LogLevel } from '../log.ts';
import { readStorageKeyFile, type StorageKey } from '../storage/auth.ts';

/** `--db` as the daemons take it (admin declares its own, global to its subcommands). */
export const DATABASE_FLAG = {
  db: { type: 'string', describe: 'Database URL (mysql://user:pass@host:port/db, several hosts as host1:port,host2:port, or sqlite:/path); env MOGFTP_DB' },
} as const;

export interface DbArgs {
  db?: string;
}

/**
 * The database URL from --db, else MOGFTP_DB. The commands pass their flags through src/config
 * first, so --db already holds the strongest of the flag, MOGFTP_DB and the settings file.
 */
export function databaseUrl(args: DbArgs): string {
  const url = args.db ?? process.env.MOGFTP_DB;
  if (url === undefined || url.trim() === '')
    throw mogError(ErrorCodes.BAD_DB_URL, 'No database given: pass --db URL, set MOGFTP_DB or put db: in the --config file (e.g. sqlite:/var/lib/mogftp.db)');
  return url.trim();
}

export const STORAGE_KEY_FILE_OPTION = {
  type: 'string',
  describe: 'File holding the cluster storage key the storage nodes check (docs/operations/storage-auth.md); env MOGFTP_STORAGE_KEY_FILE, or storage-key-file: in --config',
} as const;

export const STORAGE_TOKEN_OPTION = {
  type: 'string',
  describe: 'Deprecated (use --storage-key-file): bearer token for storage nodes still run with --token alone; env MOGFTP_STORAGE_TOKEN',
} as const;

/** What a command that talks to the storage nodes takes to sign its requests. */
export const STORAGE_CREDENTIAL_FLAGS = {
  'storage-key-file': STORAGE_KEY_FILE_OPTION,
  'storage-token': STORAGE_TOKEN_OPTION,
} as const;

export interface StorageCredentials {
  storageKey?: StorageKey;
  storageToken?: string;
}

/** The credentials a front-end, the jobs or admin present to storage nodes; warns when there are none. */
export function storageCredentials(args: { 'storage-key-file'?: string; 'storage-token'?: string }, who: string): StorageCredentials {
  const file = args['storage-key-file'];
  const token = args['storage-token'] ?? (process.env.MOGFTP_STORAGE_TOKEN || undefined);
  if (!file) {
    process.stderr.write(
      `mogftp ${who}: no --storage-key-file: requests to the storage nodes are not signed, so only nodes run with --insecure-no-auth${token ? ' or the deprecated --token' : ''} will accept them\n`,
    );
    return token ? { storageToken: token } : {};
  }
  return { storageKey: readStorageKeyFile(file), ...(token ? { storageToken: token } : {}) };
}

/** `--log-level` (choices from log.ts) and `--admin-listen`, which every daemon has. */
export function daemonOutputFlags(defaultLevel: LogLevel) {
  return {
    'log-level': { type: 'string', default: defaultLevel, choices: LOG_LEVELS },
    'admin-listen': { type: 'string', describe: 'Serve /metrics, /healthz and /readyz on HOST:PORT (off unless set)' },
  } as const;
}

/** What daemonOutputFlags parse to. */
export interface DaemonOutputArgs {
  'log-level': string;
  'admin-listen'?: string;
}

/** What DATABASE_FLAG, STORAGE_CREDENTIAL_FLAGS and daemonOutputFlags parse to. */
export interface ClusterDaemonArgs extends DbArgs, DaemonOutputArgs {
  'storage-key-file'?: string;
  'storage-token'?: string;
}

/** A --log-level value (yargs has checked it against LOG_LEVELS). */
export function logLevelOf(args: { 'log-level': string }): LogLevel | 'silent' {
  return args['log-level'] as LogLevel | 'silent';
}
