// `mogftp admin import mogilefs`: takes over a MogileFS 2.x cluster in place. The MogileFS
// database is only read (a READ ONLY session); mogftp's database gets the cluster's hosts,
// devices (devids and states kept), domains, classes and files (fids kept, file_on as replicas),
// so every copy stays where mogstored keeps it and nothing is copied. Then mogftp's fid counter
// is raised above every fid MogileFS handed out.
import { MogileFsSource } from '../../tracker/mogilefs-source.ts';
import type { Store } from '../../tracker/types.ts';
import { importCluster } from './cluster.ts';
import { importFiles } from './files.ts';
import { emptyReport, type ImportReport } from './report.ts';

export interface ImportOptions {
  /** mysql://USER:PW@HOST:PORT/DB of the MogileFS database. */
  from: string;
  /** Read and compare only; write nothing. */
  dryRun: boolean;
  /** Files per transaction. */
  batch: number;
  /** The number of files in the source, once counted, then files looked at so far. */
  onTotal?: (total: number) => void;
  onProgress?: (done: number) => void;
}

export async function importMogileFs(store: Store, opts: ImportOptions): Promise<ImportReport> {
  const source = await MogileFsSource.open(opts.from);
  try {
    const report = emptyReport(source.where, opts.dryRun);
    const map = await importCluster(source, store, report, opts.dryRun);
    opts.onTotal?.(await source.fileCount());
    const progress = opts.onProgress;
    await importFiles(source, store, map, report, { batch: opts.batch, dry: opts.dryRun, ...(progress && { progress }) });
    // Last: an import cut short leaves the counter as it was, and the re-run raises it.
    const highest = await source.highestFid();
    report.fidFloor = opts.dryRun ? highest : await store.raiseFidFloor(highest);
    return report;
  } finally {
    await source.close();
  }
}
