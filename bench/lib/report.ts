// What a benchmark run reports: the table of timings and ratios against pure-ftpd, the extra
// sections (front-end memory, database work per STOR, upload rate with many files stored), the
// MET/MISSED verdicts against the targets, and the generated part of BENCHMARKS.md.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { mib, type Options } from './options.ts';
import type { RoundTrips } from './roundtrips.ts';
import { REPO } from './servers.ts';
import { fmtRatio, fmtSeconds, spread, type Spread } from './stats.ts';

export type TestId = 'stor' | 'retr' | 'up1' | 'up8' | 'down' | 'list' | 'stor4k' | 'login';

interface TestDef {
  id: TestId;
  label: (o: Options) => string;
  /** Target for mogftp ÷ pure-ftpd; null for figures reported without one. */
  target: number | null;
  /** An absolute ceiling in seconds, on top of the ratio. */
  absolute?: number;
}

const TESTS: TestDef[] = [
  { id: 'stor', label: (o) => `${mib(o.bigBytes)} STOR (curl -T)`, target: 2.0 },
  { id: 'retr', label: (o) => `${mib(o.bigBytes)} RETR (curl)`, target: 2.0 },
  { id: 'up1', label: (o) => `${o.smallFiles} × 4 KiB mirror -R, 1 connection`, target: 5.0 },
  { id: 'up8', label: (o) => `${o.smallFiles} × 4 KiB mirror -R --parallel=8`, target: 3.0 },
  { id: 'down', label: (o) => `${o.smallFiles} × 4 KiB mirror back`, target: 2.5 },
  { id: 'list', label: (o) => `LIST of ${o.listEntries} entries (login excluded)`, target: 3.0, absolute: 0.5 },
  { id: 'stor4k', label: () => 'one 4 KiB STOR, median latency (EPSV…226)', target: null },
  { id: 'login', label: () => 'login (connect…230)', target: null },
];

export interface Sample {
  test: TestId;
  server: string;
  run: number;
  seconds: number;
  load: number;
}

export interface RssResult {
  server: string;
  bytes: number;
  seconds: number;
  idleMiB: number;
  peakMiB: number;
  /** RSS at each quarter of the transfer (by time). */
  quarters: number[];
}

export interface MillionResult {
  server: string;
  rows: number;
  insertSeconds: number;
  before: Spread;
  after: Spread;
}

function versions(): Record<string, string> {
  const first = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString().split('\n')[0]!.trim();
    } catch {
      return '?';
    }
  };
  return {
    node: process.version,
    curl: first('curl', ['--version']).split(' ')[1] ?? '?',
    lftp: /Version (\S+)/.exec(first('lftp', ['--version']))?.[1] ?? '?',
    'pure-ftpd': first('dpkg-query', ['-W', '-f', '${Version}', 'pure-ftpd']),
    'ftp-srv': JSON.parse(readFileSync(join(REPO, 'node_modules/ftp-srv/package.json'), 'utf8')).version,
    MariaDB: first('mysql', ['-uroot', '-h127.0.0.1', '-N', '-e', 'SELECT VERSION()']),
    git: first('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']) + (first('git', ['-C', REPO, 'status', '--porcelain', 'src']) === '' ? '' : ' (src has uncommitted changes)'),
  };
}

function cell(sp: Spread): string {
  if (!sp.n) return '—';
  return sp.n > 1 ? `${fmtSeconds(sp.median)} (${fmtSeconds(sp.min)}–${fmtSeconds(sp.max)})` : fmtSeconds(sp.median);
}

/** mogftp ÷ baseline per run (same run, same load), then median/min/max of those. */
function ratios(samples: Sample[], test: TestId, server: string, base: string): Spread {
  const r: number[] = [];
  for (const s of samples.filter((x) => x.test === test && x.server === server)) {
    const b = samples.find((x) => x.test === test && x.server === base && x.run === s.run);
    if (b) r.push(s.seconds / b.seconds);
  }
  return spread(r);
}

function ratioCell(sp: Spread): string {
  if (!sp.n) return '—';
  return sp.n > 1 ? `**${fmtRatio(sp.median)}** (${fmtRatio(sp.min)}–${fmtRatio(sp.max)})` : `**${fmtRatio(sp.median)}**`;
}

