// Composition: wires the store, tracker, storage client, front-end and jobs into running
// services. The CLI commands, the quickstart and the test harness all start things through here,
// so what the tests run is what users run.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { ErrorCodes, mogError } from './errors.ts';
import { serveUntilStopped } from './shutdown.ts';
import { ensureSelfSignedCert } from './ftp/self-signed.ts';
import { startDavServer, type RunningDavServer } from './dav/server.ts';
import { watchTransfers, type InFlightTransfers } from './ftp/in-flight.ts';
import { startFtpServer, type RunningFtpServer } from './ftp/server.ts';
import { DEFAULTS, type ProtocolOptions } from './ftp/settings.ts';
import { startJobs } from './jobs/index.ts';
import { createLogger, type LogFn, type LogLevel } from './log.ts';
import { clusterReadiness, createRegistry, ftpHooks, registerClusterMetrics, registerFtpMetrics, startAdminEndpoint, type AdminServer } from './metrics/index.ts';
import { startAdminServer } from './metrics/admin-server.ts';
import { ensureStorageKeyFile, type StorageKey } from './storage/auth.ts';
import { StorageClient } from './storage/client.ts';
import { startStorageNode } from './storage/node.ts';
import { openStore } from './tracker/open.ts';
import { hashPassword } from './tracker/passwords.ts';
import { Tracker } from './tracker/tracker.ts';
import type { Store } from './tracker/types.ts';

export interface Services {
  store: Store;
  tracker: Tracker;
  client: StorageClient;
  close(): Promise<void>;
}

/** Opens the database (which must already have the schema) and the shared clients. */
export async function openServices(opts: { dbUrl: string; storageKey?: StorageKey; storageToken?: string; createDatabase?: boolean; migrate?: boolean }): Promise<Services> {
  const store = await openStore(opts.dbUrl, { createDatabase: opts.createDatabase });
  try {
    if (opts.migrate) await store.migrate();
    else if ((await store.schemaVersion()) === 0)
      throw mogError(ErrorCodes.INVALID_ARGUMENT, "The database has no mogftp schema yet: run 'mogftp admin init' first");
  } catch (err) {
    await store.close();
    throw err;
  }
  const tracker = new Tracker(store);
  const client = new StorageClient({ key: opts.storageKey, token: opts.storageToken });
  return {
    store,
    tracker,
    client,
    close: async () => {
      client.close();
      await store.close();
    },
  };
}

export interface FtpFrontendOptions extends ProtocolOptions {
  dbUrl: string;
  host: string;
  port: number;
  pasvAddress?: string;
  pasvPorts: [number, number];
  /** The cluster's storage key, which signs every request to the storage nodes. */
  storageKey?: StorageKey;
  /** Deprecated bearer token. */
  storageToken?: string;
  logLevel?: LogLevel | 'silent';
  /** HOST:PORT for /metrics, /healthz and /readyz; none when unset. */
  adminListen?: string;
}

/** `mogftp ftp`: serves until SIGINT/SIGTERM (a second one aborts running transfers). */
export async function runFtpFrontend(opts: FtpFrontendOptions): Promise<void> {
  const log = createLogger({ level: opts.logLevel, name: 'ftp' });
  const services = await openServices({ dbUrl: opts.dbUrl, storageKey: opts.storageKey, storageToken: opts.storageToken });
  const registry = createRegistry('ftp');
  let ports: number[] = [];
  const transfers = watchTransfers(() => ports);
  const ftp = await startFtpServer({ ...services, ...opts, log, ...ftpHooks(registerFtpMetrics(registry), log) });
  ports = [ftp.port, ...(ftp.ftpsPort !== null ? [ftp.ftpsPort] : [])];
  const admin = await startAdminEndpoint('ftp', opts.adminListen, { registry, ready: clusterReadiness(services.store), log });
  process.stdout.write(`mogftp ftp listening on ftp://${ftp.host}:${ftp.port}${ftp.ftpsPort !== null ? ` and ftps://${ftp.host}:${ftp.ftpsPort}` : ''}\n`);
  await serveUntilStopped({
    transfers,
    graceMs: opts.shutdownGraceMs ?? DEFAULTS.shutdownGraceMs,
    say: (line) => process.stdout.write(`${line}\n`),
    stop: async () => {
      log('info', 'shutting down');
      await admin?.close();
      await ftp.close();
      await services.close();
    },
  });
}

/**
 * Fails with listenOn's error if host:port is taken, before the real listener tries (the FTP
 * listener would log its EADDRINUSE as an error record on top of the one-line error).
 */
async function ensureFree(host: string, port: number, what: string, flag: string): Promise<void> {
  if (port === 0) return;
  await listenOn(
    () =>
      new Promise<void>((resolve, reject) => {
        const probe = createServer();
        probe.once('error', reject);
        probe.listen(port, host, () => probe.close(() => resolve()));
      }),
    what,
    flag,
  );
}

/** Turns "address in use" into an error that names the option to change. */
async function listenOn<T>(start: () => Promise<T>, what: string, flag: string): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw mogError(ErrorCodes.IN_USE, `${what} is already in use: stop what holds it, or choose another with ${flag}`, err);
  }
}

