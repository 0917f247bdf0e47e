// `mogftp quickstart`: the embedded default, the whole system from one command. SQLite in
// DATA/mogftp.db, three storage nodes (each its own "host", each a child process of this one:
// quickstart-nodes.ts) on loopback, the background jobs, an
// FTP server, a WebDAV server and an SFTP server (quickstart-sftp.ts). Re-running reuses DATA; node ports are chosen anew each time
// and recorded on the hosts. The nodes check a storage key kept in DATA/storage.key (made on
// first run): loopback is no boundary between a machine's users.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Registry } from 'prom-client';
import { startDavServer, type RunningDavServer } from '../dav/server.ts';
import { watchTransfers, type InFlightTransfers } from '../ftp/in-flight.ts';
import { ensureSelfSignedCert } from '../ftp/self-signed.ts';
import { startFtpServer, type RunningFtpServer } from '../ftp/server.ts';
import { DEFAULTS } from '../ftp/settings.ts';
import { startJobs } from '../jobs/index.ts';
import { createLogger, type LogFn, type LogLevel } from '../log.ts';
import { startAdminServer } from '../metrics/admin-server.ts';
import { clusterReadiness, createRegistry, ftpHooks, registerClusterMetrics, registerFtpMetrics, type AdminServer } from '../metrics/index.ts';
import { serveUntilStopped } from '../shutdown.ts';
import { ensureStorageKeyFile, type StorageKey } from '../storage/auth.ts';
import { hashPassword } from '../tracker/passwords.ts';
import type { Store } from '../tracker/types.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { ensureFree, listenOn } from './ports.ts';
import { startQuickstartNodes } from './quickstart-nodes.ts';
import { startQuickstartSftp, type QuickstartSftp } from './quickstart-sftp.ts';
import { ensureHostKeys } from '../sftp/host-keys.ts';
import { openServices, type Services } from './services.ts';

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
  /** SFTP port (taken: an error); unset: 2222, or any free port if 2222 is taken; false: no SFTP. */
  sftpPort?: number | false;
}

/** The WebDAV port the quickstart tries when none is given. */
const QS_DAV_PORT = 8080;

export interface RunningQuickstart {
  ftp: RunningFtpServer;
  dav: RunningDavServer | null;
  /** The SFTP server with its host keys and the known_hosts file the banner's line uses. */
  sftp: QuickstartSftp | null;
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
const QS_KEY_FILE = 'storage.key';

/** Starts everything; on failure stops what had started and releases the data directory. */
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
  // Undone last first, by stop() or when a later part fails to start.
  const stops: Array<() => Promise<void>> = [unlock];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await services.close();
  };
  // Made while the nodes start: a first run's RSA host key takes seconds.
  const hostKeys = opts.sftpPort === false ? null : ensureHostKeys(dataDir);
  hostKeys?.catch(() => {}); // awaited (and its failure reported) by startQuickstartSftp
  try {
    await seedDemoAccount(store);
    await startQuickstartNodes(services, { dataDir, count: opts.nodes ?? 3, keyFile: join(dataDir, QS_KEY_FILE), log }, stops);
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
    const { ftp, transfers } = await startQuickstartFtp(services, opts, { log, registry, tlsFiles }, stops);
    const dav = opts.davPort === false ? null : await startQuickstartDav(services, opts, log, notes);
    if (dav) stops.push(() => dav.close());
    const sftpAt = { dataDir, host: opts.host, port: opts.port, sftpPort: opts.sftpPort === false ? undefined : opts.sftpPort };
    const sftp = hostKeys ? await startQuickstartSftp(services, sftpAt, log, notes, hostKeys) : null;
    if (sftp) stops.push(() => sftp.server.close());
    const adminAt = opts.adminListen;
    const admin = adminAt
      ? await listenOn(() => startAdminServer({ ...adminAt, registry, ready: clusterReadiness(store), log }), `Admin port ${adminAt.port} on ${adminAt.host}`, '--admin-listen')
      : null;
    if (admin) stops.push(() => admin.close());
    return { ftp, dav, sftp, admin, notes, transfers, tls: made.pair ?? { off: made.reason }, dbUrl, services, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Serves until SIGINT/SIGTERM, stopping the way `mogftp ftp` does (shutdown.ts). */
export async function serveQuickstart(qs: RunningQuickstart): Promise<void> {
  await serveUntilStopped({
    transfers: qs.transfers,
    graceMs: DEFAULTS.shutdownGraceMs,
    say: (line) => process.stdout.write(`${line}\n`),
    stop: () => qs.stop(),
  });
}

/** The default domain and class (two copies), and the user demo/demo, unless they exist. */
async function seedDemoAccount(store: Store): Promise<void> {
  let domain = await store.getDomain(QS_DOMAIN);
  if (!domain) domain = await store.createDomain(QS_DOMAIN);
  const cls = await store.getClass(domain.id, 'default');
  if (!cls) await store.createClass(domain.id, 'default', { mindevcount: 2 });
  if (!(await store.getUser('demo')))
    await store.createUser({ name: 'demo', passwordHash: await hashPassword('demo'), domainId: domain.id, homeDir: '/', readOnly: false, quotaBytes: null });
}

/** The FTP server on --host/--port (taken: an error naming --port), and its running transfers. */
async function startQuickstartFtp(
  services: Services,
  opts: QuickstartOptions,
  parts: { log: LogFn; registry: Registry; tlsFiles: { tlsCert?: string; tlsKey?: string } },
  stops: Array<() => Promise<void>>,
): Promise<{ ftp: RunningFtpServer; transfers: InFlightTransfers }> {
  const { log, registry, tlsFiles } = parts;
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
  return { ftp, transfers };
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
