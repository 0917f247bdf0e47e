// MogileFS keys as mogftp paths. A MogileFS key is any byte string (up to 255 bytes in its
// schema); in mogftp it names a file: the key `photos/2006/a.jpg` in domain `d` is the file
// /photos/2006/a.jpg of domain `d`, so FTP, WebDAV and the tracker protocol see one namespace.
// A key that cannot be a path (empty components, `.`/`..`, control bytes, over-long names,
// invalid UTF-8, or one that clashes with another key's directories) lives instead under one
// documented directory, /.mogilefs-keys, with a reversible escaped name: base64url of its bytes,
// cut into directory components of at most 200 characters, the last ending in `.k`. The `.k`
// keeps a file from ever sharing a name with a directory of a longer escaped key.
import { MAX_DEPTH, MAX_PATH_BYTES, validateName } from '../tracker/names.ts';

/** The top-level directory that holds keys with no path of their own. */
export const ESCAPED_KEYS_DIR = '.mogilefs-keys';
const CHUNK = 200;
const LAST = '.k';
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Where a key lives: its path components below the domain's root, and whether they are the escaped form. */
export interface KeyPlace {
  names: string[];
  escaped: boolean;
}

/** The key's own path when it can be one, else its escaped place. */
export function placeOfKey(key: Buffer): KeyPlace {
  const names = directNames(key);
  return names ? { names, escaped: false } : { names: escapedNames(key), escaped: true };
}

/**
 * The escaped place of a key, also for keys that could be paths: the importer and the tracker
 * put a key there when its own path is taken by a directory (a key that is also a prefix of
 * another key, `a` beside `a/b`).
 */
export function escapedNames(key: Buffer): string[] {
  const text = key.toString('base64url');
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += CHUNK) chunks.push(text.slice(i, i + CHUNK));
  if (chunks.length === 0) chunks.push('');
  chunks[chunks.length - 1] += LAST;
  return [ESCAPED_KEYS_DIR, ...chunks];
}

/** The key a file's path components name (the inverse of placeOfKey and escapedNames). */
export function keyOfNames(names: string[]): Buffer {
  if (names[0] === ESCAPED_KEYS_DIR && names.length > 1 && names[names.length - 1]!.endsWith(LAST)) {
    const text = names.slice(1).join('').slice(0, -LAST.length);
    if (/^[A-Za-z0-9_-]*$/.test(text)) return Buffer.from(text, 'base64url');
  }
  return Buffer.from(names.join('/'), 'utf8');
}

/** The components of a key that is a valid path of its own, or null. */
function directNames(key: Buffer): string[] | null {
  if (key.length === 0 || key.length > MAX_PATH_BYTES) return null;
  let text: string;
  try {
    text = utf8.decode(key);
  } catch {
    return null; // not UTF-8: names are UTF-8 text in every door
  }
  const names = text.split('/');
  if (names.length > MAX_DEPTH || names[0] === ESCAPED_KEYS_DIR) return null;
  for (const name of names) {
    try {
      validateName(name);
    } catch {
      return null; // empty component, '.', '..', a control byte, or a name over 255 bytes
    }
  }
  return names;
}
