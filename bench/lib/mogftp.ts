// mogftp as users run it, every part its own process: two `mogftp storage` nodes (one host and
// one device each), a database (a SQLite file, or a fresh MariaDB database dropped afterwards)
// set up through the store API, and one `mogftp ftp` front-end whose RSS can be read from /proc.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { ensureStorageKeyFile } from '../../src/storage/auth.ts';
import { hashPassword } from '../../src/tracker/passwords.ts';
import { openStore } from '../../src/tracker/open.ts';
import { ROOT_ID, type FileClass, type Store } from '../../src/tracker/types.ts';
import { insertFiles } from './bulk.ts';
import { onCleanup, startChild, stopChild, tempDir, waitForLine } from './procs.ts';
import { PASSWORD, REPO, USER, type BenchServer } from './servers.ts';

export type Backend = 'sqlite' | 'mysql';

export const MYSQL_HOST = process.env.MOGFTP_BENCH_MYSQL_HOST ?? '127.0.0.1';
export const MYSQL_PORT = Number(process.env.MOGFTP_BENCH_MYSQL_PORT ?? 3306);
const BIN = join(REPO, 'bin', 'mogftp.js');

export interface MogCluster extends BenchServer {
  backend: Backend;
  dbUrl: string;
  store: Store;
  domainId: number;
  cls: FileClass;
  devids: number[];
  /** The cluster's storage key file (in-process clients sign their node requests with it). */
  keyFile: string;
  /** Restarts the front-end with extra node flags (e.g. --cpu-prof); resolves with the new port. */
  restartFrontend(nodeFlags: string[], env?: Record<string, string>): Promise<void>;
  /** Creates a top-level directory with `count` committed files in it, in bulk SQL. */
  bulkFiles(dir: string, count: number): Promise<void>;
}

async function createDatabase(backend: Backend, base: string): Promise<string> {
  if (backend === 'sqlite') return `sqlite:${join(base, 'meta.db')}`;
  const name = `mogftp_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = { host: MYSQL_HOST, port: MYSQL_PORT, user: 'root', password: '' };
  const c = await mysql.createConnection(admin);
  try {
    await c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await c.end();
  }
  onCleanup(async () => {
    const d = await mysql.createConnection(admin);
    try {
      await d.query(`DROP DATABASE IF EXISTS \`${name}\``);
    } finally {
      await d.end();
    }
  });
  return `mysql://root@${MYSQL_HOST}:${MYSQL_PORT}/${name}`;
}

export async function startMogCluster(backend: Backend, opts: { frontendFlags?: string[] } = {}): Promise<MogCluster> {
  const base = tempDir(`mogftp-bench-${backend}-`);
  const dbUrl = await createDatabase(backend, base);
  const store = await openStore(dbUrl, { createDatabase: true });
  onCleanup(() => store.close());
  await store.migrate();
  const domain = await store.createDomain('default');
  let cls = (await store.getClass(domain.id, 'default'))!;
  cls = await store.updateClass(cls.id, { mindevcount: 2, writeQuorum: 2 });
  await store.createUser({ name: USER, passwordHash: await hashPassword(PASSWORD), domainId: domain.id, homeDir: '/', readOnly: false, quotaBytes: null });

  // Keyed as in production: the nodes check every request's signature, the front-end signs.
  const keyFile = join(base, 'storage.key');
  await ensureStorageKeyFile(keyFile);
  const nodeRoots: string[] = [];
  const devids: number[] = [];
  const nodes = await Promise.all(
    [1, 2].map(async (i) => {
      const root = join(base, `node${i}`);
      mkdirSync(root);
      const child = startChild(process.execPath, [BIN, 'storage', '--root', root, '--listen', '127.0.0.1:0', '--grace', '1', '--key-file', keyFile], { cwd: REPO });
      const url = await waitForLine(child, /^mogftp storage listening on (http:\/\/\S+)$/, 30_000, `storage node ${i}`);
      return { i, root, child, port: Number(new URL(url).port) };
    }),
  );
  for (const n of nodes) {
    const host = await store.createHost({ name: `node${n.i}`, address: '127.0.0.1', httpPort: n.port });
    const dev = await store.createDevice({ hostId: host.id });
    mkdirSync(join(n.root, `dev${dev.id}`));
    nodeRoots.push(n.root);
    devids.push(dev.id);
  }

  let frontend = await startFrontend(dbUrl, keyFile, opts.frontendFlags ?? []);
  const cluster: MogCluster = {
    name: `mogftp/${backend}`,
    backend,
    dbUrl,
    store,
    domainId: domain.id,
    cls,
    devids,
    keyFile,
    port: frontend.port,
    user: USER,
    password: PASSWORD,
    pid: frontend.child.pid!,
    makeListDir: (dir, count) => cluster.bulkFiles(dir, count),
    bulkFiles: async (dir, count) => {
      const entry = await store.mkdir(domain.id, ROOT_ID, dir, { mtime: Date.now() });
      await insertFiles({ dbUrl, domainId: domain.id, classId: cls.id, parentId: entry.id, count, devids });
    },
    dropBigFiles: async () => {
      // Replicas of the big uploads; their metadata stays but nothing reads them again.
      for (const root of nodeRoots) execFileSync('find', [root, '-type', 'f', '-size', '+16M', '-delete']);
    },
    restartFrontend: async (flags, env) => {
      await stopChild(frontend.child);
      frontend = await startFrontend(dbUrl, keyFile, flags, env);
      cluster.port = frontend.port;
      cluster.pid = frontend.child.pid!;
    },
    stop: async () => {
      await stopChild(frontend.child);
      await Promise.all(nodes.map((n) => stopChild(n.child)));
    },
  };
  return cluster;
}

async function startFrontend(dbUrl: string, keyFile: string, nodeFlags: string[], env: Record<string, string> = {}) {
  const child = startChild(
    process.execPath,
    [...nodeFlags, BIN, 'ftp', '--db', dbUrl, '--storage-key-file', keyFile, '--listen', '127.0.0.1:0', '--pasv-ports', '0', '--log-level', 'warn'],
    { cwd: REPO, env: { ...process.env, ...env } },
  );
  const port = Number(await waitForLine(child, /^mogftp ftp listening on ftp:\/\/[^:]+:(\d+)$/, 30_000, 'mogftp ftp'));
  return { child, port };
}
