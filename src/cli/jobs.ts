// `mogftp jobs`: parses the background jobs' flags and runs them (src/daemons/jobs.ts).
import type { CommandModule } from 'yargs';
import { configurable } from '../config/cli.ts';
import { runJobsDaemon } from '../daemons/jobs.ts';
import { ErrorCodes, mogError } from '../errors.ts';
import { type ClusterDaemonArgs, DATABASE_FLAG, STORAGE_CREDENTIAL_FLAGS, daemonOutputFlags, databaseUrl, logLevelOf, storageCredentials } from './shared-flags.ts';

interface JobsArgs extends ClusterDaemonArgs {
  'auto-dead-after'?: string;
  monitor: boolean;
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
      .options(DATABASE_FLAG)
      .option('auto-dead-after', {
        type: 'string',
        describe: 'Mark a device dead (and re-replicate its files) once unreachable this long, e.g. 30m (at least 10m); off by default',
      })
      .options(STORAGE_CREDENTIAL_FLAGS)
      .option('monitor', { type: 'boolean', default: true, describe: 'Also monitor the devices (--no-monitor to leave it to another process)' })
      .options(daemonOutputFlags('info')),
  handler: async (args) => {
    const autoDeadAfterMs = parseAutoDeadAfter(args['auto-dead-after']);
    await runJobsDaemon({
      ...storageCredentials(args, 'jobs'), // warns before a missing --db is refused, as it always has
      dbUrl: databaseUrl(args),
      monitor: args.monitor,
      autoDeadAfterMs,
      autoDeadAfterText: args['auto-dead-after'],
      logLevel: logLevelOf(args),
      adminListen: args['admin-listen'],
    });
  },
};
