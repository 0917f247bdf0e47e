// The original MogileFS as a column of the benchmark: its own Perl client (MogileFS::Client)
// storing and fetching the same files against a real MogileFS 2.73 cluster (mogilefsd + three
// mogstored on the local MariaDB), run by ../shared/mogilefs/up.sh from the public sources.
//
// What it measures is MogileFS's own path: create_open on the tracker, one HTTP PUT to one
// mogstored, create_close; the second replica is made later by the tracker's replicate workers,
// and nothing is fsynced before the client is answered. So its figures are the speed of a weaker
// promise than a mogftp 226 (both replicas fsynced and verified); BENCHMARKS.md says so beside them.
//
// Every timed step is one Perl process, as every FTP figure is one curl or lftp process, so the
// start-up of the client (about 0.1-0.2 s for Perl with LWP) is inside both.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTimed } from './clients.ts';
import type { Options } from './options.ts';
import type { Sample, TestId } from './report.ts';
import { REPO } from './servers.ts';
import { load1 } from './stats.ts';

export const MOGILEFS = 'mogilefs';
const SCRIPTS = process.env.MOGFTP_MOGILEFS_DIR ?? join(REPO, '..', 'shared', 'mogilefs');
const MIRRORS = process.env.MOG_MIRROR_DIR ?? '/work/.mirror';
const ANCHOR = process.env.MOG_ANCHOR_DIR ?? '/tmp/mogilefs-anchor';
const DOMAIN = 'testdom';
const CLASS = 'two';
const REPOS = ['MogileFS-Server', 'perl-MogileFS-Client', 'MogileFS-Utils'];

// One client process: `store CLASS FILE KEY…`, `fetch KEY FILE…` (tries each path in turn, streams
// to the file), `delete KEY…`. Dies with the tracker's error text on the first failure.
const CLIENT_PL = String.raw`use strict;
use warnings;
use MogileFS::Client;
use LWP::UserAgent;
my ($mode, @args) = @ARGV;
my $mogc = MogileFS::Client->new(domain => '${DOMAIN}', hosts => [split /,/, $ENV{MOG_TRACKERS}])
  or die "cannot make a MogileFS client\n";
my $ua = LWP::UserAgent->new(keep_alive => 4, timeout => 600);
if ($mode eq 'store') {
  my $class = shift @args;
  while (my ($file, $key) = splice(@args, 0, 2)) {
    defined $mogc->store_file($key, $class, $file) or die "store $key: " . ($mogc->errstr // '?') . "\n";
  }
} elsif ($mode eq 'fetch') {
  KEY: while (my ($key, $file) = splice(@args, 0, 2)) {
    my @paths = $mogc->get_paths($key);
    die "get_paths $key: " . ($mogc->errstr // 'none') . "\n" unless @paths;
    for my $url (@paths) {
      next KEY if $ua->get($url, ':content_file' => $file)->is_success;
    }
    die "fetch $key: no path answered\n";
  }
} elsif ($mode eq 'delete') {
  $mogc->delete($_) for @args;
} else {
  die "unknown mode $mode\n";
}
`;

export interface RealMogilefs {
  name: typeof MOGILEFS;
  /** The five transfer figures of one run, as samples of the table. */
  run(run: number): Promise<Sample[]>;
}

/** Why the column cannot be measured here, or null when the sources and the script are present. */
export function realMogilefsMissing(): string | null {
  if (!existsSync(join(SCRIPTS, 'up.sh'))) return `no ${join(SCRIPTS, 'up.sh')}`;
  const absent = REPOS.filter((r) => !existsSync(join(MIRRORS, `mogilefs+${r}`, 'repo')));
  if (absent.length) return `no MogileFS sources in ${MIRRORS} (${absent.join(', ')}): set MOG_MIRROR_DIR`;
  return null;
}

/** Brings the real cluster up (up.sh is idempotent) and returns the column's runner. */
export async function startRealMogilefs(o: Options, work: string, bigFile: string, smallDir: string, log: (m: string) => void): Promise<RealMogilefs> {
  log('bench: starting the real MogileFS cluster (../shared/mogilefs/up.sh; the first time installs Debian Perl packages)');
  execFileSync('bash', [join(SCRIPTS, 'up.sh')], { env: { ...process.env, MOG_MIRROR_DIR: MIRRORS }, stdio: ['ignore', 'ignore', 'inherit'], timeout: 900_000 });
  const script = join(work, 'mogilefs-client.pl');
  writeFileSync(script, CLIENT_PL);
  const perl = (args: string[]) => runTimed('bash', ['-c', `. ${ANCHOR}/env.sh && exec perl "$@"`, 'bench', script, ...args], { timeoutMs: 1_800_000 });
  const small = readdirSync(smallDir).sort();
  const pairs = (prefix: string, names: string[]) => names.flatMap((n) => [join(smallDir, n), `${prefix}/${n}`]);

  return {
    name: MOGILEFS,
    async run(run) {
      const tag = `bench-${process.pid}-${run}`;
      const samples: Sample[] = [];
      const timed = async (test: TestId, args: string[]) => {
        const load = load1();
        const { seconds } = await perl(args);
        samples.push({ test, server: MOGILEFS, run, seconds, load });
        log(`  run ${run} ${test.padEnd(6)} ${MOGILEFS.padEnd(14)} ${seconds.toFixed(2).padStart(8)} s  (load ${load.toFixed(1)})`);
      };
      const bigOut = join(work, `mogilefs-big-${run}.bin`);
      await timed('stor', ['store', CLASS, bigFile, `${tag}/big`]);
      await timed('retr', ['fetch', `${tag}/big`, bigOut]);
      execFileSync('cmp', [bigFile, bigOut]);
      rmSync(bigOut, { force: true });
      await timed('up1', ['store', CLASS, ...pairs(`${tag}/up1`, small)]);
      // --parallel=8 as eight client processes, each storing its eighth of the files.
      const load = load1();
      const t0 = process.hrtime.bigint();
      await Promise.all(Array.from({ length: 8 }, (_, i) => perl(['store', CLASS, ...pairs(`${tag}/up8`, small.filter((_, j) => j % 8 === i))])));
      samples.push({ test: 'up8', server: MOGILEFS, run, seconds: Number(process.hrtime.bigint() - t0) / 1e9, load });
      const down = join(work, `mogilefs-down-${run}`);
      mkdirSync(down);
      await timed('down', ['fetch', ...small.flatMap((n) => [`${tag}/up1/${n}`, join(down, n)])]);
      const got = readdirSync(down).length;
      if (got !== o.smallFiles) throw new Error(`${MOGILEFS}: fetched ${got} of ${o.smallFiles} files`);
      rmSync(down, { recursive: true, force: true });
      // Not timed: the run's keys go, so the anchor cluster does not grow with every bench.
      await perl(['delete', `${tag}/big`, ...small.flatMap((n) => [`${tag}/up1/${n}`, `${tag}/up8/${n}`])]);
      return samples;
    },
  };
}
