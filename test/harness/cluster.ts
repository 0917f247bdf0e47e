// The one test cluster: a fresh database (SQLite, MariaDB, or one the caller made), real storage
// nodes (`mogftp storage` or nginx processes, or nodes the caller makes: network namespaces,
// tmpfs roots), a domain and a class, built with the same composition code the CLI uses
// (openServices). On top, as a test asks: FTP and WebDAV front-ends in this process or as
// `mogftp ftp|dav` processes, and the jobs at test speed. By default the nodes check the test
// storage key and everything the cluster starts signs with it, as in production.
//
// In a suite, useCluster(opts) starts it before the tests and stops it after them; elsewhere
// Cluster.start(opts) and stop(). Uploads made the way a front-end makes them and looks at the
// nodes' disks are in cluster-files.ts; stop() removes everything.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { openServices, type Services } from '../../src/daemons/services.ts';
// The FTP and WebDAV servers are imported when a suite starts one (startFtp, startDav): about 0.15
// and 0.2 s of CPU in each test process that would load them for nothing.
import type { DavServerOptions, RunningDavServer } from '../../src/dav/server.ts';
import type { FtpServerOptions, RunningFtpServer } from '../../src/ftp/server.ts';
import { startJobs, type JobsHandle, type JobsOptions } from '../../src/jobs/index.ts';
import { StorageClient, type StorageClientOptions } from '../../src/storage/client.ts';
import { hashPassword, isWeakerThanCurrent } from '../../src/tracker/passwords.ts';
import type { FileClass, Store } from '../../src/tracker/types.ts';
import { ClusterFiles } from './cluster-files.ts';
import { startDaemonProcess, type DaemonProcess } from './daemons.ts';
import { createMysqlTestDb, createSqliteTestDb, type TestDb } from './db.ts';
import { startNginxNode, startNodeProcess, testStorageKey, testStorageKeyFile, type NodeHandle } from './nodes.ts';
import { selfSignedTls } from './tls.ts';

export type Backend = 'sqlite' | 'mysql';
export const BACKENDS: Backend[] = ['sqlite', 'mysql'];

/** A storage node as the cluster sees it: where it listens and where its devices live on disk. */
export interface NodeSpec {
  address: string;
  readonly port: number;
  /** The served root (dev<N>/ directories go there). */
  root: string;
  kill?(signal?: NodeJS.Signals): Promise<void>;
  restart?(): Promise<void>;
  stop(): Promise<void>;
}

/** The cluster's own nodes: test/harness/nodes.ts processes on 127.0.0.1. */
export type LocalNode = NodeHandle & { address: string };

/** A node registered as a host with one device (more with addDevice). */
export type ClusterNode<N extends NodeSpec = LocalNode> = N & { hostId: number; devid: number; devDir: string };

/** An in-process FTP front-end's options beyond the cluster's services (a client of its own, hooks...). */
export type FtpExtra = Partial<FtpServerOptions> & { client?: StorageClient } & Record<string, unknown>;

export interface ClusterOptions<N extends NodeSpec = LocalNode> {
  /** A fresh database on the shared MariaDB or in a SQLite file, or one the caller made. Default sqlite. */
  db?: Backend | TestDb;
  /** How many nodes, each its own host with one device. Default 3. */
  nodes?: number;
  /** Which of the cluster's own nodes (0-based) are nginx instead of `mogftp storage`. */
  nginx?: number[];
  /** Makes node i instead (started one after another, in order). */
  makeNode?: (i: number) => Promise<N>;
  /** The domain's name. Default 'default'. */
  domain?: string;
  /** New files' class: the domain's default class, or (named) a class made for the test. */
  className?: string;
  /** The class's copies. Default 2. */
  mindevcount?: number;
  /** Copies an upload waits for. Default mindevcount. */
  writeQuorum?: number;
  /** A user demo/demo with the whole domain. Default true. */
  demoUser?: boolean;
  /**
   * The cluster's own nodes check the test storage key; its clients, front-ends and daemon
   * processes sign with it. Default true. Off: nodes run with --insecure-no-auth, for tests that
   * bring clients or processes holding no key.
   */
  auth?: boolean;
  /** The cluster's client gets these instead of the services' defaults (the jobs tests' short ones). */
  clientTimeouts?: Pick<StorageClientOptions, 'connectTimeoutMs' | 'idleTimeoutMs'>;
  /** An FTP front-end in this process, started with the cluster (c.ftp, c.port). */
  ftp?: boolean | FtpExtra;
  /** That front-end also offers explicit FTPS, with a fresh self-signed pair made in c.tmpDir. */
  ftps?: boolean;
  /** A WebDAV front-end in this process (c.dav); its options are also the defaults of startDav(). */
  dav?: boolean | Partial<DavServerOptions>;
  /** What startJobs() runs with unless told otherwise. Default TEST_JOBS. */
  jobs?: Partial<JobsOptions>;
  /** A scratch directory for the test's own files (c.tmpDir), named with this prefix, removed at stop. */
  tmpDir?: string;
}