export interface Report {
  o: Options;
  argv: string[];
  started: Date;
  seconds: number;
  servers: string[];
  samples: Sample[];
  rssDuringStor: Map<string, number[]>;
  rss: RssResult[];
  roundTrips: Array<{ server: string; rt: RoundTrips }>;
  million: MillionResult[];
  loadStart: number[];
  loadEnd: number[];
}

/** The results table (one row per test) and the target verdicts its ratios give. */
function resultTable(r: Report, verdicts: string[]): { head: string[]; rows: string[][] } {
  const { o, samples } = r;
  const mogs = r.servers.filter((s) => s.startsWith('mogftp') || s.startsWith('quickstart'));
  const hasPure = r.servers.includes('pure-ftpd');
  const head = ['work', ...r.servers, ...mogs.map((m) => `${m} ÷ pure-ftpd`), 'ftp-srv ÷ pure-ftpd', 'target', 'load'];
  const rows: string[][] = [];
  for (const t of TESTS) {
    const spreads = r.servers.map((s) => spread(samples.filter((x) => x.test === t.id && x.server === s).map((x) => x.seconds)));
    if (spreads.every((sp) => sp.n === 0)) continue;
    const mogRatios = mogs.map((m) => ratios(samples, t.id, m, 'pure-ftpd'));
    const libRatio = r.servers.includes('ftp-srv') ? ratios(samples, t.id, 'ftp-srv', 'pure-ftpd') : spread([]);
    const loads = spread(samples.filter((x) => x.test === t.id).map((x) => x.load));
    const target = t.target === null ? '—' : `≤ ${t.target.toFixed(1)}${t.absolute ? ` and < ${t.absolute} s` : ''}`;
    rows.push([t.label(o), ...spreads.map(cell), ...mogRatios.map(ratioCell), ratioCell(libRatio), target, loads.n ? `${loads.min.toFixed(1)}–${loads.max.toFixed(1)}` : '—']);
    if (t.target === null || !hasPure) continue;
    mogs.forEach((m, i) => {
      const ratio = mogRatios[i]!.median;
      const abs = spreads[r.servers.indexOf(m)]!.median;
      const okRatio = ratio <= t.target!;
      const okAbs = t.absolute === undefined || abs < t.absolute;
      const what = `${t.label(o)} on ${m}: ratio ${fmtRatio(ratio)} (target ≤ ${t.target})${t.absolute ? `, ${fmtSeconds(abs)} (target < ${t.absolute} s)` : ''}`;
      verdicts.push(`${okRatio && okAbs ? 'MET   ' : 'MISSED'} ${what}`);
    });
  }
  return { head, rows };
}

/** The quickstart against the multi-process cluster (mogftp/sqlite) in the same run: within 20 %. */
function quickstartSection(r: Report, verdicts: string[]): string[] {
  const qss = r.servers.filter((s) => s.startsWith('quickstart'));
  const cluster = 'mogftp/sqlite';
  if (!qss.length || !r.servers.includes(cluster)) return [];
  const tests = TESTS.filter((t) => ['stor', 'retr', 'up1'].includes(t.id));
  const head = ['work', ...qss.map((q) => `${q} ÷ ${cluster}`), 'target'];
  const rows = tests.map((t) => {
    const cells = qss.map((q) => {
      const sp = ratios(r.samples, t.id, q, cluster);
      if (sp.n && q === 'quickstart') {
        const ok = sp.median <= 1.2;
        verdicts.push(`${ok ? 'MET   ' : 'MISSED'} ${t.label(r.o)} on the quickstart: ${fmtRatio(sp.median)} × the cluster's time (target ≤ 1.2, within 20 %)`);
      }
      return ratioCell(sp);
    });
    return `| ${t.label(r.o)} | ${cells.join(' | ')} | ≤ 1.2 |`;
  });
  return [
    `### The quickstart against the cluster (${cluster}: separate front-end and node processes), same run`,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows,
    '',
  ];
}

