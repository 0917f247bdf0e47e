// `mogftp jobs`: the background jobs (monitor, replication, deletion, fsck, reaper, dead-device
// and drain sweeps) for one cluster, until SIGINT/SIGTERM. Run one or several; they share work
// through the database.
import { startJobs } from '../jobs/index.ts';
import { createLogger, type LogLevel } from '../log.ts';
import { clusterReadiness, createRegistry, registerClusterMetrics, startAdminEndpoint } from '../metrics/index.ts';
import { untilSignal } from '../signals.ts';
import type { StorageKey } from '../storage/auth.ts';
import { openServices } from './services.ts';

export interface JobsDaemonOptions {
  dbUrl: string;
  storageKey?: StorageKey;
  storageToken?: string;
  /** Also monitor the devices (false: another process does). */
  monitor: boolean;
  /** Mark a device dead once unreachable this long; never when null. */
  autoDeadAfterMs: number | null;
  /** The operator's spelling of autoDeadAfterMs (e.g. 30m), for the log. */
  autoDeadAfterText?: string;
  logLevel: LogLevel | 'silent';
  /** HOST:PORT for /metrics, /healthz and /readyz; none when unset. */
  adminListen?: string;
}

export async function runJobsDaemon(opts: JobsDaemonOptions): Promise<void> {
  const log = createLogger({ level: opts.logLevel, name: 'jobs' });
  const { store, client, close } = await openServices({ dbUrl: opts.dbUrl, storageKey: opts.storageKey, storageToken: opts.storageToken, log });
  try {
    const registry = createRegistry('jobs');
    // The cluster gauges walk every fid now and then: only worth it when someone scrapes them.
    const metrics = opts.adminListen ? registerClusterMetrics(registry, store) : null;
    const onEvent = metrics ? (e: { type: string; bytes?: number }) => metrics.jobEvent(e.type, e.bytes) : undefined;
    const admin = await startAdminEndpoint('jobs', opts.adminListen, { registry, ready: clusterReadiness(store), log });
    const jobs = startJobs(store, { client, monitor: opts.monitor, autoDeadAfterMs: opts.autoDeadAfterMs, log, onEvent });
    const signalled = untilSignal(); // taken before the line that says we run
    log('info', `jobs running${opts.autoDeadAfterMs ? `; devices unreachable for ${opts.autoDeadAfterText} are marked dead` : ''}`);
    const signal = await signalled;
    log('info', `${signal}: stopping after the work in flight`);
    await admin?.close();
    await jobs.stop();
    await metrics?.stop();
  } finally {
    await close();
  }
}
