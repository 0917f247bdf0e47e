// The orphan sweep: copies on the nodes that the database does not account for. fsck checks the
// copies the database records; nothing looked at the others: a copy written by a jobs process
// that crashed before recording it, a commit that was aborted after its bytes landed, a DELETE
// that never reached a node. Each device is listed through our node's listing endpoint
// (storage/listing.ts), a page of fids at a time, and a fid found there is an orphan when it is
// older than the safe age and the database has for it, on that device:
// - no replica record, no live reservation, and no delete queue item; and either
// - no file row at all ('unknown': the file is gone for good, since fids are never reused), or
// - a live file that simply has no record on this device ('unrecorded-copy').
// Orphans are removed through the delete job's own code (deleteFid with the device as its
// devid): for a live file it deletes only what no record points at and re-checks afterwards, so
// a copy being recorded at that moment by replication is not lost.
//
// What is never touched: copies younger than the safe age (default 24 h, at least 1 h: a copy
// between its write and its record is seconds old; an upload in progress is protected by its
// reservation, whatever its age), fids above the highest fid this database has handed out
// ('foreign': another cluster sharing the disk, or a database restored from an older backup,
// whose newer files must not be destroyed), and devices on nodes that do not list (nginx: its
// autoindex is per directory and off by default, so nginx devices are reported as skipped).
import { describeError } from '../errors.ts';
import { nodeBaseUrl } from '../storage/layout.ts';
import type { DeviceView } from '../tracker/types.ts';
import { mayWork, type JobContext } from './context.ts';
import { deleteFid } from './delete.ts';

export const DEFAULT_ORPHAN_MIN_AGE_MS = 24 * 3_600_000;
export const MIN_ORPHAN_MIN_AGE_MS = 3_600_000;

export interface OrphanSweepOptions {
  /** Only files older than this are orphans. Default 24 h; never less than 1 h. */
  minAgeMs?: number;
  /** Report only. */
  dryRun?: boolean;
  now?: number;
  /** Fids listed per page. Default 1000. */
  pageSize?: number;
  /** How long this process keeps a device's task lease per page. Default 10 min. */
  taskTtlMs?: number;
}

export interface DeviceOrphans {
  devid: number;
  host: string;
  /** Files the node listed. */
  listed: number;
  /** Orphans found (older than the safe age), and their bytes. */
  orphans: number;
  bytes: number;
  /** Orphans removed (0 in a dry run), and those whose removal failed (retried next sweep). */
  removed: number;
  failed: number;
  /** Younger than the safe age: left for a later sweep. */
  young: number;
  /** Above the database's highest fid: left alone. */
  foreign: number;
  /** Why the device was not swept, when it was not. */
  skipped?: string;
  /** The first few orphan fids, for the report. */
  sample: number[];
}

export interface OrphanReport {
  dryRun: boolean;
  minAgeMs: number;
  devices: DeviceOrphans[];
  orphans: number;
  bytes: number;
  removed: number;
  failed: number;
}

export async function sweepOrphans(ctx: JobContext, opts: OrphanSweepOptions = {}): Promise<OrphanReport> {
  const minAgeMs = Math.max(MIN_ORPHAN_MIN_AGE_MS, opts.minAgeMs ?? DEFAULT_ORPHAN_MIN_AGE_MS);
  const report: OrphanReport = { dryRun: !!opts.dryRun, minAgeMs, devices: [], orphans: 0, bytes: 0, removed: 0, failed: 0 };
  for (const dev of await ctx.store.listDevices()) {
    const r = await sweepDevice(ctx, dev, { ...opts, minAgeMs });
    if (!r) continue;
    report.devices.push(r);
    report.orphans += r.orphans;
    report.bytes += r.bytes;
    report.removed += r.removed;
    report.failed += r.failed;
  }
  if (report.orphans > 0)
    ctx.log('info', `orphan sweep: ${report.orphans} orphan copies (${report.bytes} bytes)${report.dryRun ? ' found (dry run)' : `, ${report.removed} removed`}`);
  return report;
}

async function sweepDevice(ctx: JobContext, dev: DeviceView, opts: OrphanSweepOptions & { minAgeMs: number }): Promise<DeviceOrphans | null> {
  const r: DeviceOrphans = { devid: dev.id, host: dev.hostName, listed: 0, orphans: 0, bytes: 0, removed: 0, failed: 0, young: 0, foreign: 0, sample: [] };
  if (dev.status === 'dead' || dev.hostStatus === 'dead') return null; // its bytes are gone
  if (dev.hostStatus !== 'alive' || (dev.status !== 'alive' && dev.status !== 'drain' && dev.status !== 'readonly')) {
    r.skipped = `device is ${dev.status} on a host that is ${dev.hostStatus}`;
    return r;
  }
  const ttl = opts.taskTtlMs ?? 600_000;
  const task = `orphans/dev/${dev.id}`;
  if (!(await mayWork(ctx, task, ttl))) {
    r.skipped = 'another jobs process sweeps it';
    return r;
  }
  const pageSize = opts.pageSize ?? 1000;
  const cutoff = (opts.now ?? Date.now()) - opts.minAgeMs;
  const base = nodeBaseUrl(dev.hostAddress, dev.hostPort);
  let after = 0;
  try {
    for (;;) {
      const page = await ctx.client.listDevice(base, dev.id, { after, limit: pageSize });
      if (page === null) {
        r.skipped = 'its node does not list its files (an nginx node?): not swept';
        return r;
      }
      r.listed += page.length;
      const old = page.filter((f) => f.mtime <= cutoff);
      r.young += page.length - old.length;
      const sizes = new Map(old.map((f) => [f.fid, f.size]));
      for (const s of old.length ? await ctx.store.storedFidStates(dev.id, old.map((f) => f.fid)) : []) {
        if (s.state === 'foreign') r.foreign++;
        if (s.state !== 'unknown' && s.state !== 'unrecorded-copy') continue;
        r.orphans++;
        r.bytes += sizes.get(s.fid) ?? 0;
        if (r.sample.length < 20) r.sample.push(s.fid);
        if (opts.dryRun) continue;
        try {
          const done = await deleteFid(ctx, { fid: s.fid, devids: [dev.id] });
          if (done.deleted.includes(dev.id)) {
            r.removed++;
            ctx.log('info', `orphan sweep: removed fid ${s.fid} from device ${dev.id} (${s.state === 'unknown' ? 'no such file' : 'no record of this copy'})`);
          }
        } catch (err) {
          r.failed++;
          ctx.log('warn', `orphan sweep: fid ${s.fid} on device ${dev.id}: ${describeError(err)}`);
        }
      }
      if (page.length < pageSize) break;
      after = page[page.length - 1]!.fid;
      if (!(await mayWork(ctx, task, ttl))) {
        r.skipped = 'another jobs process took the sweep of it over';
        break;
      }
    }
  } catch (err) {
    r.skipped = `listing failed: ${describeError(err)}`;
    ctx.log('warn', `orphan sweep: device ${dev.id}: ${r.skipped}`);
  }
  return r;
}
