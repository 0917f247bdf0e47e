// `mogftp admin import mogilefs --from mysql://USER:PW@HOST:PORT/DB [--dry-run] [--json]`:
// takes over an existing MogileFS cluster in place (src/mogilefs/import/; the cut-over is in
// docs/operations/mogilefs.md). Progress goes to stderr, the report to stdout.
import { createProgress } from '../progress.ts';
import { leaf, noun, withStore } from './context.ts';
import { say } from './output.ts';
import { parseIntegerArg } from './values.ts';

/** Files per transaction unless --batch says otherwise. */
const DEFAULT_BATCH = 1000;

const mogilefs = leaf<{ from: string; dryRun: boolean; json: boolean; batch?: string }>({
  command: 'mogilefs',
  describe: 'Take over a MogileFS 2.x cluster in place: hosts, devices, domains, classes and files with their ids (its database is only read)',
  builder: (y) =>
    y
      .option('from', { type: 'string', demandOption: true, describe: 'The MogileFS database: mysql://USER:PASSWORD@HOST:PORT/DB' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Print what would be imported; write nothing' })
      .option('batch', { type: 'string', describe: `Files per transaction (default ${DEFAULT_BATCH})` })
      .option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON' }),
  handler: async (args) => {
    const batch = args.batch === undefined ? DEFAULT_BATCH : parseIntegerArg('--batch', args.batch, 1, 10_000);
    // Loaded here: the MogileFS reader brings mysql2, which the other admin commands do not need.
    const { importMogileFs } = await import('../../mogilefs/import/run.ts');
    const { render } = await import('../../mogilefs/import/report.ts');
    await withStore(args, async (store) => {
      const progress = createProgress({ label: args.dryRun ? 'import (dry run)' : 'import' });
      const report = await importMogileFs(store, {
        from: args.from,
        dryRun: args.dryRun,
        batch,
        onTotal: (total) => progress.setTotal(total),
        onProgress: (done) => progress.update(done),
      });
      progress.finish(`${report.files.imported} files ${args.dryRun ? 'to import' : 'imported'}, ${report.files.present} imported before, ${report.files.skipped} skipped`);
      if (args.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else say(render(report));
    });
  },
});

export const importCommand = noun('import', 'Take over another system\'s cluster in place (mogilefs)', [mogilefs]);