/** The original MogileFS (its own Perl client, lib/mogilefs-real.ts) beside pure-ftpd and mogftp, same run. */
function mogilefsSection(r: Report): string[] {
  const name = 'mogilefs';
  if (!r.samples.some((x) => x.server === name)) return [];
  const mogs = r.servers.filter((s) => s.startsWith('mogftp') || s === 'quickstart');
  const tests = TESTS.filter((t) => ['stor', 'retr', 'up1', 'up8', 'down'].includes(t.id));
  const head = ['work', name, `${name} ÷ pure-ftpd`, ...mogs.map((m) => `${m} ÷ ${name}`)];
  return [
    '### The original MogileFS 2.73, same run',
    '',
    'MogileFS::Client 1.16 in one Perl process per figure (store_file; get_paths then an HTTP GET), against mogilefsd and three ' +
      'mogstored on this MariaDB, class mindevcount 2 (../shared/mogilefs/up.sh). "--parallel=8" is eight such processes. MogileFS ' +
      'answers a store after ONE copy is written, unsynced; its replicate workers make the second copy later. A mogftp 226 comes ' +
      'after both copies are fsynced and verified, so a ratio above 1 here is partly the price of that promise.',
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...tests.map((t) => {
      const own = spread(r.samples.filter((x) => x.test === t.id && x.server === name).map((x) => x.seconds));
      return `| ${t.label(r.o)} | ${cell(own)} | ${ratioCell(ratios(r.samples, t.id, name, 'pure-ftpd'))} | ${mogs.map((m) => ratioCell(ratios(r.samples, t.id, m, name))).join(' | ')} |`;
    }),
    '',
  ];
}

/** Each server's figure ÷ the disk's floor measured in the same run (lib/floors.ts). */
function floorSection(r: Report): string[] {
  const floorOf = (test: TestId) => spread(r.samples.filter((x) => x.test === test && x.server === 'floor').map((x) => x.seconds));
  const tests = TESTS.filter((t) => floorOf(t.id).n > 0);
  if (!tests.length) return [];
  const others = r.servers.filter((s) => s !== 'floor');
  const head = ['work', 'floor', ...others.map((s) => `${s} ÷ floor`)];
  const what: Record<string, string> = {
    stor: 'two copies written side by side, each fsynced',
    retr: 'one sha256 pass over the file from the page cache',
    up1: 'two chains of create + write 4 KiB + fsync + fsync dir per file',
    up8: 'the same, eight pairs of chains at once',
    down: 'each file opened, read and hashed once (nothing to flush)',
  };
  return [
    '### The floors: the durable and verified work alone, same run',
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...tests.map((t) => `| ${t.label(r.o)} | ${cell(floorOf(t.id))}: ${what[t.id]} | ${others.map((s) => ratioCell(ratios(r.samples, t.id, s, 'floor'))).join(' | ')} |`),
    '',
    'pure-ftpd fsyncs and hashes nothing, so its figure can be under the floor; mogftp acknowledges only what is on disk and verifies every byte it serves, so the floor bounds it from below.',
    '',
  ];
}

/** The front-end memory section, and its verdicts. */
function rssSection(r: Report, verdicts: string[]): string[] {
  if (!r.rss.length && !r.rssDuringStor.size) return [];
  const extra = ['### Front-end memory during a big STOR (VmRSS of the `mogftp ftp` process)', ''];
  for (const x of r.rss) {
    const peakMB = (x.peakMiB * 1024 * 1024) / 1e6;
    // "Flat": the last quarter of the transfer no higher than 10 % above the first.
    const flat = x.quarters[3]! <= x.quarters[0]! * 1.1;
    const ok = peakMB < 200 && flat;
    verdicts.push(
      `${ok ? 'MET   ' : 'MISSED'} front-end peak RSS during a ${mib(x.bytes)} STOR on ${x.server}: ${peakMB.toFixed(0)} MB = ${x.peakMiB.toFixed(0)} MiB, ` +
        `${flat ? 'flat' : 'growing'} (${x.quarters.map((q) => q.toFixed(0)).join(' → ')} MiB) (target < 200 MB, flat)`,
    );
    extra.push(
      `- ${x.server}, ${mib(x.bytes)} STOR from \`head -c … /dev/zero | curl -T -\` in ${fmtSeconds(x.seconds)}: idle ${x.idleMiB.toFixed(0)} MiB, ` +
        `peak **${x.peakMiB.toFixed(0)} MiB**; at ¼, ½, ¾ and the end of the transfer: ${x.quarters.map((q) => q.toFixed(0)).join(', ')} MiB.`,
    );
  }
  for (const [server, peaks] of r.rssDuringStor) {
    extra.push(`- ${server}, peak during each ${mib(r.o.bigBytes)} STOR of the table: ${peaks.map((p) => p.toFixed(0)).join(', ')} MiB.`);
  }
  extra.push('');
  return extra;
}

