// A private MariaDB server for tests that stop and restart their database: its own data
// directory, port and socket under a temp directory, grant tables skipped (any user may connect,
// loopback only). The shared server on 3306 is never touched.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { freePort } from '../../harness/nodes.ts';
import type { TestDb } from '../../harness/db.ts';

const exec = promisify(execFile);

export interface PrivateMariadb {
  port: number;
  /** A TestDb for `database` on this server; drop() stops the server and removes its files. */
  db(database: string): TestDb;
  stop(): Promise<void>;
  start(): Promise<void>;
  running(): boolean;
  destroy(): Promise<void>;
}

function which(name: string): string | null {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) if (existsSync(join(dir, name))) return join(dir, name);
  return null;
}

/** Null when a private server can be run here, else why not. */
export function mariadbUnavailable(): string | null {
  if (!which('mariadbd') && !which('mysqld')) return 'no mariadbd binary';
  if (!which('mariadb-install-db') && !which('mysql_install_db')) return 'no mariadb-install-db';
  return null;
}

export async function startPrivateMariadb(): Promise<PrivateMariadb> {
  const server = which('mariadbd') ?? which('mysqld')!;
  const install = which('mariadb-install-db') ?? which('mysql_install_db')!;
  const base = await mkdtemp(join(tmpdir(), 'mogftp-mariadb-'));
  const dataDir = join(base, 'data');
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  await exec(install, ['--no-defaults', `--datadir=${dataDir}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...asRoot], { timeout: 60_000 });
  const port = await freePort();
  let proc: ChildProcess | null = null;

  const start = async () => {
    const p = spawn(
      server,
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(base, 'sock')}`,
        `--pid-file=${join(base, 'pid')}`,
        `--log-error=${join(base, 'error.log')}`,
        '--skip-grant-tables',
        '--innodb-buffer-pool-size=32M',
        '--max-connections=500',
        ...asRoot,
      ],
      { stdio: 'ignore' },
    );
    proc = p;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (p.exitCode !== null) throw new Error(`mariadbd exited (${p.exitCode})\n${await readFile(join(base, 'error.log'), 'utf8').catch(() => '')}`);
      try {
        const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 1000 });
        await c.query('SELECT 1');
        await c.end();
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`mariadbd did not answer on ${port} within 30 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const stop = async () => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(t);
  };
  const destroy = async () => {
    await stop();
    await rm(base, { recursive: true, force: true });
  };
  process.once('exit', () => (proc as ChildProcess | null)?.kill('SIGKILL'));
  try {
    await start();
  } catch (err) {
    await destroy();
    throw err;
  }
  return {
    port,
    db: (database) => ({ url: `mysql://root@127.0.0.1:${port}/${database}`, drop: destroy }),
    stop,
    start,
    running: () => proc !== null,
    destroy,
  };
}