export interface QuickstartOptions {
  dataDir: string;
  host: string;
  port: number;
  pasvPorts: [number, number];
  nodes?: number;
  logLevel?: LogLevel | 'silent';
  /** Where to serve /metrics (FTP and cluster metrics), /healthz and /readyz; none when unset. */
  adminListen?: { host: string; port: number };
  /** Offer explicit FTPS with a self-signed pair kept in the data dir (default true). */
  tls?: boolean;
  /** WebDAV port (taken: an error); unset: 8080, or any free port if 8080 is taken; false: no WebDAV. */
  davPort?: number | false;
}

/** The WebDAV port the quickstart tries when none is given. */
export const QS_DAV_PORT = 8080;

export interface RunningQuickstart {
  ftp: RunningFtpServer;
  dav: RunningDavServer | null;
  /** The certificate offered for AUTH TLS, or why TLS is off. */
  tls: { cert: string; key: string } | { off: string };
  /** The admin endpoint (/metrics, /healthz, /readyz), when asked for. */
  admin: AdminServer | null;
  /** Things the operator should know about how it started, as sentences (for the banner). */
  notes: string[];
  /** The FTP transfers running now (a stop can say what it waits for, and abort them). */
  transfers: InFlightTransfers;
  dbUrl: string;
  services: Services;
  stop(): Promise<void>;
}

const QS_DOMAIN = 'default';
/** The quickstart's storage key, in its data directory. */
export const QS_KEY_FILE = 'storage.key';

/**
 * The embedded default: SQLite in DATA/mogftp.db, three storage nodes (each its own "host") on
 * loopback, the background jobs, and an FTP server. Re-running reuses DATA; node ports are
 * chosen anew each time and recorded on the hosts. The nodes check a storage key kept in
 * DATA/storage.key (made on first run): loopback is no boundary between a machine's users.
 */
