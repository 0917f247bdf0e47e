// `mogftp jobs`: the background jobs (monitor, replication, deletion, fsck, reaper, dead-device
// and drain sweeps) for one cluster, until SIGINT/SIGTERM. Run one or several; they share work
// through the database.
import type { CommandModule } from 'yargs';
import { configurable } from '../config/cli.ts';
import { ErrorCodes, mogError } from '../errors.ts';
import { clusterReadiness, createRegistry, registerClusterMetrics, startAdminEndpoint } from '../metrics/index.ts';
import { startJobs } from '../jobs/index.ts';
import { createLogger, type LogLevel } from '../log.ts';
import { StorageClient } from '../storage/client.ts';
import { openStore } from '../tracker/open.ts';
import { databaseUrl } from './admin/context.ts';
import { untilSignal } from '../signals.ts';
import { STORAGE_KEY_FILE_OPTION, STORAGE_TOKEN_OPTION, storageCredentials } from './storage-key.ts';

interface JobsArgs {
  db?: string;
  'auto-dead-after'?: string;
  'storage-key-file'?: string;
  'storage-token'?: string;
  monitor: boolean;
  'log-level': string;
  'admin-listen'?: string;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30m`, `2h`, `90s`, `1d`, `500ms` (a bare number is seconds); `off` or `never` mean none. */
export function parseDuration(flag: string, raw: string): number | null {
  const text = raw.trim().toLowerCase();
  if (text === 'off' || text === 'never') return null;
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)?$/.exec(text);
  const ms = m ? Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']!) : NaN;
  if (!m || !Number.isSafeInteger(ms) || ms <= 0)
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `${flag} takes a duration such as 30m, 2h or 1d (or "off"), not "${raw}"`);
  return ms;
}

/**
 * Dead is final: every copy on the device is written off and made again elsewhere. A node
 * restarting or a host rebooting must not cost that, nor a bare "90" read as seconds.
 */
export const MIN_AUTO_DEAD_AFTER_MS = 10 * 60_000;

export function parseAutoDeadAfter(raw: string | undefined): number | null {
  const ms = raw === undefined ? null : parseDuration('--auto-dead-after', raw);
  if (ms !== null && ms < MIN_AUTO_DEAD_AFTER_MS)
    throw mogError(
      ErrorCodes.INVALID_ARGUMENT,
      `--auto-dead-after ${raw} is too short: marking a device dead is final (its copies are written off and made again), so wait at least 10m, longer than a host takes to reboot`,
    );
  return ms;
}

export const jobsCommand: CommandModule<object, JobsArgs> = {
  command: 'jobs',
  describe: 'Run the background jobs: replication, deletion, fsck, drain, reaper, device monitor (run one or several)',
  builder: (y) =>
    configurable('jobs', y)
      .option('db', { type: 'string', describe: 'Database URL (mysql://user:pass@host:port/db or sqlite:/path); env MOGFTP_DB' })
      .option('auto-dead-after', {
        type: 'string',
        describe: 'Mark a device dead (and re-replicate its files) once unreachable this long, e.g. 30m (at least 10m); off by default',
      })
      .option('storage-key-file', STORAGE_KEY_FILE_OPTION)
      .option('storage-token', STORAGE_TOKEN_OPTION)
      .option('monitor', { type: 'boolean', default: true, describe: 'Also monitor the devices (--no-monitor to leave it to another process)' })
      .option('log-level', { type: 'string', default: 'info', choices: ['debug', 'info', 'warn', 'error', 'silent'] })
      .option('admin-listen', { type: 'string', describe: 'Serve /metrics, /healthz and /readyz on HOST:PORT (off unless set)' }),
  handler: async (args) => {
    const autoDeadAfterMs = parseAutoDeadAfter(args['auto-dead-after']);
    const log = createLogger({ level: args['log-level'] as LogLevel | 'silent', name: 'jobs' });
    const { storageKey, storageToken } = storageCredentials(args, 'jobs');
    const store = await openStore(databaseUrl(args));
    const client = new StorageClient({ key: storageKey, token: storageToken });
    try {
      if ((await store.schemaVersion()) === 0)
        throw mogError(ErrorCodes.INVALID_ARGUMENT, "The database has no mogftp schema yet: run 'mogftp admin init' first");
      const registry = createRegistry('jobs');
      // The cluster gauges walk every fid now and then: only worth it when someone scrapes them.
      const metrics = args['admin-listen'] ? registerClusterMetrics(registry, store) : null;
      const onEvent = metrics ? (e: { type: string; bytes?: number }) => metrics.jobEvent(e.type, e.bytes) : undefined;
      const admin = await startAdminEndpoint('jobs', args['admin-listen'], { registry, ready: clusterReadiness(store), log });
      const jobs = startJobs(store, { client, monitor: args.monitor, autoDeadAfterMs, log, onEvent });
      log('info', `jobs running${autoDeadAfterMs ? `; devices unreachable for ${args['auto-dead-after']} are marked dead` : ''}`);
      const signal = await untilSignal();
      log('info', `${signal}: stopping after the work in flight`);
      await admin?.close();
      await jobs.stop();
      await metrics?.stop();
    } finally {
      client.close();
      await store.close();
    }
  },
};
