// Opens the metadata store named by a database URL:
//   sqlite:/abs/path.db   sqlite:relative/path.db   sqlite:///abs/path.db   sqlite::memory:
//   mysql://user:pass@host:port/dbname   (mariadb:// is the same; port defaults to 3306)
//   mysql://user:pass@db1:3306,db2:3306,db3/dbname   several servers (a Galera cluster's nodes):
//     the process uses one at a time, in this order, and moves to the next when it fails
// The store comes back unmigrated: call store.migrate() before use.
import { existsSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { describeError, mogError, ErrorCodes } from '../errors.ts';
import type { LogFn } from '../log.ts';
import type { Store } from './types.ts';
import type { MysqlConfig } from './store/mysql.ts';
// The drivers are imported when a store of their kind is opened: processes that never open one
// (a storage node reads this module only for redactDbUrl) do not carry both drivers.

type DbLocation = { kind: 'sqlite'; path: string } | ({ kind: 'mysql' } & MysqlConfig);

const badUrl = (url: string, why: string) =>
  mogError(
    ErrorCodes.BAD_DB_URL,
    `Cannot use database URL "${redactDbUrl(url)}": ${why}. Expected sqlite:/path/to/file.db, sqlite::memory: or mysql://user:password@host:port/database`,
  );

/** Parses a database URL; throws BAD_DB_URL with the reason. Relative SQLite paths resolve against the working directory. */
export function parseDbUrl(url: string): DbLocation {
  if (typeof url !== 'string' || url.trim() === '') throw badUrl(String(url), 'it is empty');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'sqlite') {
    let rest = url.slice('sqlite:'.length);
    if (rest === ':memory:') return { kind: 'sqlite', path: ':memory:' };
    if (rest.startsWith('//')) {
      if (!rest.startsWith('///')) throw badUrl(url, 'a SQLite URL names a file, not a host (use sqlite:/abs/path.db)');
      rest = rest.slice(2);
    }
    if (rest === '') throw badUrl(url, 'no file name');
    if (rest.includes('\0')) throw badUrl(url, 'the path contains NUL');
    return { kind: 'sqlite', path: resolve(rest) };
  }
  if (scheme === 'mysql' || scheme === 'mariadb') {
    const hosts = splitHosts(url).map((spec) => parseHostPort(url, spec));
    let u: URL;
    try {
      u = new URL(withFirstHost(url));
    } catch {
      throw badUrl(url, 'it is not a valid URL');
    }
    const { host, port } = hosts[0]!;
    let user: string, password: string, database: string;
    try {
      user = decodeURIComponent(u.username);
      password = decodeURIComponent(u.password);
      database = decodeURIComponent(u.pathname.replace(/^\//, ''));
    } catch {
      throw badUrl(url, 'bad percent-encoding');
    }
    if (!user) throw badUrl(url, 'no user name');
    if (!database) throw badUrl(url, 'no database name');
    if (!/^[A-Za-z0-9_$-]{1,64}$/.test(database)) throw badUrl(url, `database name "${database}" must be 1-64 letters, digits, _, $ or -`);
    let connectionLimit: number | undefined, queryTimeoutMs: number | undefined;
    for (const [key, value] of u.searchParams) {
      if (key === 'queryTimeout') {
        queryTimeoutMs = Number(value) * 1000;
        if (!Number.isInteger(Number(value)) || Number(value) < 1 || Number(value) > 86_400) throw badUrl(url, 'queryTimeout must be 1-86400 (seconds)');
        continue;
      }
      if (key !== 'connectionLimit') throw badUrl(url, `unknown option "${key}" (only connectionLimit and queryTimeout are understood)`);
      connectionLimit = Number(value);
      if (!Number.isInteger(connectionLimit) || connectionLimit < 1 || connectionLimit > 1000) throw badUrl(url, 'connectionLimit must be 1-1000');
    }
    return {
      kind: 'mysql', host, port, user, password, database,
      ...(hosts.length > 1 && { hosts }),
      ...(connectionLimit !== undefined && { connectionLimit }),
      ...(queryTimeoutMs !== undefined && { queryTimeoutMs }),
    };
  }
  throw badUrl(url, scheme ? `unknown scheme "${scheme}:"` : 'no scheme');
}

/** mysql://[userinfo@]AUTHORITY/...: the parts of a URL around its comma-separated host list. */
const AUTHORITY = /^([a-z][a-z0-9+.-]*:\/\/)((?:[^/?#]*@)?)([^/?#]*)(.*)$/is;

/** The host[:port] items of a mysql:// URL's authority (one, or several separated by commas). */
function splitHosts(url: string): string[] {
  const m = AUTHORITY.exec(url);
  if (!m) throw badUrl(url, 'it is not a valid URL');
  const specs = m[3]!.split(',');
  if (specs.length > 16) throw badUrl(url, 'at most 16 database addresses');
  return specs;
}

/** The URL with only the first of its hosts: what WHATWG URL parsing accepts. */
function withFirstHost(url: string): string {
  return url.replace(AUTHORITY, (_all, scheme: string, userinfo: string, hosts: string, rest: string) => scheme + userinfo + hosts.split(',')[0] + rest);
}

function parseHostPort(url: string, spec: string): { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(`mysql://${spec}/`);
  } catch {
    throw badUrl(url, `"${spec}" is not a host or host:port`);
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host || u.username || u.password) throw badUrl(url, spec === '' ? 'no host' : `"${spec}" is not a host or host:port`);
  const port = u.port === '' ? 3306 : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw badUrl(url, `bad port ${u.port}`);
  return { host, port };
}

/**
 * The URL with `password` in place of its own (--db-password-file). Only MySQL/MariaDB URLs
 * carry a password; for any other BAD_DB_URL. The password never appears in the message.
 */
export function withDbPassword(url: string, password: string): string {
  const loc = parseDbUrl(url);
  if (loc.kind !== 'mysql') throw badUrl(url, 'a database password file is for mysql:// (or mariadb://) URLs; a SQLite database has no password');
  // Set on a one-host copy (WHATWG URL parsing takes one host), then the host list put back.
  const m = AUTHORITY.exec(url)!;
  const u = new URL(withFirstHost(url));
  u.password = encodeURIComponent(password);
  return AUTHORITY.exec(u.toString())!.slice(1, 3).join('') + m[3] + m[4];
}

/**
 * Opens the store. With createDatabase a missing MySQL database (utf8mb4, binary collation) or a
 * missing SQLite file and its directory are created. Unreachable server or failed login: DB_UNAVAILABLE.
 */
export async function openStore(url: string, opts: { createDatabase?: boolean; log?: LogFn } = {}): Promise<Store> {
  const loc = parseDbUrl(url);
  if (loc.kind === 'sqlite') {
    if (opts.createDatabase && loc.path !== ':memory:') await createPrivately(loc.path);
    // Checked here so the message names the command that makes the file.
    else if (loc.path !== ':memory:' && !existsSync(loc.path))
      throw mogError(ErrorCodes.DB_UNAVAILABLE, `There is no SQLite database at ${loc.path}: create it with 'mogftp admin --db sqlite:${loc.path} init'`);
    return (await import('./store/sqlite.ts')).openSqliteStore(loc.path, opts);
  }
  const { kind: _kind, ...cfg } = loc;
  try {
    return await (await import('./store/mysql.ts')).openMysqlStore(cfg, opts);
  } catch (err) {
    // The store's own message offers an option only this function has; name the command instead.
    if ((err as { cause?: { errno?: number } })?.cause?.errno === ER_BAD_DB_ERROR)
      throw mogError(ErrorCodes.DB_UNAVAILABLE, `The database ${cfg.database} does not exist on ${cfg.host}:${cfg.port}${cfg.hosts ? ' (the first address)' : ''}: create it with 'mogftp admin init' (or CREATE DATABASE)`, err);
    throw err;
  }
}

/** MySQL's "Unknown database". */
const ER_BAD_DB_ERROR = 1049;

/**
 * Creates a missing SQLite file 0600 and the directories above it 0700: the file holds password
 * hashes, and SQLite gives its -wal and -shm files the same mode. An existing file or directory
 * is left as the operator made it.
 */
async function createPrivately(path: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await (await open(path, 'wx', 0o600)).close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw mogError(ErrorCodes.DB_UNAVAILABLE, `Cannot create the SQLite database ${path}: ${describeError(err)}`, err);
  }
}

/** The URL with its password replaced by ***, fit for logs. */
export function redactDbUrl(url: string): string {
  // Greedy up to the last '@': a password with a stray '@' is hidden whole, never half shown.
  return String(url).replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:).*@/i, '$1***@');
}