export async function startQuickstart(opts: QuickstartOptions): Promise<RunningQuickstart> {
  const log: LogFn = createLogger({ level: opts.logLevel ?? 'warn', name: 'quickstart' });
  const dataDir = resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const unlock = await lockDataDir(dataDir);
  const dbUrl = `sqlite:${join(dataDir, 'mogftp.db')}`;
  let storageKey: StorageKey;
  let services: Services;
  try {
    storageKey = await ensureStorageKeyFile(join(dataDir, QS_KEY_FILE));
    services = await openServices({ dbUrl, storageKey, createDatabase: true, migrate: true });
  } catch (err) {
    await unlock();
    throw err;
  }
  const { store } = services;
  const stops: Array<() => Promise<void>> = [unlock];
  try {
    let domain = await store.getDomain(QS_DOMAIN);
    if (!domain) domain = await store.createDomain(QS_DOMAIN);
    const cls = await store.getClass(domain.id, 'default');
    if (!cls) await store.createClass(domain.id, 'default', { mindevcount: 2 });
    if (!(await store.getUser('demo')))
      await store.createUser({ name: 'demo', passwordHash: await hashPassword('demo'), domainId: domain.id, homeDir: '/', readOnly: false, quotaBytes: null });

    for (let i = 1; i <= (opts.nodes ?? 3); i++) {
      const name = `node${i}`;
      const root = join(dataDir, name);
      let host = await store.getHost(name);
      const devid = host ? (await store.listDevices()).find((d) => d.hostId === host!.id)?.id : undefined;
      await mkdir(root, { recursive: true });
      const node = await startStorageNode({ root, host: '127.0.0.1', port: 0, key: storageKey });
      stops.push(() => node.close());
      if (!host) host = await store.createHost({ name, address: '127.0.0.1', httpPort: node.port });
      else await store.updateHost(host.id, { address: '127.0.0.1', httpPort: node.port });
      if (devid === undefined) {
        const dev = await store.createDevice({ hostId: host.id });
        await mkdir(join(root, `dev${dev.id}`), { recursive: true });
      } else {
        await mkdir(join(root, `dev${devid}`), { recursive: true });
      }
    }
    services.tracker.invalidateDevices();

    const registry = createRegistry('quickstart');
    const cluster = opts.adminListen ? registerClusterMetrics(registry, store) : null;
    if (cluster) stops.push(() => cluster.stop());
    const jobs = startJobs(store, { client: services.client, log, onEvent: cluster ? (e) => cluster.jobEvent(e.type, 'bytes' in e ? e.bytes : undefined) : undefined });
    stops.push(() => jobs.stop());
    // Said in the banner, not logged: what a user reads first is sentences, not log records.
    const notes: string[] = [];
    const made = opts.tls === false ? { pair: null, reason: 'turned off' } : await ensureSelfSignedCert(dataDir);
    if (!made.pair && opts.tls !== false) notes.push(`FTPS is off: ${made.reason}.`);
    const tlsFiles = made.pair ? { tlsCert: made.pair.cert, tlsKey: made.pair.key } : {};
    let ports: number[] = [];
    const transfers = watchTransfers(() => ports);
    stops.push(async () => transfers.stop());
    await ensureFree(opts.host, opts.port, `FTP port ${opts.port} on ${opts.host}`, '--port');
    const ftp = await listenOn(
      () => startFtpServer({ ...services, host: opts.host, port: opts.port, pasvPorts: opts.pasvPorts, log, ...tlsFiles, ...ftpHooks(registerFtpMetrics(registry), log) }),
      `FTP port ${opts.port} on ${opts.host}`,
      '--port',
    );
    ports = [ftp.port];
    stops.push(() => ftp.close());
    const dav = opts.davPort === false ? null : await startQuickstartDav(services, opts, log, notes);
    if (dav) stops.push(() => dav.close());
    const adminAt = opts.adminListen;
    const admin = adminAt
      ? await listenOn(() => startAdminServer({ ...adminAt, registry, ready: clusterReadiness(store), log }), `Admin port ${adminAt.port} on ${adminAt.host}`, '--admin-listen')
      : null;
    if (admin) stops.push(() => admin.close());
    return {
      ftp,
      dav,
      admin,
      notes,
      transfers,
      tls: made.pair ?? { off: made.reason },
      dbUrl,
      services,
      stop: async () => {
        for (const stop of stops.reverse()) await stop().catch(() => {});
        await services.close();
      },
    };
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await services.close();
    throw err;
  }
}

/** An explicit --dav-port must be free; the default 8080 may give way to any free port (a note says so). */
async function startQuickstartDav(services: Services, opts: QuickstartOptions, log: LogFn, notes: string[]): Promise<RunningDavServer> {
  const start = (port: number) => startDavServer({ ...services, host: opts.host, port, log });
  if (typeof opts.davPort === 'number') return listenOn(() => start(opts.davPort as number), `WebDAV port ${opts.davPort} on ${opts.host}`, '--dav-port');
  if (opts.port === 0) return start(0); // tests: every port chosen by the OS
  try {
    return await start(QS_DAV_PORT);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    const dav = await start(0);
    notes.push(`WebDAV port ${QS_DAV_PORT} is taken, so WebDAV is on port ${dav.port} instead (--dav-port chooses one).`);
    return dav;
  }
}

/**
 * One quickstart per data directory: a second one would re-point the hosts at its own nodes and
 * leave the first reading from ports that no longer answer.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lock = join(dataDir, 'quickstart.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      return () => rm(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(await readFile(lock, 'utf8').catch(() => ''));
      if (pid > 0 && pid !== process.pid && isAlive(pid))
        throw mogError(ErrorCodes.IN_USE, `Another quickstart (pid ${pid}) is using ${dataDir}; stop it first or pass --data`);
      await rm(lock, { force: true }); // left behind by a quickstart that was killed
    }
  }
  throw mogError(ErrorCodes.IN_USE, `Could not lock ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

