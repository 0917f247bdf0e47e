// URLs ↔ volume paths. The server's "/" is the user's home; every path handed to the Volume is
// absolute from there ('/a/b'), so the shared per-user Volume's working directory never matters.
import { DavError } from './http.ts';

export interface RequestPath {
  /** '/' or '/a/b' with each segment percent-decoded. */
  path: string;
  trailingSlash: boolean;
}

/** The path of a request-target or a Destination/If URI (absolute URI or absolute path). */
export function parseUrlPath(raw: string): RequestPath {
  if (raw.includes('#')) throw new DavError(400, 'A request URI must not contain a fragment');
  let target = raw;
  if (/^https?:\/\//i.test(target)) {
    try {
      target = new URL(target).pathname;
    } catch {
      throw new DavError(400, `Bad URI: ${raw}`);
    }
  }
  const q = target.indexOf('?');
  if (q >= 0) target = target.slice(0, q);
  if (!target.startsWith('/')) throw new DavError(400, `Not an absolute path: ${raw}`);
  const segments: string[] = [];
  for (const seg of target.split('/')) {
    if (seg === '') continue;
    let name: string;
    try {
      name = decodeURIComponent(seg);
    } catch {
      throw new DavError(400, `Bad percent-encoding in ${raw}`);
    }
    if (name.includes('/') || name.includes('\0')) throw new DavError(400, 'File names cannot contain "/" or NUL');
    if (name === '.') continue;
    if (name === '..') segments.pop(); // never above the home, as the Volume would do
    else segments.push(name);
  }
  return { path: '/' + segments.join('/'), trailingSlash: target.endsWith('/') && segments.length > 0 };
}

/** The href of a path: each segment percent-encoded, collections with a trailing slash. */
export function hrefFor(path: string, isCollection: boolean): string {
  if (path === '/') return '/';
  const encoded = path
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
  return isCollection ? encoded + '/' : encoded;
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** True when `inner` is `outer` or lies below it. */
export function isWithin(inner: string, outer: string): boolean {
  return outer === '/' || inner === outer || inner.startsWith(outer + '/');
}
