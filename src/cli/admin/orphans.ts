// `mogftp admin orphans [--dry-run] [--min-age 24h] [--json]`: finds copies on the storage nodes
// that the database does not account for and removes those older than the safe age (see
// src/jobs/orphans.ts for what counts and what is never touched). A jobs process runs the same
// sweep every few hours; this runs it now, in this process (it needs --storage-key-file).
import { ErrorCodes, mogError } from '../../errors.ts';
import { DEFAULT_ORPHAN_MIN_AGE_MS, MIN_ORPHAN_MIN_AGE_MS, sweepOrphans } from '../../jobs/orphans.ts';
import { silentLog } from '../../jobs/runner.ts';
import { StorageClient } from '../../storage/client.ts';
import { parseDuration } from '../jobs.ts';
import { STORAGE_KEY_FILE_OPTION, STORAGE_TOKEN_OPTION, storageCredentials } from '../shared-flags.ts';
import { leaf, withStore } from './context.ts';
import { formatTable, jsonOption, say } from './output.ts';

export function parseMinAge(raw: string | undefined): number {
  const ms = raw === undefined ? DEFAULT_ORPHAN_MIN_AGE_MS : parseDuration('--min-age', raw);
  if (ms === null || ms < MIN_ORPHAN_MIN_AGE_MS)
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `--min-age ${raw} is too short: a copy is recorded seconds after it is written, but give it at least 1h`);
  return ms;
}

export const orphansCommand = leaf<{ dryRun: boolean; minAge?: string; json: boolean; verbose: boolean; 'storage-key-file'?: string; 'storage-token'?: string }>({
  command: 'orphans',
  describe: 'Find copies on the nodes that the database does not know, and remove those older than --min-age',
  builder: (y) =>
    y
      .option('dry-run', { type: 'boolean', default: false, describe: 'Report only; remove nothing' })
      .option('min-age', { type: 'string', describe: 'Only copies older than this (default 24h, at least 1h)' })
      .option('storage-key-file', STORAGE_KEY_FILE_OPTION)
      .option('storage-token', STORAGE_TOKEN_OPTION)
      .option('verbose', { type: 'boolean', default: false, describe: 'Log every removal and problem to stderr' })
      .option('json', { ...jsonOption, describe: 'Print the report as JSON' }),
  handler: async (args) => {
    const minAgeMs = parseMinAge(args.minAge);
    const { storageKey, storageToken } = storageCredentials(args, 'admin orphans');
    const client = new StorageClient({ key: storageKey, token: storageToken });
    try {
      await withStore(args, async (store) => {
        const log = args.verbose ? (level: string, msg: string) => process.stderr.write(`${level} ${msg}\n`) : silentLog;
        const r = await sweepOrphans({ store, client, log }, { minAgeMs, dryRun: args.dryRun });
        if (args.json) {
          process.stdout.write(JSON.stringify(r, null, 2) + '\n');
          return;
        }
        say(
          formatTable(
            [
              { header: 'DEVID', value: (d) => d.devid },
              { header: 'HOST', value: (d) => d.host },
              { header: 'LISTED', value: (d) => d.listed },
              { header: 'ORPHANS', value: (d) => d.orphans },
              { header: 'BYTES', value: (d) => d.bytes },
              { header: 'REMOVED', value: (d) => d.removed },
              { header: 'YOUNG', value: (d) => d.young },
              { header: 'NOTE', value: (d) => d.skipped ?? (d.foreign ? `${d.foreign} above the highest fid: left alone` : d.failed ? `${d.failed} failed` : '') },
            ],
            r.devices,
          ),
        );
        say(
          r.dryRun
            ? `dry run: ${r.orphans} orphan copies, ${r.bytes} bytes, older than ${minAgeMs / 3_600_000} h (nothing removed)`
            : `${r.removed} of ${r.orphans} orphan copies removed (${r.bytes} bytes)${r.failed ? `; ${r.failed} failed, see --verbose` : ''}`,
        );
      });
    } finally {
      client.close();
    }
  },
});
