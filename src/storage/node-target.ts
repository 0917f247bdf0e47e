// Which paths a storage node serves. The request target is matched as raw text against a
// closed set of shapes (no percent-decoding, no normalising), so `..`, `%2e%2e`, encoded
// slashes, doubled slashes and absolute-form URIs never match and are refused before any
// file-system call.
import { parseFidPath } from './layout.ts';

export type Target =
  /** A replica: `/dev7/0/000/000/0000000123.fid`; rel is relative to the device directory. */
  | { kind: 'fid'; devid: number; rel: string }
  /** The monitor's scratch file: `/dev7/test-write/test-write-<digits>`. */
  | { kind: 'test-write'; devid: number; rel: string }
  /** MogileFS usage lines: `/dev7/usage`. */
  | { kind: 'usage'; devid: number }
  /** A directory of the layout (for MKCOL from WebDAV-minded clients): `/dev7/0/000/`. */
  | { kind: 'dir'; devid: number; rel: string };

const DEV = '/dev([1-9][0-9]{0,9})';
const USAGE = new RegExp(`^${DEV}/usage$`);
const TEST_WRITE = new RegExp(`^${DEV}/(test-write/test-write-[0-9]{1,40})$`);
const DIR = new RegExp(`^${DEV}(?:/([0-9](?:/[0-9]{3}){0,2}|test-write))?/?$`);

/** Parses a raw request target (path and optional query); null for anything outside the layout. */
export function parseTarget(rawUrl: string): Target | null {
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  if (!path.startsWith('/dev')) return null;

  const fid = parseFidPath(path);
  if (fid) return { kind: 'fid', devid: fid.devid, rel: path.slice(path.indexOf('/', 1) + 1) };

  let m = USAGE.exec(path);
  if (m) return { kind: 'usage', devid: Number(m[1]) };
  m = TEST_WRITE.exec(path);
  if (m) return { kind: 'test-write', devid: Number(m[1]), rel: m[2]! };
  m = DIR.exec(path);
  if (m) return { kind: 'dir', devid: Number(m[1]), rel: m[2] ?? '' };
  return null;
}
