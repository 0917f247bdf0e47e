// `mogftp sftp`: one stateless SFTP front-end over a cluster's database and storage nodes, until
// SIGINT/SIGTERM. It loads no FTP, WebDAV, jobs or storage node code. Stopping closes every
// connection: uploads not yet CLOSEd are aborted and leave nothing, as a dropped client's would.
import { createLogger, type LogLevel } from '../log.ts';
import { clusterReadiness, createRegistry, registerLoginMetrics, startAdminEndpoint } from '../metrics/index.ts';
import { loadHostKeys } from '../sftp/host-keys.ts';
import { startSftpServer, type SftpLimits } from '../sftp/server.ts';
import { untilSignal } from '../signals.ts';
import type { StorageKey } from '../storage/auth.ts';
import { openServices } from './services.ts';

export interface SftpDaemonOptions {
  dbUrl: string;
  host: string;
  port: number;
  hostKeyFiles: string[];
  limits?: Partial<SftpLimits>;
  storageKey?: StorageKey;
  storageToken?: string;
  logLevel?: LogLevel | 'silent';
  /** HOST:PORT for /metrics, /healthz and /readyz; none when unset. */
  adminListen?: string;
}

export async function runSftpDaemon(opts: SftpDaemonOptions): Promise<void> {
  const log = createLogger({ level: opts.logLevel, name: 'sftp' });
  const hostKeys = await loadHostKeys(opts.hostKeyFiles);
  const services = await openServices({ dbUrl: opts.dbUrl, storageKey: opts.storageKey, storageToken: opts.storageToken });
  try {
    const sftp = await startSftpServer({ ...services, host: opts.host, port: opts.port, hostKeys: hostKeys.map((k) => k.key), limits: opts.limits, log });
    const registry = createRegistry('sftp');
    registerLoginMetrics(registry);
    const admin = await startAdminEndpoint('sftp', opts.adminListen, { registry, ready: clusterReadiness(services.store), log }).catch(async (err) => {
      await sftp.close();
      throw err;
    });
    const where = sftp.host.includes(':') ? `[${sftp.host}]` : sftp.host;
    process.stdout.write(`mogftp sftp listening on sftp://${where}:${sftp.port} (host keys ${hostKeys.map((k) => `${k.type} ${k.fingerprint}`).join(', ')})\n`);
    await untilSignal();
    log('info', 'shutting down');
    await admin?.close();
    await sftp.close();
  } finally {
    await services.close();
  }
}
