// `mogftp admin rebalance`: moves replicas from the fullest devices toward the emptiest, each
// copy verified before the old one goes, at a bounded pace. Runs in this process (it needs to
// reach the storage nodes, with --storage-key-file) and may be stopped any
// time with Ctrl-C: every move is complete or not made.
import { mogError, ErrorCodes } from '../../errors.ts';
import { rebalance, type DeviceShare } from '../../jobs/rebalance.ts';
import { silentLog } from '../../jobs/runner.ts';
import { StorageClient } from '../../storage/client.ts';
import { createProgress } from '../progress.ts';
import { STORAGE_KEY_FILE_OPTION, STORAGE_TOKEN_OPTION, storageCredentials } from '../shared-flags.ts';
import { leaf, withStore } from './context.ts';
import { formatTable, jsonOption, say, type Column } from './output.ts';
import { parseIntegerArg } from './values.ts';

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** A pace in bytes per second: 50MB/s, 1.5G, 800K/s, 1048576; 'none' or 'unlimited': no limit. */
export function parseRate(raw: string): number | null {
  const text = raw.trim();
  if (/^(none|unlimited)$/i.test(text)) return null;
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(?:i?b)?(?:\/s)?$/i.exec(text);
  const bytes = m ? Math.round(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!) : NaN;
  if (!m || !Number.isSafeInteger(bytes) || bytes <= 0)
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `--rate takes bytes per second such as 50MB/s, 1G or 800K (or "none"), not "${raw}"`);
  return bytes;
}

const columns: Column<DeviceShare & { before: number }>[] = [
  { header: 'DEVID', value: (d) => d.devid },
  { header: 'HOST', value: (d) => d.host },
  { header: 'BYTES_BEFORE', value: (d) => d.before },
  { header: 'BYTES_AFTER', value: (d) => d.bytes },
  { header: 'SHARE', value: (d) => d.shareBytes },
];

export const rebalanceCommand = leaf<{ maxMoves?: string; rate: string; tolerance: string; dryRun: boolean; json: boolean; 'storage-key-file'?: string; 'storage-token'?: string; verbose: boolean }>({
  command: 'rebalance',
  describe: 'Move replicas toward even usage across devices (verified copy first, then the old copy goes)',
  builder: (y) =>
    y
      .option('max-moves', { type: 'string', describe: 'Stop after this many moves' })
      .option('rate', { type: 'string', default: '20MB/s', describe: 'Copy at most this many bytes per second (e.g. 50MB/s, or none)' })
      .option('tolerance', { type: 'string', default: '5', describe: 'Percent of its share a device may be off and count as balanced' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Show the moves without making them' })
      .option('storage-key-file', STORAGE_KEY_FILE_OPTION)
      .option('storage-token', STORAGE_TOKEN_OPTION)
      .option('verbose', { type: 'boolean', default: false, describe: 'Log every move and problem to stderr' })
      .option('json', { ...jsonOption, describe: 'Print the moves and the usage before and after as JSON' }),
  handler: async (args) => {
    const maxMoves = args.maxMoves === undefined ? undefined : parseIntegerArg('--max-moves', args.maxMoves, 1);
    const bytesPerSecond = parseRate(args.rate);
    const tolerancePercent = parseIntegerArg('--tolerance', args.tolerance, 0, 100);
    const { storageKey, storageToken } = storageCredentials(args, 'admin rebalance');
    const client = new StorageClient({ key: storageKey, token: storageToken });
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      await withStore(args, async (store) => {
        const bar = args.json ? null : createProgress({ label: args.dryRun ? 'rebalance (dry run)' : 'rebalance', total: maxMoves ?? null });
        const log = args.verbose ? (level: string, msg: string) => process.stderr.write(`${level} ${msg}\n`) : silentLog;
        const r = await rebalance(
          { store, client, log },
          {
            maxMoves,
            bytesPerSecond,
            tolerancePercent,
            dryRun: args.dryRun,
            signal: abort.signal,
            onMove: (m) => bar?.tick(`fid ${m.fid}: device ${m.from} → ${m.to}`),
          },
        );
        const before = new Map(r.before.map((s) => [s.devid, s.bytes]));
        const bytes = r.moves.reduce((s, m) => s + m.bytes, 0);
        bar?.finish(`${r.moves.length} move(s), ${bytes} bytes${r.failed ? `, ${r.failed} failed` : ''}; ${END_TEXT[r.end]}`);
        if (args.json) {
          process.stdout.write(JSON.stringify({ dryRun: args.dryRun, end: r.end, moves: r.moves, failed: r.failed, before: r.before, after: r.after }, null, 2) + '\n');
          return;
        }
        if (args.dryRun) for (const m of r.moves) say(`would move fid ${m.fid} (${m.bytes} bytes) from device ${m.from} to device ${m.to}`);
        process.stdout.write(formatTable(columns, r.after.map((s) => ({ ...s, before: before.get(s.devid) ?? 0 }))));
      });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      client.close();
    }
  },
});

const END_TEXT: Record<string, string> = {
  balanced: 'every device is within its tolerance',
  'max-moves': 'the --max-moves budget is spent',
  'no-move-helps': 'no further move would help',
  aborted: 'interrupted',
  'too-few-devices': 'fewer than two devices can take part',
};
