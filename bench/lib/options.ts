// The benchmark's command line (see bench/run.ts) and the sizes it implies.
import { join } from 'node:path';
import { REPO } from './servers.ts';

export interface Options {
  runs: number;
  quick: boolean;
  servers: string[];
  skip: Set<string>;
  bigBytes: number;
  rssBytes: number;
  smallFiles: number;
  listEntries: number;
  million: number;
  out: string;
  write: boolean;
  /** Another checkout's bin/mogftp.js: its quickstart measured beside this one's, as quickstart-base. */
  quickstartBase?: string;
}

export function parseArgs(argv: string[]): Options {
  const get = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const MiB = 1024 * 1024;
  return {
    runs: Number(get('--runs') ?? 3),
    quick,
    servers: (get('--servers') ?? 'pure,ftpsrv,sqlite,mysql,quickstart').split(','),
    skip: new Set((get('--skip') ?? '').split(',').filter(Boolean)),
    bigBytes: quick ? 64 * MiB : 1024 * MiB,
    rssBytes: quick ? 256 * MiB : 4096 * MiB,
    smallFiles: quick ? 200 : 1000,
    listEntries: 10_000,
    million: Number(get('--million') ?? (quick ? 100_000 : 1_000_000)),
    out: get('--out') ?? join(REPO, 'BENCHMARKS.md'),
    write: !argv.includes('--no-write'),
    quickstartBase: get('--quickstart-base'),
  };
}

export function mib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${bytes / 1024 ** 3} GiB` : `${bytes / 1024 ** 2} MiB`;
}