const timelineLine = (x: { name: string; start: number; end: number }) =>
  `${x.name.padEnd(24)} ${x.start.toFixed(1).padStart(7)} → ${x.end.toFixed(1).padStart(7)}  (${(x.end - x.start).toFixed(1)} ms)`;

/** The database work per small-file STOR: a table, then each store's STOR and RETR timelines. */
function roundTripSection(r: Report): string[] {
  if (!r.roundTrips.length) return [];
  const extra = [
    '### Database work per small-file STOR',
    '',
    'A front-end in the benchmark process (same database, same storage nodes) with a counting proxy around the Store and counters on the drivers’ statement calls; ' +
      `one logged-in connection stores ${r.roundTrips[0]!.rt.files} files of 4 KiB one after another (EPSV, STOR, data, 226).`,
    '',
    '| store | SQL statements / STOR | store calls / STOR | calls by method | latency per STOR (in-process front-end) |',
    '|---|---|---|---|---|',
    ...r.roundTrips.map(
      ({ server, rt }) =>
        `| ${server} | **${rt.statementsPerStor.toFixed(1)}**${server.endsWith('mysql') ? ' (network round trips, START TRANSACTION/COMMIT included)' : ' (BEGIN/COMMIT counted)'} | ${rt.storeCallsPerStor.toFixed(1)} | ${Object.entries(rt.byMethod)
          .map(([k, v]) => `${k} ${+v.toFixed(2)}`)
          .join(', ')} | ${rt.latencyMs.median.toFixed(1)} ms (${rt.latencyMs.min.toFixed(1)}–${rt.latencyMs.max.toFixed(1)}) |`,
    ),
    '',
  ];
  for (const { server, rt } of r.roundTrips) {
    extra.push(
      `Where one 4 KiB STOR's time goes on ${server} (medians over ${rt.files} STORs, ms after the client sent STOR; the 226 came at ${rt.storMs.median.toFixed(1)} ms). ` +
        `Keep-alive: ${rt.nodeConnections} new TCP connection(s) to the storage nodes for all ${rt.files} STORs and ${rt.files} RETRs (${3 * rt.files} requests). STOR→226 ranged ${rt.storMs.min.toFixed(1)}–${rt.storMs.max.toFixed(1)} ms; ${rt.slowStors} of ${rt.files} took over 45 ms.`,
      '',
      '```',
      ...rt.timeline.map(timelineLine),
      '```',
      '',
      `And one 4 KiB RETR of those files (226 at ${rt.retrMs.median.toFixed(1)} ms after RETR was sent):`,
      '',
      '```',
      ...rt.retrTimeline.map(timelineLine),
      '```',
      '',
    );
  }
  return extra;
}