/** The jobs at test speed, the device monitor included. */
export const TEST_JOBS: Partial<JobsOptions> = { monitorIntervalMs: 500, pollMs: 100, backoffScale: 0.001, reaperIntervalMs: 500, deadSweepIntervalMs: 500 };

/**
 * The jobs tests' cluster: a 'jobs' domain whose files get class 'two' (write quorum 1), no
 * users, unkeyed nodes (those tests start jobs processes and clients of their own, given no
 * key), a client with short timeouts, and jobs faster still, without a monitor.
 */
export const JOBS_TEST_CLUSTER = {
  domain: 'jobs',
  className: 'two',
  writeQuorum: 1,
  demoUser: false,
  auth: false,
  clientTimeouts: { connectTimeoutMs: 1000, idleTimeoutMs: 5000 },
  jobs: {
    monitor: false,
    pollMs: 25,
    backoffScale: 0.0005,
    reaperIntervalMs: 100,
    deadSweepIntervalMs: 100,
    drainSweepIntervalMs: 100,
    fsckFeedIntervalMs: 100,
    concurrency: 4,
  },
} satisfies ClusterOptions;

interface Started {
  db: TestDb;
  services: Services;
  client: StorageClient;
  keyFile: string | null;
  domainId: number;
  cls: FileClass;
  ftp: RunningFtpServer | null;
  dav: RunningDavServer | null;
  tmpDir: string | null;
}

export class Cluster<N extends NodeSpec = LocalNode> extends ClusterFiles<ClusterNode<N>> {
  readonly nodes: Array<ClusterNode<N>> = [];
  private readonly extraDevices = new Map<number, ClusterNode<N>>();
  private readonly cleanups: Array<() => Promise<unknown>> = [];
  private readonly firstAtStop: Array<() => Promise<unknown> | unknown> = [];
  private s: Started | null = null;

  constructor(private readonly opts: ClusterOptions<N> = {}) {
    super();
  }

  static async start<N extends NodeSpec = LocalNode>(opts: ClusterOptions<N> = {}): Promise<Cluster<N>> {
    const c = new Cluster<N>(opts);
    await c.start();
    return c;
  }

  private get started(): Started {
    if (!this.s) throw new Error('the test cluster is not started (yet)');
    return this.s;
  }
  get db(): TestDb {
    return this.started.db;
  }
  get dbUrl(): string {
    return this.started.db.url;
  }
  get services(): Services {
    return this.started.services;
  }
  get store(): Store {
    return this.started.services.store;
  }
  get tracker() {
    return this.started.services.tracker;
  }
  /** The storage client the jobs and the helpers use (the services' one unless clientTimeouts). */
  get client(): StorageClient {
    return this.started.client;
  }
  /** The storage key file the nodes check, or null when they run with --insecure-no-auth. */
  get keyFile(): string | null {
    return this.started.keyFile;
  }
  get domainId(): number {
    return this.started.domainId;
  }
  /** The class new files get. */
  get cls(): FileClass {
    return this.started.cls;
  }
  /** The FTP front-end started with the cluster (option ftp). */
  get ftp(): RunningFtpServer {
    if (!this.started.ftp) throw new Error('the cluster was started without ftp');
    return this.started.ftp;
  }
  get port(): number {
    return this.ftp.port;
  }
  /** The WebDAV front-end started with the cluster (option dav). */
  get dav(): RunningDavServer {
    if (!this.started.dav) throw new Error('the cluster was started without dav');
    return this.started.dav;
  }
  /** The scratch directory (option tmpDir). */
  get tmpDir(): string {
    if (!this.started.tmpDir) throw new Error('the cluster was started without tmpDir');
    return this.started.tmpDir;
  }
  /** The first device of each node, in node order. */
  get devids(): number[] {
    return this.nodes.map((n) => n.devid);
  }

