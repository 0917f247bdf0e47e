// One prom-client registry per daemon process: Node's process metrics plus ours. Each part
// (FTP, storage node, cluster view) adds its metrics with its own register function.
import { readFileSync } from 'node:fs';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** mogftp's version: the nearest package.json above this module (src/metrics/ or dist/src/metrics/). */
const VERSION = (() => {
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    try {
      return (JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { version: string }).version;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return 'unknown';
    }
    if (dir.pathname === '/') return 'unknown';
  }
})();

/** `daemon` is the subcommand (ftp, storage, jobs, quickstart), shown on mogftp_build_info. */
export function createRegistry(daemon: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const info = new Gauge({
    name: 'mogftp_build_info',
    help: 'Always 1; labels say which mogftp version and subcommand this process runs',
    labelNames: ['version', 'daemon'],
    registers: [registry],
  });
  info.set({ version: VERSION, daemon }, 1);
  return registry;
}

/** Runs `fn` but gives up after `ms` (a scrape or probe must not hang on a stuck database). */
export function withDeadline<T>(ms: number, what: string, fn: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    fn().then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
