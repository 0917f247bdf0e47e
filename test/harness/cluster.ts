// A throwaway cluster for end-to-end tests: a fresh database (SQLite or MariaDB), N real
// storage-node processes (one host each), and an FTP front-end on ephemeral ports, built with
// the same composition code the CLI uses. The nodes check the test storage key and the
// front-ends sign with it, as in production. stop() removes everything.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openServices, type Services } from '../../src/daemons/services.ts';
import { startFtpServer, type RunningFtpServer } from '../../src/ftp/server.ts';
import { fidPath } from '../../src/storage/layout.ts';
import { resolvePathComponents } from '../../src/tracker/names.ts';
import { hashPassword } from '../../src/tracker/passwords.ts';
import type { FileClass } from '../../src/tracker/types.ts';
import { createMysqlTestDb, createSqliteTestDb } from './db.ts';
import { startNodeProcess, testStorageKey, testStorageKeyFile } from './nodes.ts';

export type Backend = 'sqlite' | 'mysql';
export const BACKENDS: Backend[] = ['sqlite', 'mysql'];

type NodeProc = Awaited<ReturnType<typeof startNodeProcess>>;

export interface ClusterOptions {
  backend: Backend;
  nodes?: number;
  mindevcount?: number;
  writeQuorum?: number;
}

export interface TestCluster {
  dbUrl: string;
  /** The storage key file the nodes check (for processes started by a test: --storage-key-file). */
  keyFile: string;
  services: Services;
  nodes: Array<NodeProc & { hostId: number; devid: number }>;
  ftp: RunningFtpServer;
  port: number;
  domainId: number;
  cls: FileClass;
  /** Starts another front-end on the same database (stateless front-ends). */
  startFrontend(): Promise<RunningFtpServer>;
  addUser(name: string, password: string, opts?: { homeDir?: string; readOnly?: boolean; quotaBytes?: number | null }): Promise<void>;
  /** The fid an absolute domain path points at, or null. */
  fidOf(path: string): Promise<number | null>;
  /** Every replica of the file at `path` found on the nodes' disks, with its host and sha256. */
  replicasOnDisk(path: string): Promise<Array<{ devid: number; hostId: number; sha256: string; size: number }>>;
  stop(): Promise<void>;
}

export async function startTestCluster(opts: ClusterOptions): Promise<TestCluster> {
  const db = opts.backend === 'mysql' ? await createMysqlTestDb() : await createSqliteTestDb();
  const cleanups: Array<() => Promise<unknown>> = [() => db.drop()];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };
  try {
    const keyFile = testStorageKeyFile();
    const services = await openServices({ dbUrl: db.url, storageKey: testStorageKey(), createDatabase: true, migrate: true });
    cleanups.push(() => services.close());
    const { store } = services;
    const domain = await store.createDomain('default');
    let cls = (await store.getClass(domain.id, 'default'))!;
    cls = await store.updateClass(cls.id, { mindevcount: opts.mindevcount ?? 2, writeQuorum: opts.writeQuorum ?? opts.mindevcount ?? 2 });
    await store.createUser({ name: 'demo', passwordHash: await hashPassword('demo'), domainId: domain.id, homeDir: '/', readOnly: false, quotaBytes: null });

    const nodes: TestCluster['nodes'] = [];
    for (let i = 0; i < (opts.nodes ?? 3); i++) {
      const node = await startNodeProcess({ keyFile });
      cleanups.push(() => node.stop());
      const host = await store.createHost({ name: `host${i + 1}`, address: '127.0.0.1', httpPort: node.port });
      const dev = await store.createDevice({ hostId: host.id });
      await mkdir(join(node.root, `dev${dev.id}`), { recursive: true });
      nodes.push(Object.assign(node, { hostId: host.id, devid: dev.id }));
    }
    const startFrontend = async () => {
      const ftp = await startFtpServer({ ...services, host: '127.0.0.1', port: 0, pasvPorts: [0, 0] });
      cleanups.push(() => ftp.close());
      return ftp;
    };
    const ftp = await startFrontend();

    const fidOf = async (path: string) => {
      const entry = await store.resolvePath(domain.id, resolvePathComponents([], path));
      return entry?.fid ?? null;
    };
    return {
      dbUrl: db.url,
      keyFile,
      services,
      nodes,
      ftp,
      port: ftp.port,
      domainId: domain.id,
      cls,
      startFrontend,
      addUser: async (name, password, o = {}) => {
        await store.createUser({
          name,
          passwordHash: await hashPassword(password),
          domainId: domain.id,
          homeDir: o.homeDir ?? '/',
          readOnly: o.readOnly ?? false,
          quotaBytes: o.quotaBytes ?? null,
        });
      },
      fidOf,
      replicasOnDisk: async (path) => {
        const fid = await fidOf(path);
        if (fid === null) return [];
        const found = [];
        for (const node of nodes) {
          const file = join(node.root, fidPath(node.devid, fid));
          const st = await stat(file).catch(() => null);
          if (!st) continue;
          // A delete job running meanwhile may remove the copy between the stat and the read.
          const sha256 = await sha256File(file).catch((err: NodeJS.ErrnoException) => {
            if (err.code === 'ENOENT') return null;
            throw err;
          });
          if (sha256 === null) continue;
          found.push({ devid: node.devid, hostId: node.hostId, sha256, size: st.size });
        }
        return found;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
