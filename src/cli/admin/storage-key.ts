// `mogftp admin storage-key`: makes the cluster's storage key file, and prints the secret
// header an nginx storage node compares (nginx cannot check our request signatures); see
// docs/operations/storage-auth.md.
import { open } from 'node:fs/promises';
import { ErrorCodes, describeError, mogError } from '../../errors.ts';
import { NGINX_HEADER, newStorageKeyText, readStorageKeyFile } from '../../storage/auth.ts';
import { STORAGE_KEY_FILE_OPTION } from '../shared-flags.ts';
import { leaf, noun } from './context.ts';
import { say } from './output.ts';

const newKey = leaf<{ file: string }>({
  command: 'new <file>',
  describe: 'Write a new random storage key to FILE (mode 0600; refuses to overwrite one)',
  handler: async (args) => {
    let fh;
    try {
      fh = await open(args.file, 'wx', 0o600);
    } catch (err) {
      const exists = (err as NodeJS.ErrnoException).code === 'EEXIST';
      throw mogError(exists ? ErrorCodes.EXISTS : ErrorCodes.INVALID_ARGUMENT, `cannot create ${args.file}: ${exists ? 'it exists (a new key would lock out every node and client using it)' : describeError(err)}`);
    }
    try {
      await fh.writeFile(newStorageKeyText());
      await fh.sync();
    } finally {
      await fh.close();
    }
    say(`wrote a new storage key to ${args.file}: give it (same contents, mode 0600) to every storage node (--key-file) and to ftp, dav, jobs and admin (--storage-key-file)`);
  },
});

const nginxHeader = leaf<{ 'storage-key-file'?: string; directive: boolean }>({
  command: 'nginx-header',
  describe: 'Print the secret header nginx storage nodes should require (derived from the storage key)',
  builder: (y) =>
    y
      .option('storage-key-file', STORAGE_KEY_FILE_OPTION)
      .option('directive', { type: 'boolean', default: false, describe: 'Print the nginx "if" block to paste into the node\'s server block instead' }),
  handler: async (args) => {
    const file = args['storage-key-file'];
    if (!file) throw mogError(ErrorCodes.INVALID_ARGUMENT, 'nginx-header needs the storage key: --storage-key-file FILE (or MOGFTP_STORAGE_KEY_FILE, or storage-key-file: in --config)');
    const value = readStorageKeyFile(file).nginxHeader;
    if (!args.directive) return say(`${NGINX_HEADER}: ${value}`);
    const variable = `$http_${NGINX_HEADER.replace(/-/g, '_')}`;
    say(`if (${variable} != "${value}") { return 401; }`);
  },
});

export const storageKeyCommand = noun('storage-key', 'Make the storage key file; print the header nginx storage nodes check', [newKey, nginxHeader]);
