// Storage node metrics: every HTTP request it answered (count and latency by method and status)
// and the size of each device directory's file system, measured when scraped.
import { readdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface StorageRequestInfo {
  method: string;
  status: number;
  durationMs: number;
}

export interface StorageMetrics {
  request(r: StorageRequestInfo): void;
}

const METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'MKCOL']);
/** From 1 ms (a HEAD from page cache) to 5 min (a large PUT that must reach the disk). */
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export function registerStorageMetrics(registry: Registry, root: string): StorageMetrics {
  const registers = [registry];
  const requests = new Counter({
    name: 'mogftp_storage_requests_total',
    help: 'HTTP requests the storage node answered, by method and status code',
    labelNames: ['method', 'code'],
    registers,
  });
  const latency = new Histogram({
    name: 'mogftp_storage_request_duration_seconds',
    help: 'Time from request start to the last byte of the answer (PUT: includes fsync), by method',
    labelNames: ['method'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  // prom-client reads all metrics at once, awaiting each one's collect(): the gauges share one
  // statfs round per scrape.
  let measuring: Promise<void> | null = null;
  const collect = () => (measuring ??= measure().finally(() => (measuring = null)));
  const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames: ['devid'], registers, collect });
  const total = gauge('mogftp_storage_device_total_bytes', 'Size of the file system holding each device directory');
  const free = gauge('mogftp_storage_device_available_bytes', 'Space an unprivileged writer may still use on each device');
  const used = gauge('mogftp_storage_device_used_bytes', 'Space in use on the file system holding each device directory');
  const count = new Gauge({ name: 'mogftp_storage_devices', help: 'Device directories (dev<N>) under the node root', registers, collect });
  async function measure(): Promise<void> {
    const devs = await deviceDirs(root);
    for (const g of [total, free, used]) g.reset();
    for (const { devid, path } of devs) {
      try {
        const s = await statfs(path);
        total.set({ devid }, s.blocks * s.bsize);
        free.set({ devid }, s.bavail * s.bsize);
        used.set({ devid }, (s.blocks - s.bfree) * s.bsize);
      } catch {
        // vanished between readdir and statfs: left out of this scrape
      }
    }
    count.set(devs.length);
  }
  return {
    request(r) {
      const method = METHODS.has(r.method) ? r.method : 'other';
      requests.inc({ method, code: String(r.status) });
      latency.observe({ method }, Math.max(0, r.durationMs) / 1000);
    },
  };
}

export async function deviceDirs(root: string): Promise<Array<{ devid: string; path: string }>> {
  const names = await readdir(root).catch(() => [] as string[]);
  return names
    .map((n) => /^dev([1-9][0-9]*)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ devid: m[1]!, path: join(root, m[0]) }))
    .sort((a, b) => Number(a.devid) - Number(b.devid));
}
