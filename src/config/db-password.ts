// The database password from a file (`--db-password-file FILE`, env MOGFTP_DB_PASSWORD_FILE, or
// `db-password-file:` in --config): the password stays out of the URL, so out of `ps`, shell
// history and a config file that is shared more widely than a 0600 secret. The file's password
// replaces one in the URL (which may then leave it out); a trailing newline is not part of it.
// The password is never printed: --print-config shows the URL redacted and the file's path.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCodes, mogError } from '../errors.ts';
import { withDbPassword } from '../tracker/open.ts';

/** Commands that take --db, and so --db-password-file. */
export const DB_COMMANDS: readonly string[] = ['ftp', 'dav', 'sftp', 'tracker', 'jobs', 'admin'];

export const DB_PASSWORD_FILE_OPTION = {
  type: 'string',
  describe: 'File holding the database password (replaces any in the --db URL; a trailing newline is ignored); env MOGFTP_DB_PASSWORD_FILE, or db-password-file: in --config',
} as const;

export function readDbPasswordFile(path: string): string {
  const full = resolve(path);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (err) {
    throw mogError(ErrorCodes.BAD_CONFIG, `Cannot read the database password file ${full}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const password = text.replace(/[\r\n]+$/, '');
  if (password === '') throw mogError(ErrorCodes.BAD_CONFIG, `The database password file ${full} is empty`);
  return password;
}

/** Puts the file's password into values.db (in place), when both are set. */
export function applyDbPasswordFile(values: Record<string, unknown>): void {
  const file = values['db-password-file'];
  if (typeof file !== 'string' || file === '') return;
  const password = readDbPasswordFile(file);
  if (typeof values.db === 'string' && values.db.trim() !== '') values.db = withDbPassword(values.db.trim(), password);
}