  async start(): Promise<this> {
    const o = this.opts;
    const db = typeof o.db === 'object' ? o.db : o.db === 'mysql' ? await createMysqlTestDb() : await createSqliteTestDb();
    this.cleanups.push(() => db.drop());
    try {
      const keyFile = o.auth === false ? null : testStorageKeyFile();
      const storageKey = keyFile ? testStorageKey() : undefined;
      const services = await openServices({ dbUrl: db.url, storageKey, createDatabase: true, migrate: true });
      this.cleanups.push(() => services.close());
      const client = o.clientTimeouts ? new StorageClient({ ...o.clientTimeouts, key: storageKey }) : services.client;
      if (client !== services.client) this.cleanups.push(async () => client.close());
      const { domainId, cls } = await this.createDomain(services.store);
      this.s = { db, services, client, keyFile, domainId, cls, ftp: null, dav: null, tmpDir: null };
      if (o.tmpDir) this.s.tmpDir = await this.makeTmpDir(o.tmpDir);
      if (o.demoUser !== false) await this.addUser('demo', 'demo');
      await this.startNodes();
      if (o.ftp) this.s.ftp = await this.startFtp({ ...(o.ftps ? await selfSignedTls(this.tmpDir) : {}), ...(o.ftp === true ? {} : o.ftp) });
      if (o.dav) this.s.dav = await this.startDav();
    } catch (err) {
      await this.stop();
      throw err;
    }
    return this;
  }

  private async createDomain(store: Store): Promise<{ domainId: number; cls: FileClass }> {
    const o = this.opts;
    const domain = await store.createDomain(o.domain ?? 'default');
    const counts = { mindevcount: o.mindevcount ?? 2, writeQuorum: o.writeQuorum ?? o.mindevcount ?? 2 };
    if (o.className) return { domainId: domain.id, cls: await store.createClass(domain.id, o.className, counts) };
    const cls = (await store.getClass(domain.id, 'default'))!;
    return { domainId: domain.id, cls: await store.updateClass(cls.id, counts) };
  }

