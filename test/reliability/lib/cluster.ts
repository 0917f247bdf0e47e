// A cluster for the reliability suite, built from the same parts as test/harness/cluster.ts but
// open at the seams the faults need: any database URL (a private MariaDB), storage nodes made
// by the caller (network namespaces, tmpfs roots), FTP front-ends in this process or as
// `mogftp ftp` processes, and the jobs with short intervals. It also looks at the nodes' disks:
// every replica file, temp file and what it should hold.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openServices, type Services } from '../../../src/daemons/services.ts';
import { startFtpServer, type FtpServerOptions, type RunningFtpServer } from '../../../src/ftp/server.ts';
import { startJobs, type JobsHandle, type JobsOptions } from '../../../src/jobs/index.ts';
import type { StorageClient } from '../../../src/storage/client.ts';
import { IN_PROGRESS_MODE, fidPath, parseFidPath } from '../../../src/storage/layout.ts';
import { resolvePathComponents } from '../../../src/tracker/names.ts';
import { hashPassword } from '../../../src/tracker/passwords.ts';
import { ROOT_ID, type FileClass } from '../../../src/tracker/types.ts';
import { createMysqlTestDb, createSqliteTestDb, type TestDb } from '../../harness/db.ts';
import { startNodeProcess, testStorageKey, testStorageKeyFile } from '../../harness/nodes.ts';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN = join(REPO, 'bin', 'mogftp.js');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` until it holds; fails with `what` after `timeoutMs`. */
export async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 30_000, stepMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(stepMs);
  }
}

/** A storage node as the cluster sees it: where it listens and where its devices live on disk. */
export interface NodeSpec {
  address: string;
  port: number;
  /** The served root (dev<N>/ directories go there). */
  root: string;
  kill?(signal?: NodeJS.Signals): Promise<void>;
  restart?(): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterNode extends NodeSpec {
  hostId: number;
  devid: number;
  devDir: string;
}

export interface ClusterOptions {
  /** 'mysql' (a fresh database on the shared server), 'sqlite', or a database made by the caller. */
  db?: 'mysql' | 'sqlite' | TestDb;
  nodes?: number;
  /** Makes node i (default: a `mogftp storage` process on 127.0.0.1). */
  makeNode?: (i: number) => Promise<NodeSpec>;
  mindevcount?: number;
  writeQuorum?: number;
  /**
   * The default nodes check the test storage key; the cluster's client and its `mogftp ftp`
   * processes sign with it. Off by default: some tests bring clients that hold no key.
   */
  auth?: boolean;
}

export interface ReplicaFile {
  devid: number;
  fid: number;
  path: string;
  size: number;
}

export interface FrontendProcess {
  port: number;
  pid: number;
  proc: ChildProcess;
  /** Resident set size in KiB. */
  rssKb(): number;
  /** Open file descriptors. */
  fds(): number;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export class Cluster {
  readonly nodes: ClusterNode[] = [];
  private readonly cleanups: Array<() => Promise<unknown>> = [];

  private constructor(
    readonly db: TestDb,
    readonly services: Services,
    readonly domainId: number,
    public cls: FileClass,
    /** The storage key file the nodes check, or null when they run with --insecure-no-auth. */
    readonly keyFile: string | null,
  ) {}

  get dbUrl(): string {
    return this.db.url;
  }
  get store() {
    return this.services.store;
  }
  get tracker() {
    return this.services.tracker;
  }

  static async start(opts: ClusterOptions = {}): Promise<Cluster> {
    const db = typeof opts.db === 'object' ? opts.db : opts.db === 'sqlite' ? await createSqliteTestDb() : await createMysqlTestDb();
    let services: Services;
    const keyFile = opts.auth ? testStorageKeyFile() : null;
    try {
      services = await openServices({ dbUrl: db.url, storageKey: keyFile ? testStorageKey() : undefined, createDatabase: true, migrate: true });
    } catch (err) {
      await db.drop().catch(() => {});
      throw err;
    }
    const { store } = services;
    const domain = await store.createDomain('default');
    let cls = (await store.getClass(domain.id, 'default'))!;
    cls = await store.updateClass(cls.id, { mindevcount: opts.mindevcount ?? 2, writeQuorum: opts.writeQuorum ?? opts.mindevcount ?? 2 });
    const c = new Cluster(db, services, domain.id, cls, keyFile);
    c.cleanups.push(() => db.drop(), () => services.close());
    try {
      await c.addUser('demo', 'demo');
      const make = opts.makeNode ?? (() => localNode(keyFile ?? undefined));
      for (let i = 0; i < (opts.nodes ?? 3); i++) await c.addNode(await make(i));
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  /** Registers a running node as a new host with one device. */
  async addNode(spec: NodeSpec): Promise<ClusterNode> {
    this.cleanups.push(() => spec.stop());
    const i = this.nodes.length + 1;
    const host = await this.store.createHost({ name: `host${i}`, address: spec.address, httpPort: spec.port });
    const dev = await this.store.createDevice({ hostId: host.id });
    const devDir = join(spec.root, `dev${dev.id}`);
    await mkdir(devDir, { recursive: true });
    const node: ClusterNode = Object.assign(spec, { hostId: host.id, devid: dev.id, devDir });
    this.nodes.push(node);
    this.tracker.invalidateDevices();
    return node;
  }

  node(devid: number): ClusterNode {
    const n = this.nodes.find((x) => x.devid === devid);
    if (!n) throw new Error(`no node with device ${devid}`);
    return n;
  }

  async addUser(name: string, password: string, o: { homeDir?: string; readOnly?: boolean; quotaBytes?: number | null } = {}): Promise<void> {
    await this.store.createUser({
      name,
      passwordHash: await hashPassword(password),
      domainId: this.domainId,
      homeDir: o.homeDir ?? '/',
      readOnly: o.readOnly ?? false,
      quotaBytes: o.quotaBytes ?? null,
    });
  }

  /** An FTP front-end in this process (on the cluster's services unless others are given). */
  async startFtp(extra: Partial<FtpServerOptions> & { client?: StorageClient } & Record<string, unknown> = {}): Promise<RunningFtpServer> {
    const ftp = await startFtpServer({ ...this.services, host: '127.0.0.1', port: 0, pasvPorts: [0, 0], ...extra } as FtpServerOptions);
    this.cleanups.push(() => ftp.close());
    return ftp;
  }

  /** `mogftp ftp` as its own process on the cluster's database. */
  async startFrontendProcess(args: string[] = [], env: Record<string, string> = {}): Promise<FrontendProcess> {
    const fe = await spawnFrontend(this.dbUrl, this.keyFile ? ['--storage-key-file', this.keyFile, ...args] : args, env);
    this.cleanups.push(() => fe.kill('SIGKILL'));
    return fe;
  }

  /** The jobs with test-speed intervals; stopped with the cluster. */
  startJobs(opts: Partial<JobsOptions> = {}): JobsHandle {
    const jobs = startJobs(this.store, {
      client: this.services.client,
      monitorIntervalMs: 500,
      pollMs: 100,
      backoffScale: 0.001,
      reaperIntervalMs: 500,
      deadSweepIntervalMs: 500,
      ...opts,
    });
    this.cleanups.push(() => jobs.stop());
    return jobs;
  }

  async fidOf(path: string): Promise<number | null> {
    const entry = await this.store.resolvePath(this.domainId, resolvePathComponents([], path));
    return entry?.fid ?? null;
  }

  /** The whole namespace as sorted lines "path kind fid size mode", for before/after comparisons. */
  async namespace(): Promise<string[]> {
    const out: string[] = [];
    const walkDir = async (id: number, prefix: string): Promise<void> => {
      let after: string | undefined;
      for (;;) {
        const page = await this.store.listDir(this.domainId, id, { after, limit: 1000 });
        for (const e of page) {
          const path = `${prefix}/${e.name}`;
          out.push(`${path} ${e.kind} ${e.fid ?? '-'} ${e.size} ${e.mode.toString(8)}`);
          if (e.kind === 'dir') await walkDir(e.id, path);
        }
        if (page.length < 1000) return;
        after = page[page.length - 1]!.name;
      }
    };
    await walkDir(ROOT_ID, '');
    return out.sort();
  }

  /** Every replica (.fid) and temp file on every node's device directory. */
  async filesOnDisk(): Promise<{ replicas: ReplicaFile[]; temps: string[] }> {
    const replicas: ReplicaFile[] = [];
    const temps: string[] = [];
    for (const node of this.nodes) {
      for (const file of await walk(node.devDir)) {
        const rel = file.slice(node.root.length);
        const parsed = parseFidPath(rel);
        // Files come and go while we look (the jobs run): what is gone by now is not counted.
        const st = await stat(file).catch(() => null);
        if (!st) continue;
        // A replica still being written (the in-progress mode) counts as a temp file, as it is one.
        if (parsed && (st.mode & 0o777) !== IN_PROGRESS_MODE) replicas.push({ ...parsed, path: file, size: st.size });
        else if (parsed || file.endsWith('.tmp')) temps.push(file);
      }
    }
    return { replicas, temps };
  }

  /** The replicas of `fid` on disk (whatever the store says), with their sha256. */
  async replicasOnDisk(fid: number): Promise<Array<{ devid: number; size: number; sha256: string }>> {
    const out = [];
    for (const node of this.nodes) {
      const file = join(node.root, fidPath(node.devid, fid));
      const st = await stat(file).catch(() => null);
      if (st) out.push({ devid: node.devid, size: st.size, sha256: await sha256File(file) });
    }
    return out;
  }

  /**
   * The file at `path` is `expect`, whole, on at least `minReplicas` devices (default
   * mindevcount), each replica the store records is on disk with the right bytes.
   */
  async checkStored(path: string, expect: { size: number; sha256: string }, minReplicas = this.cls.mindevcount): Promise<string | null> {
    const fid = await this.fidOf(path);
    if (fid === null) return `${path}: not in the namespace`;
    const file = await this.store.getFile(fid);
    if (!file) return `${path}: fid ${fid} has no file row`;
    if (file.length !== expect.size) return `${path}: length ${file.length}, expected ${expect.size}`;
    if (file.checksum !== null && file.checksum !== expect.sha256) return `${path}: recorded checksum differs`;
    const recorded = await this.store.replicasOf(fid);
    const onDisk = await this.replicasOnDisk(fid);
    for (const devid of recorded) {
      const r = onDisk.find((x) => x.devid === devid);
      if (!r) return `${path}: fid ${fid} recorded on device ${devid} but not there`;
      if (r.sha256 !== expect.sha256) return `${path}: fid ${fid} on device ${devid} has other bytes (${r.size} bytes)`;
    }
    const live = recorded.filter((d) => this.nodes.some((n) => n.devid === d));
    if (live.length < minReplicas) return `${path}: ${live.length} replicas, expected ${minReplicas}`;
    return null;
  }

  /**
   * After the delete queue drained: every replica file on disk is a recorded replica of a live
   * fid, and no temp file is left. Returns what is wrong.
   */
  async orphans(): Promise<string[]> {
    const { replicas, temps } = await this.filesOnDisk();
    const wrong = temps.map((t) => `temp file left: ${t}`);
    for (const r of replicas) {
      const file = await this.store.getFile(r.fid);
      if (!file) {
        const reserved = await this.store.getReservation(r.fid);
        wrong.push(`${r.path}: fid ${r.fid} is ${reserved ? 'an open reservation' : 'not live'}`);
      } else if (!(await this.store.replicasOf(r.fid)).includes(r.devid)) wrong.push(`${r.path}: fid ${r.fid} has no record on device ${r.devid}`);
    }
    return wrong;
  }

  /** Waits until the replicate and delete queues are empty (the jobs must be running). */
  async drained(timeoutMs = 60_000): Promise<void> {
    await until(
      'the replicate and delete queues to drain',
      async () => (await this.store.queueDepth('replicate')) === 0 && (await this.store.queueDepth('delete')) === 0,
      timeoutMs,
      200,
    );
  }

  deferCleanup(fn: () => Promise<unknown>): void {
    this.cleanups.push(fn);
  }

  async stop(): Promise<void> {
    for (const c of this.cleanups.splice(0).reverse()) await c().catch(() => {});
  }
}

/** Our storage node as a process on 127.0.0.1 (test/harness/nodes.ts), checking `keyFile` if given. */
export async function localNode(keyFile?: string): Promise<NodeSpec> {
  const h = await startNodeProcess({ keyFile });
  return {
    address: '127.0.0.1',
    get port() {
      return h.port;
    },
    root: h.root,
    kill: (s) => h.kill(s),
    restart: () => h.restart(),
    stop: () => h.stop(),
  };
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function spawnFrontend(dbUrl: string, args: string[], env: Record<string, string>): Promise<FrontendProcess> {
  const proc = spawn(
    process.execPath,
    [BIN, 'ftp', '--db', dbUrl, '--listen', '127.0.0.1:0', '--pasv-ports', '0', '--log-level', 'warn', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString('utf8')).slice(-16_000));
  proc.stderr!.on('data', keep);
  const port = await new Promise<number>((resolve, reject) => {
    let line = '';
    const timer = setTimeout(() => fail(new Error('no listening line within 30 s')), 30_000);
    const onData = (d: Buffer) => {
      keep(d);
      line += d.toString('utf8');
      const m = /mogftp ftp listening on ftp:\/\/[^\s]*:(\d+)/.exec(line);
      if (m) {
        cleanup();
        resolve(Number(m[1]));
      }
    };
    const onExit = (code: number | null) => fail(new Error(`mogftp ftp exited (${code}) before listening`));
    const cleanup = () => {
      clearTimeout(timer);
      proc.stdout!.off('data', onData);
      proc.off('exit', onExit);
      proc.stdout!.on('data', keep);
    };
    const fail = (err: Error) => {
      cleanup();
      proc.kill('SIGKILL');
      reject(new Error(`${err.message}\n${out}`));
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', onExit);
  });
  const pid = proc.pid!;
  return {
    port,
    pid,
    proc,
    rssKb: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN),
    fds: () => readdirSync(`/proc/${pid}/fd`).length,
    output: () => out,
    kill: async (signal = 'SIGTERM') => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
