// Path rules for the namespace tree: names are byte-exact, case-sensitive UTF-8 components.
import { mogError, ErrorCodes } from '../errors.ts';

export const MAX_NAME_BYTES = 255;
export const MAX_PATH_BYTES = 4096;
export const MAX_DEPTH = 256;

/** Throws INVALID_NAME unless `name` is a legal single path component. */
export function validateName(name: string): string {
  if (name.length === 0) throw mogError(ErrorCodes.INVALID_NAME, 'Empty file name');
  if (name === '.' || name === '..') throw mogError(ErrorCodes.INVALID_NAME, `"${name}" is not a valid file name`);
  if (name.includes('/')) throw mogError(ErrorCodes.INVALID_NAME, 'File names cannot contain "/"');
  // Control characters end up in other users' listings and terminals (escape sequences) and in
  // FTP replies and logs (CR, LF): refused in every door, for every new or looked-up name.
  if (/[\x00-\x1f\x7f]/.test(name)) throw mogError(ErrorCodes.INVALID_NAME, 'File names cannot contain control characters (bytes 0x00-0x1F and 0x7F)');
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES)
    throw mogError(ErrorCodes.INVALID_NAME, `File name longer than ${MAX_NAME_BYTES} bytes`);
  if (name.includes('\uFFFD')) throw mogError(ErrorCodes.INVALID_NAME, 'File name is not valid UTF-8');
  if (/[\uD800-\uDFFF]/.test(name.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '')))
    throw mogError(ErrorCodes.INVALID_NAME, 'File name is not valid UTF-8');
  return name;
}

/**
 * Resolves `path` (absolute, or relative to `cwd`) to its components below the root.
 * '.' and '..' are folded; '..' never climbs above the root (as chroot does).
 * Backslashes are ordinary characters, not separators.
 */
export function resolvePathComponents(cwd: string[], path: string): string[] {
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES)
    throw mogError(ErrorCodes.INVALID_NAME, `Path longer than ${MAX_PATH_BYTES} bytes`);
  if (path.includes('\0')) throw mogError(ErrorCodes.INVALID_NAME, 'Paths cannot contain NUL');
  const out = path.startsWith('/') ? [] : [...cwd];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      out.pop();
      continue;
    }
    out.push(validateName(part));
  }
  if (out.length > MAX_DEPTH) throw mogError(ErrorCodes.INVALID_NAME, `Path deeper than ${MAX_DEPTH} levels`);
  return out;
}

export function joinComponents(names: string[]): string {
  return '/' + names.join('/');
}