/** The upload rate with many files stored against (nearly) none, and its verdicts. */
function millionSection(r: Report, verdicts: string[]): string[] {
  if (!r.million.length) return [];
  const extra = [`### 4 KiB upload rate with ${r.million[0]!.rows.toLocaleString('en')} files already stored vs. (nearly) empty`, ''];
  for (const x of r.million) {
    const change = x.after.median / x.before.median - 1;
    const ok = Math.abs(change) <= 0.2 || change > 0;
    verdicts.push(`${ok ? 'MET   ' : 'MISSED'} 4 KiB upload rate with ${x.rows.toLocaleString('en')} files stored on ${x.server}: ${(change * 100).toFixed(0)} % vs. empty (target within 20 %)`);
    extra.push(
      `- ${x.server}: ${x.before.median.toFixed(0)} files/s (${x.before.min.toFixed(0)}–${x.before.max.toFixed(0)}) before, ` +
        `${x.after.median.toFixed(0)} files/s (${x.after.min.toFixed(0)}–${x.after.max.toFixed(0)}) after; **${change >= 0 ? '+' : ''}${(change * 100).toFixed(0)} %**. ` +
        `The ${x.rows.toLocaleString('en')} rows (files, 2 replicas each, entries) went in with bulk SQL in ${x.insertSeconds.toFixed(1)} s.`,
    );
  }
  extra.push('');
  return extra;
}

/** How the run was made: command, date, machine, versions, setup. */
function runDetails(r: Report): string[] {
  const { o } = r;
  const v = versions();
  return [
    `- Command: \`npm run bench${r.argv.length ? ' -- ' + r.argv.join(' ') : ''}\` (${o.runs} run${o.runs === 1 ? '' : 's'} of each figure: median, with min–max)`,
    `- Date: ${r.started.toISOString()}, took ${(r.seconds / 60).toFixed(1)} min`,
    `- Machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM; load average ${r.loadStart.map((x) => x.toFixed(2)).join(' ')} at the start, ${r.loadEnd.map((x) => x.toFixed(2)).join(' ')} at the end (other jobs share the machine; the load column shows the 1-minute average when each figure was taken)`,
    `- Versions: ${Object.entries(v).map(([k, val]) => `${k} ${val}`).join(', ')}`,
    `- Setup: all on 127.0.0.1. pure-ftpd: one virtual user, chrooted temp dir, no fsync. ftp-srv: as shipped, its local file system. mogftp, compiled (dist/, as in production): \`mogftp ftp\` front-end process, two \`mogftp storage\` processes (one device each), class default mindevcount 2 (both replicas written, fsynced and verified before 226), SQLite (WAL, synchronous=FULL) or MariaDB (fresh database, InnoDB, flush at commit). Ratios are mogftp ÷ pure-ftpd within the same run, then median over runs.${r.servers.some((s) => s.startsWith('quickstart')) ? ' quickstart: `mogftp quickstart` (SQLite, three local nodes, jobs; FTP only, no TLS), compiled, as a user starts it' + (r.o.quickstartBase ? `; quickstart-base: the same from ${r.o.quickstartBase}` : '') + '.' : ''}`,
  ];
}

/** The terminal table, the BENCHMARKS.md section and the MET/MISSED verdicts of one run. */
export function render(r: Report): { table: string; md: string; verdicts: string[] } {
  const verdicts: string[] = [];
  const { head, rows } = resultTable(r, verdicts);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.replace(/\*\*/g, '').length)));
  const line = (cols: string[]) => cols.map((c, i) => c.replace(/\*\*/g, '').padEnd(widths[i]!)).join(' | ');
  const table = [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
  const mdTable = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
  const extra = [...floorSection(r), ...quickstartSection(r, verdicts), ...mogilefsSection(r), ...rssSection(r, verdicts), ...roundTripSection(r), ...millionSection(r, verdicts)];
  const md = [
    `## Last run`,
    '',
    ...runDetails(r),
    '',
    mdTable,
    '',
    ...extra,
    '### Targets',
    '',
    ...verdicts.map((x) => `- ${x.startsWith('MET') ? '✅ met' : '❌ missed'}: ${x.slice(7)}`),
    '',
  ].join('\n');
  return { table, md, verdicts };
}

const MARK = '<!-- bench:results -->';
const END_MARK = '<!-- /bench:results -->';

/** Replaces the generated section of BENCHMARKS.md, keeping the hand-written analysis around it. */
export function writeBenchmarks(path: string, md: string): void {
  const block = `${MARK}\n${md}\n${END_MARK}`;
  let text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n\nGenerated by `npm run bench` (bench/run.ts).\n\n';
  const a = text.indexOf(MARK);
  const b = text.indexOf(END_MARK);
  text = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END_MARK.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, text);
}
