// The cluster as the database describes it, for the jobs daemon (and the quickstart): queue
// depths, devices (status, usage the monitor last reported), hosts that can take uploads
// against the classes' write quorums, files short of their class's
// mindevcount or on too few hosts, and what the jobs did. Queue and device gauges are read at scrape time; the
// file count walks every fid, so it runs in the background every `scanIntervalMs`.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { QueueName, Store } from '../tracker/types.ts';
import { withDeadline } from './registry.ts';
import { assessWriteCapacity } from './write-capacity.ts';

/** Calls `fn` once for any number of callers while a call is in flight. */
function shared(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  return () => (running ??= fn().finally(() => (running = null)));
}

const QUEUES: QueueName[] = ['replicate', 'delete', 'fsck'];
const DEVICE_STATUSES = ['alive', 'readonly', 'drain', 'down', 'dead'];
const SCRAPE_DEADLINE_MS = 5000;
const PAGE = 1000;

export interface ClusterMetrics {
  /** Counts one thing a job did (a JobEvent's type: copied, deleted, ...). */
  jobEvent(type: string, bytes?: number): void;
  /** Runs the fid scan now; resolves when it is done. */
  scanNow(): Promise<void>;
  /** Stops the periodic scan and waits for one in progress. */
  stop(): Promise<void>;
}

/** The gauges read from the database at scrape time; each one's collect() awaits `collect`. */
function scrapeGauges(registers: Registry[], collect: () => Promise<void>) {
  const devLabels = ['devid', 'host'];
  return {
    dbUp: new Gauge({ name: 'mogftp_db_up', help: '1 when the last scrape could read the database, else 0', registers, collect }),
    queueDepth: new Gauge({ name: 'mogftp_queue_depth', help: 'Items waiting in each job queue (due or not)', labelNames: ['queue'], registers, collect }),
    devices: new Gauge({ name: 'mogftp_devices', help: 'Devices by operator status', labelNames: ['status'], registers, collect }),
    devTotal: new Gauge({ name: 'mogftp_device_total_bytes', help: 'Device size as the monitor last measured it', labelNames: devLabels, registers, collect }),
    devUsed: new Gauge({ name: 'mogftp_device_used_bytes', help: 'Device space in use as the monitor last measured it', labelNames: devLabels, registers, collect }),
    devUp: new Gauge({
      name: 'mogftp_device_reachable',
      help: '1 when the monitor last found the device answering (writeable or readonly), 0 when unreachable or not yet seen',
      labelNames: devLabels,
      registers,
      collect,
    }),
    writableHosts: new Gauge({
      name: 'mogftp_writable_hosts',
      help: 'Hosts with at least one device that can take a new copy now (alive, not seen unreachable or full)',
      registers,
      collect,
    }),
    shortClasses: new Gauge({
      name: 'mogftp_classes_below_write_quorum',
      help: 'Classes whose write quorum is more than the writable hosts; in_use="true" (a default class or one holding files) means uploads there fail',
      labelNames: ['in_use'],
      registers,
      collect,
    }),
  };
}
type ScrapeGauges = ReturnType<typeof scrapeGauges>;

/** The gauges the background fid scan sets. */
function scanGauges(registers: Registry[]) {
  return {
    below: new Gauge({ name: 'mogftp_fids_below_mindevcount', help: "Files with fewer replicas than their class's mindevcount (last scan)", registers }),
    tooFewHosts: new Gauge({
      name: 'mogftp_fids_on_too_few_hosts',
      help: 'Files with enough copies but on fewer hosts than min(mindevcount, usable hosts) (last scan)',
      registers,
    }),
    fids: new Gauge({ name: 'mogftp_fids', help: 'Files in the store (last scan)', registers }),
    fidBytes: new Gauge({ name: 'mogftp_fid_bytes', help: 'Bytes of all files, one copy each (last scan)', registers }),
    scanAge: new Gauge({ name: 'mogftp_fid_scan_timestamp_seconds', help: 'When the last complete fid scan finished (Unix time)', registers }),
  };
}

