// `mogftp storage`: one storage node serving the device directories under its root over HTTP,
// until SIGTERM/SIGINT (a second one while it drains exits at once).
import { createLogger, type LogLevel } from '../log.ts';
import type { StorageKey } from '../storage/auth.ts';
import { startStorageNode } from '../storage/node.ts';

export interface StorageDaemonOptions {
  root: string;
  host: string;
  port: number;
  /** The cluster storage key every request must be signed with; absent only with insecureNoAuth. */
  key?: StorageKey;
  insecureNoAuth: boolean;
  /** Deprecated: a bearer token also accepted. */
  token?: string;
  /** How long in-flight requests may take to finish on a stop signal. */
  graceMs: number;
  logLevel: LogLevel | 'silent';
  /** HOST:PORT for /metrics, /healthz and /readyz; none when unset. */
  adminListen?: string;
}

export async function runStorageDaemon(opts: StorageDaemonOptions): Promise<void> {
  const log = createLogger({ level: opts.logLevel, name: 'storage' });
  // Metrics (prom-client) are loaded only when asked for: a node's memory stays small.
  const adminListen = opts.adminListen;
  const m = adminListen ? await import('../metrics/index.ts') : null;
  const registry = m?.createRegistry('storage');
  const metrics = m && registry ? m.registerStorageMetrics(registry, opts.root) : null;
  const node = await startStorageNode({
    log: (msg) => log('error', msg),
    onRequest: metrics ? (r) => metrics.request(r) : undefined,
    root: opts.root,
    host: opts.host,
    port: opts.port,
    key: opts.key,
    insecureNoAuth: opts.insecureNoAuth,
    token: opts.token,
    graceMs: opts.graceMs,
  });
  const admin = m && registry ? await m.startAdminEndpoint('storage', adminListen, { registry, ready: m.storageReadiness(opts.root), log }) : null;
  if (opts.insecureNoAuth) log('warn', 'running with --insecure-no-auth: anyone who can connect to this address may read, overwrite and delete every replica');
  // Signals are taken before the listening line: whoever reads it may stop us at once.
  const stopped = new Promise<void>((resolve) => {
    const onSignal = () => {
      // A second signal while we drain means "now".
      process.once('SIGTERM', () => process.exit(1));
      process.once('SIGINT', () => process.exit(1));
      void Promise.all([node.close(), admin?.close()]).then(() => resolve());
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  process.stdout.write(`mogftp storage listening on ${node.url}\n`);
  await stopped;
}
