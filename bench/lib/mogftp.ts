// mogftp as users run it, every part its own process: two `mogftp storage` nodes (one host and
// one device each), a database (a SQLite file, or a fresh MariaDB database dropped afterwards)
// set up through the store API, and one `mogftp ftp` front-end whose RSS can be read from /proc.
// The database and the nodes are the test harness's cluster (test/harness/cluster.ts); the
// front-end is started here, in a process group of its own, so that it can run under node flags.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT_ID, type FileClass, type Store } from '../../src/tracker/types.ts';
import { Cluster } from '../../test/harness/cluster.ts';
import { createMysqlTestDb } from '../../test/harness/db.ts';
import { waitForLine } from '../../test/harness/processes.ts';
import { insertFiles } from './bulk.ts';
import { onCleanup, startChild, stopChild } from './procs.ts';
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

export async function startMogCluster(backend: Backend, opts: { frontendFlags?: string[] } = {}): Promise<MogCluster> {
  const db = backend === 'mysql' ? await createMysqlTestDb({ prefix: 'mogftp_bench', host: MYSQL_HOST, port: MYSQL_PORT }) : 'sqlite';
  // Keyed as in production: the nodes check every request's signature, the front-end signs.
  const c = await Cluster.start({ db, nodes: 2, mindevcount: 2, writeQuorum: 2, demoUser: false });
  onCleanup(() => c.stop());
  await c.addUser(USER, PASSWORD);
  const { store, domainId, cls, devids, dbUrl } = c;
  const keyFile = c.keyFile!;

  let frontend = await startFrontend(dbUrl, keyFile, opts.frontendFlags ?? []);
  onCleanup(() => stopChild(frontend.child));
  const cluster: MogCluster = {
    name: `mogftp/${backend}`,
    backend,
    dbUrl,
    store,
    domainId,
    cls,
    devids,
    keyFile,
    port: frontend.port,
    user: USER,
    password: PASSWORD,
    pid: frontend.child.pid!,
    makeListDir: (dir, count) => cluster.bulkFiles(dir, count),
    bulkFiles: async (dir, count) => {
      const entry = await store.mkdir(domainId, ROOT_ID, dir, { mtime: Date.now() });
      await insertFiles({ dbUrl, domainId, classId: cls.id, parentId: entry.id, count, devids });
    },
    dropBigFiles: async () => {
      // Replicas of the big uploads; their metadata stays but nothing reads them again.
      for (const node of c.nodes) execFileSync('find', [node.root, '-type', 'f', '-size', '+16M', '-delete']);
    },
    restartFrontend: async (flags, env) => {
      await stopChild(frontend.child);
      frontend = await startFrontend(dbUrl, keyFile, flags, env);
      cluster.port = frontend.port;
      cluster.pid = frontend.child.pid!;
    },
    stop: async () => {
      await stopChild(frontend.child);
      await c.stop();
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
  const port = Number(await waitForLine(child, /^mogftp ftp listening on ftp:\/\/[^:]+:(\d+)$/, { timeoutMs: 30_000, what: 'mogftp ftp' }));
  return { child, port };
}
