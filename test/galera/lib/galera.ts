// A real three-node MariaDB Galera cluster for a test file: scripts/galera-local.sh under a temp
// root on ports of its own, databases made and dropped per test, nodes killed and rejoined.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import type { TestDb } from '../../harness/db.ts';

const SCRIPT = new URL('../../../scripts/galera-local.sh', import.meta.url).pathname;
const PROVIDER = '/usr/lib/galera/libgalera_smm.so';
const run = promisify(execFile);

/** Why the Galera tests cannot run here, or null. */
export function galeraUnavailable(): string | null {
  if (!existsSync(PROVIDER)) return `no Galera provider at ${PROVIDER} (apt-get install galera-4)`;
  if (!existsSync('/usr/sbin/mariadbd')) return 'no /usr/sbin/mariadbd (apt-get install mariadb-server)';
  if (process.getuid?.() !== 0) return 'the Galera cluster is started as root (its servers run as mysql)';
  return null;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base port whose 40 neighbours (SQL, group, IST, SST of three nodes) are all free now. */
async function freeBase(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + 40 * Math.floor(Math.random() * 700);
    const ports = [1, 2, 3].flatMap((n) => [base + n, base + 10 + n, base + 20 + n, base + 30 + n]);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('no free port range for the Galera cluster');
}

export class Galera {
  private constructor(
    readonly root: string,
    readonly base: number,
    /** A cluster this test did not start (MOGFTP_TEST_GALERA): left running at the end. */
    private readonly borrowed = false,
  ) {}

  /**
   * Starts a cluster of its own; or, with MOGFTP_TEST_GALERA=ROOT:BASE, uses the one that
   * `GALERA_ROOT=ROOT GALERA_PORT_BASE=BASE scripts/galera-local.sh start` left running.
   */
  static async start(): Promise<Galera> {
    const shared = /^(\/[^:]+):(\d+)$/.exec(process.env.MOGFTP_TEST_GALERA ?? '');
    if (shared) {
      const g = new Galera(shared[1]!, Number(shared[2]), true);
      await g.script('start'); // starts whatever node is down, waits until all are synced
      return g;
    }
    const root = await mkdtemp(join(tmpdir(), 'mogftp-galera-'));
    const g = new Galera(root, await freeBase());
    try {
      await g.script('start');
    } catch (err) {
      await g.destroy();
      throw err;
    }
    return g;
  }

  /** Runs the script with this cluster's root and ports; its output. */
  async script(...args: string[]): Promise<string> {
    const env = { ...process.env, GALERA_ROOT: this.root, GALERA_PORT_BASE: String(this.base) };
    const { stdout } = await run('bash', [SCRIPT, ...args], { env, timeout: 180_000 });
    return stdout;
  }

  /** Node n's SQL port (n = 1..3). */
  port(n: number): number {
    return this.base + n;
  }

  /** A URL naming the given nodes, in this order; `query` is appended (e.g. 'queryTimeout=10'). */
  url(database: string, nodes: number[] = [1, 2, 3], query = ''): string {
    return `mysql://root@${nodes.map((n) => `127.0.0.1:${this.port(n)}`).join(',')}/${database}${query ? `?${query}` : ''}`;
  }

  /** A direct connection to node n (tests look at what one node has). */
  connect(n: number, database?: string): Promise<mysql.Connection> {
    return mysql.createConnection({ host: '127.0.0.1', port: this.port(n), user: 'root', password: '', database, connectTimeout: 5000 });
  }

  /** A fresh database (made on node 1, replicated to all), with the URL naming all three nodes. */
  async createDb(prefix = 'mogftp_galera'): Promise<TestDb & { name: string }> {
    const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
    const c = await this.connect(1);
    try {
      await c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    } finally {
      await c.end();
    }
    // Replicated, but applied on the other nodes a moment later: wait until each has it.
    for (const n of [2, 3]) {
      const other = await this.connect(n);
      try {
        await other.query('SET SESSION wsrep_sync_wait = 15');
        await other.query('SHOW DATABASES');
      } finally {
        await other.end();
      }
    }
    return {
      name,
      url: this.url(name),
      drop: async () => {
        for (const n of [1, 2, 3]) {
          const d = await this.connect(n).catch(() => null);
          if (!d) continue;
          try {
            await d.query(`DROP DATABASE IF EXISTS \`${name}\``);
            return;
          } finally {
            await d.end();
          }
        }
      },
    };
  }

  /** SHOW GLOBAL STATUS value of node n. */
  async status(n: number, variable: string): Promise<string> {
    const c = await this.connect(n);
    try {
      const [rows] = await c.query('SHOW GLOBAL STATUS LIKE ?', [variable]);
      return String((rows as Array<{ Value: unknown }>)[0]?.Value ?? '');
    } finally {
      await c.end();
    }
  }

  kill(n: number): Promise<string> {
    return this.script('kill', String(n));
  }

  /** SIGSTOP node n: a hung server, its connections open and silent. */
  pause(n: number): Promise<string> {
    return this.script('pause', String(n));
  }

  /** SIGCONT node n and wait until it is Synced again. */
  resume(n: number): Promise<string> {
    return this.script('resume', String(n));
  }

  /** Starts node n again and waits until it has caught up (Synced). */
  rejoin(n: number): Promise<string> {
    return this.script('rejoin', String(n));
  }

  async destroy(): Promise<void> {
    if (this.borrowed) return;
    await this.script('clean').catch(() => undefined);
    await rm(this.root, { recursive: true, force: true });
  }
}