/** One round of scrape-time queries into the gauges; dbUp says whether it could be read. */
async function readCluster(store: Store, g: ScrapeGauges): Promise<void> {
  const [depths, devs, capacity] = await Promise.all([
    Promise.all(QUEUES.map((q) => store.queueDepth(q))),
    store.listDevices(),
    assessWriteCapacity(store),
  ]);
  g.writableHosts.set(capacity.writableHosts);
  for (const inUse of [true, false]) g.shortClasses.set({ in_use: String(inUse) }, capacity.short.filter((c) => c.inUse === inUse).length);
  QUEUES.forEach((q, i) => g.queueDepth.set({ queue: q }, depths[i]!));
  for (const s of DEVICE_STATUSES) g.devices.set({ status: s }, 0);
  for (const gauge of [g.devTotal, g.devUsed, g.devUp]) gauge.reset();
  for (const d of devs) {
    g.devices.inc({ status: d.status });
    const labels = { devid: String(d.id), host: d.hostName };
    if (d.mbTotal !== null) g.devTotal.set(labels, d.mbTotal * 1024 * 1024);
    if (d.mbUsed !== null) g.devUsed.set(labels, d.mbUsed * 1024 * 1024);
    g.devUp.set(labels, d.observed === 'writeable' || d.observed === 'readonly' ? 1 : 0);
  }
  g.dbUp.set(1);
}

/** Walks every fid a page at a time: how many files, their bytes, and how many are short of copies or hosts. */
async function scanFids(store: Store): Promise<{ short: number; count: number; bytes: number; spread: number }> {
  const classes = new Map((await store.listClasses()).map((c) => [c.id, c.mindevcount]));
  let after = 0;
  const totals = { short: 0, count: 0, bytes: 0, spread: 0 };
  for (;;) {
    // The same window of fids, judged for host spread in SQL (store/repair.ts has the rule).
    const [page, narrow] = await Promise.all([store.listFids(after, PAGE), store.fidsOnTooFewHosts(after, PAGE)]);
    totals.spread += narrow.fids.length;
    for (const f of page) {
      totals.count++;
      totals.bytes += f.length;
      if (f.devcount < (classes.get(f.classId) ?? 1)) totals.short++;
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.fid;
  }
  return totals;
}

export function registerClusterMetrics(registry: Registry, store: Store, opts: { scanIntervalMs?: number } = {}): ClusterMetrics {
  const registers = [registry];
  // prom-client reads all metrics at once, awaiting each one's collect(): every gauge filled from
  // the database awaits the same single round of queries.
  const scrape = scrapeGauges(registers, () => refresh());
  const scanned = scanGauges(registers);
  const events = new Counter({ name: 'mogftp_job_events_total', help: 'Replica changes made by the jobs, by kind (copied, deleted, trimmed, reaped, ...)', labelNames: ['type'], registers });
  const copiedBytes = new Counter({ name: 'mogftp_job_copied_bytes_total', help: 'Bytes copied between storage nodes by replication', registers });

  const refresh = shared(() => withDeadline(SCRAPE_DEADLINE_MS, 'the database', () => readCluster(store, scrape)).catch(() => scrape.dbUp.set(0)));

  let scanning: Promise<void> | null = null;
  const scan = () => {
    scanning ??= scanFids(store)
      .then((totals) => {
        scanned.below.set(totals.short);
        scanned.tooFewHosts.set(totals.spread);
        scanned.fids.set(totals.count);
        scanned.fidBytes.set(totals.bytes);
        scanned.scanAge.set(Date.now() / 1000);
      })
      .catch(() => {})
      .finally(() => (scanning = null));
    return scanning;
  };
  const interval = opts.scanIntervalMs ?? 5 * 60_000;
  void scan();
  const timer = setInterval(() => void scan(), interval);
  timer.unref();

  return {
    jobEvent(type, bytes) {
      events.inc({ type });
      if (type === 'copied' && bytes) copiedBytes.inc(bytes);
    },
    scanNow: scan,
    async stop() {
      clearInterval(timer);
      await scanning;
    },
  };
}
