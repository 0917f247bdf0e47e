// `mogftp ftp`: one stateless FTP front-end over a cluster's database and storage nodes, until
// SIGINT/SIGTERM (a second one aborts running transfers). It loads no WebDAV, jobs or storage
// node code (test/ops/daemon-modules.test.ts checks).
import { watchTransfers } from '../ftp/in-flight.ts';
import { startFtpServer } from '../ftp/server.ts';
import { DEFAULTS, type ProtocolOptions } from '../ftp/settings.ts';
import { createLogger, type LogLevel } from '../log.ts';
import { clusterReadiness, createRegistry, ftpHooks, registerFtpMetrics, startAdminEndpoint } from '../metrics/index.ts';
import { serveUntilStopped } from '../shutdown.ts';
import type { StorageKey } from '../storage/auth.ts';
import { openServices } from './services.ts';

export interface FtpDaemonOptions extends ProtocolOptions {
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

export async function runFtpDaemon(opts: FtpDaemonOptions): Promise<void> {
  const log = createLogger({ level: opts.logLevel, name: 'ftp' });
  const services = await openServices({ dbUrl: opts.dbUrl, storageKey: opts.storageKey, storageToken: opts.storageToken, log });
  const registry = createRegistry('ftp');
  let ports: number[] = [];
  const transfers = watchTransfers(() => ports);
  const ftp = await startFtpServer({ ...services, ...opts, log, ...ftpHooks(registerFtpMetrics(registry), log) });
  ports = [ftp.port, ...(ftp.ftpsPort !== null ? [ftp.ftpsPort] : [])];
  const admin = await startAdminEndpoint('ftp', opts.adminListen, { registry, ready: clusterReadiness(services.store), log });
  // Signals are taken before the listening line: whoever reads it may stop us at once.
  const served = serveUntilStopped({
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
  process.stdout.write(`mogftp ftp listening on ftp://${ftp.host}:${ftp.port}${ftp.ftpsPort !== null ? ` and ftps://${ftp.host}:${ftp.ftpsPort}` : ''}\n`);
  await served;
}