  private async makeTmpDir(prefix: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  /** The caller's nodes one after another; ours all at once, registered in order when all are up. */
  private async startNodes(): Promise<void> {
    const count = this.opts.nodes ?? 3;
    const make = this.opts.makeNode;
    if (make) {
      for (let i = 0; i < count; i++) await this.addNode(await make(i));
      return;
    }
    const keyFile = this.keyFile ?? undefined;
    const starting = Array.from({ length: count }, (_, i) => (this.opts.nginx?.includes(i) ? startNginxNode({ keyFile }) : startNodeProcess({ keyFile })));
    const settled = await Promise.allSettled(starting);
    for (const r of settled) if (r.status === 'fulfilled') this.cleanups.push(() => r.value.stop());
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (const r of settled) await this.registerNode(Object.assign((r as PromiseFulfilledResult<NodeHandle>).value, { address: '127.0.0.1' }) as unknown as N);
  }

  /** Registers a running node as a new host with one device; the cluster stops it at the end. */
  async addNode(spec: N): Promise<ClusterNode<N>> {
    this.cleanups.push(() => spec.stop());
    return this.registerNode(spec);
  }

  private async registerNode(spec: N): Promise<ClusterNode<N>> {
    const host = await this.store.createHost({ name: `host${this.nodes.length + 1}`, address: spec.address, httpPort: spec.port });
    const dev = await this.store.createDevice({ hostId: host.id });
    const devDir = join(spec.root, `dev${dev.id}`);
    await mkdir(devDir, { recursive: true });
    const node = Object.assign(spec, { hostId: host.id, devid: dev.id, devDir }) as ClusterNode<N>;
    this.nodes.push(node);
    this.tracker.invalidateDevices();
    return node;
  }

  /** A further device on `on`'s host and node. */
  async addDevice(on: ClusterNode<N>): Promise<number> {
    const dev = await this.store.createDevice({ hostId: on.hostId });
    await mkdir(join(on.root, `dev${dev.id}`), { recursive: true });
    this.extraDevices.set(dev.id, on);
    this.tracker.invalidateDevices();
    return dev.id;
  }

  /** The node holding a device (its first one, or one added with addDevice). */
  node(devid: number): ClusterNode<N> {
    const n = this.nodes.find((x) => x.devid === devid) ?? this.extraDevices.get(devid);
    if (!n) throw new Error(`no node holds device ${devid}`);
    return n;
  }

  async addUser(name: string, password: string, o: { homeDir?: string; readOnly?: boolean; quotaBytes?: number | null } = {}): Promise<void> {
    await this.store.createUser({
      name,
      passwordHash: await testHash(password),
      domainId: this.domainId,
      homeDir: o.homeDir ?? '/',
      readOnly: o.readOnly ?? false,
      quotaBytes: o.quotaBytes ?? null,
    });
  }

  /** An FTP front-end in this process (on the cluster's services unless others are given). */
  async startFtp(extra: FtpExtra = {}): Promise<RunningFtpServer> {
    const { startFtpServer } = await import('../../src/ftp/server.ts');
    const ftp = await startFtpServer({ ...this.services, host: '127.0.0.1', port: 0, pasvPorts: [0, 0], ...extra } as FtpServerOptions);
    this.cleanups.push(() => ftp.close());
    return ftp;
  }

  /** A WebDAV front-end in this process on the same database (as behind a load balancer). */
  async startDav(o: Partial<DavServerOptions> = {}): Promise<RunningDavServer> {
    const defaults = typeof this.opts.dav === 'object' ? this.opts.dav : {};
    const { startDavServer } = await import('../../src/dav/server.ts');
    const dav = await startDavServer({ store: this.services.store, tracker: this.tracker, client: this.services.client, host: '127.0.0.1', port: 0, ...defaults, ...o });
    this.cleanups.push(() => dav.close());
    return dav;
  }

  /** `mogftp ftp` as its own process on the cluster's database. */
  startFrontendProcess(args: string[] = [], env: Record<string, string> = {}): Promise<DaemonProcess> {
    return this.startDaemon('ftp', args, env);
  }

  /** `mogftp dav` as its own process on the cluster's database. */
  startDavProcess(args: string[] = [], env: Record<string, string> = {}): Promise<DaemonProcess> {
    return this.startDaemon('dav', args, env);
  }

  /** `mogftp sftp` as its own process on the cluster's database (pass --host-key). */
  startSftpProcess(args: string[] = [], env: Record<string, string> = {}): Promise<DaemonProcess> {
    return this.startDaemon('sftp', args, env);
  }

  private async startDaemon(kind: 'ftp' | 'dav' | 'sftp', args: string[], env: Record<string, string>): Promise<DaemonProcess> {
    const keyArgs = this.keyFile ? ['--storage-key-file', this.keyFile] : [];
    const p = await startDaemonProcess(kind, this.dbUrl, [...keyArgs, ...args], env);
    this.cleanups.push(() => p.kill('SIGKILL'));
    return p;
  }

  /** The jobs (by default at the cluster's test speed), stopped with the cluster. */
  startJobs(opts: Partial<JobsOptions> = {}): JobsHandle {
    const jobs = startJobs(this.store, { client: this.client, ...(this.opts.jobs ?? TEST_JOBS), ...opts });
    this.cleanups.push(() => jobs.stop());
    return jobs;
  }

  /** Runs `fn` when the cluster stops (before what was started earlier is stopped). */
  deferCleanup(fn: () => Promise<unknown>): void {
    this.cleanups.push(fn);
  }

  /**
   * Runs `fn` first when the cluster stops, while all of it still runs: a suite's own teardown
   * (processes and servers on the cluster's database), since useCluster's after hook runs before
   * any the suite declares later.
   */
  onStop(fn: () => Promise<unknown> | unknown): void {
    this.firstAtStop.push(fn);
  }

  /** Stops everything started, newest first, and removes the database and the nodes' files. */
  async stop(): Promise<void> {
    try {
      for (const fn of this.firstAtStop.splice(0)) await fn();
    } finally {
      for (const c of this.cleanups.splice(0).reverse()) await c().catch(() => {});
    }
  }
}

/** A cluster started before a suite's tests and stopped after them (node:test hooks). */
export function useCluster<N extends NodeSpec = LocalNode>(opts: ClusterOptions<N> = {}): Cluster<N> {
  const c = new Cluster<N>(opts);
  before(() => c.start());
  after(() => c.stop());
  return c;
}

/**
 * demo's password hashed by hashPassword at today's parameters (a real scrypt hash: logins verify
 * it at full cost, as any other). Made once here instead of at every cluster start, where it cost
 * half a second of a core and 128 MiB each time; should the product raise its parameters, the
 * hash is made afresh again, so no login ever re-hashes it.
 */
const DEMO_HASH = 'scrypt$131072$8$1$nY8pnXhtbcz3LB4i93zCMw==$S8Fe/xP2g5Chk2YAEFuGwftK9krheeV4fMKB7ZQP5DQ=';
const hashes = new Map<string, Promise<string>>();

/** One hash per password and process (users with the same password share its salt: tests only). */
function testHash(password: string): Promise<string> {
  if (password === 'demo' && !isWeakerThanCurrent(DEMO_HASH)) return Promise.resolve(DEMO_HASH);
  let h = hashes.get(password);
  if (!h) {
    h = hashPassword(password);
    hashes.set(password, h);
    h.catch(() => hashes.delete(password));
  }
  return h;
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
