// The storage key as the commands that talk to storage nodes take it: `--storage-key-file FILE`
// (env MOGFTP_STORAGE_KEY_FILE, or `storage-key-file:` at the top of --config, so one setting
// configures a whole cluster). Never the key itself on the command line, where `ps` shows it.
import { readStorageKeyFile, type StorageKey } from '../storage/auth.ts';

export const STORAGE_KEY_FILE_OPTION = {
  type: 'string',
  describe: 'File holding the cluster storage key the storage nodes check (docs/operations/storage-auth.md); env MOGFTP_STORAGE_KEY_FILE, or storage-key-file: in --config',
} as const;

export const STORAGE_TOKEN_OPTION = {
  type: 'string',
  describe: 'Deprecated (use --storage-key-file): bearer token for storage nodes still run with --token alone; env MOGFTP_STORAGE_TOKEN',
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
