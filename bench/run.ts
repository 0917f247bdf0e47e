// `npm run bench`: mogftp against pure-ftpd (the ceiling) and plain ftp-srv (the library
// baseline), all on loopback in one run, so every figure can be a ratio measured under the same
// conditions. See BENCHMARKS.md for the last run and what it means.
//
//   npm run bench -- [--runs N] [--quick] [--servers pure,ftpsrv,sqlite,mysql]
//                    [--skip rss,roundtrips,million] [--million N] [--out FILE] [--no-write]
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { curlRetr, curlStor, curlStorStream, mirrorDown, mirrorUp } from './lib/clients.ts';
import { MiniFtp } from './lib/ftp-client.ts';
import { startMogCluster, type MogCluster } from './lib/mogftp.ts';
import { cleanupAll, tempDir } from './lib/procs.ts';
import { measureRoundTrips, type RoundTrips } from './lib/roundtrips.ts';
import { REPO, ensurePureFtpd, startPlainFtpSrv, startPureFtpd, type BenchServer } from './lib/servers.ts';
import { fmtRatio, fmtSeconds, load1, memMiB, sampleRss, spread, type Spread } from './lib/stats.ts';

// --- options --------------------------------------------------------------------------------

interface Options {
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
}

function parseArgs(argv: string[]): Options {
  const get = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const MiB = 1024 * 1024;
  return {
    runs: Number(get('--runs') ?? 3),
    quick,
    servers: (get('--servers') ?? 'pure,ftpsrv,sqlite,mysql').split(','),
    skip: new Set((get('--skip') ?? '').split(',').filter(Boolean)),
    bigBytes: quick ? 64 * MiB : 1024 * MiB,
    rssBytes: quick ? 256 * MiB : 4096 * MiB,
    smallFiles: quick ? 200 : 1000,
    listEntries: 10_000,
    million: Number(get('--million') ?? (quick ? 100_000 : 1_000_000)),
    out: get('--out') ?? join(REPO, 'BENCHMARKS.md'),
    write: !argv.includes('--no-write'),
  };
}

// --- the work -------------------------------------------------------------------------------

type TestId = 'stor' | 'retr' | 'up1' | 'up8' | 'down' | 'list' | 'stor4k' | 'login';

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
  { id: 'retr', label: (o) => `${mib(o.bigBytes)} RETR (curl)`, target: 1.5 },
  { id: 'up1', label: (o) => `${o.smallFiles} × 4 KiB mirror -R, 1 connection`, target: 2.5 },
  { id: 'up8', label: (o) => `${o.smallFiles} × 4 KiB mirror -R --parallel=8`, target: 2.5 },
  { id: 'down', label: (o) => `${o.smallFiles} × 4 KiB mirror back`, target: 2.5 },
  { id: 'list', label: (o) => `LIST of ${o.listEntries} entries (login excluded)`, target: 3.0, absolute: 0.5 },
  { id: 'stor4k', label: () => 'one 4 KiB STOR, median latency (EPSV…226)', target: null },
  { id: 'login', label: () => 'login (connect…230)', target: null },
];

function mib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${bytes / 1024 ** 3} GiB` : `${bytes / 1024 ** 2} MiB`;
}

interface Sample {
  test: TestId;
  server: string;
  run: number;
  seconds: number;
  load: number;
}

interface Ctx {
  o: Options;
  work: string;
  bigFile: string;
  smallDir: string;
  samples: Sample[];
  rssDuringStor: Map<string, number[]>;
  log: (msg: string) => void;
}

async function measure(ctx: Ctx, test: TestId, s: BenchServer, run: number, fn: () => Promise<number>): Promise<void> {
  const load = load1();
  const seconds = await fn();
  ctx.samples.push({ test, server: s.name, run, seconds, load });
  ctx.log(`  run ${run} ${test.padEnd(6)} ${s.name.padEnd(14)} ${fmtSeconds(seconds).padStart(9)}  (load ${load.toFixed(1)})`);
}

async function oneRun(ctx: Ctx, servers: BenchServer[], run: number): Promise<void> {
  const { o } = ctx;
  // Rotate the order each run so no server always goes first (warm caches, load drift).
  const order = servers.map((_, i) => servers[(i + run) % servers.length]!);
  const big = `big-${run}.bin`;
  for (const s of order) {
    const rss = s.name.startsWith('mogftp') ? sampleRss(s.pid) : null;
    await measure(ctx, 'stor', s, run, async () => (await curlStor(s, ctx.bigFile, big)).seconds);
    if (rss) {
      const peak = Math.max(...rss.stop().map((x) => x.mib));
      ctx.rssDuringStor.set(s.name, [...(ctx.rssDuringStor.get(s.name) ?? []), peak]);
    }
  }
  for (const s of order) await measure(ctx, 'retr', s, run, async () => (await curlRetr(s, big)).seconds);
  for (const s of order) await s.dropBigFiles();
  for (const s of order) await measure(ctx, 'up1', s, run, async () => (await mirrorUp(s, ctx.smallDir, `up1-${run}`)).seconds);
  for (const s of order) await measure(ctx, 'up8', s, run, async () => (await mirrorUp(s, ctx.smallDir, `up8-${run}`, 8)).seconds);
  for (const s of order) {
    const local = join(ctx.work, `down-${run}`);
    rmSync(local, { recursive: true, force: true });
    await measure(ctx, 'down', s, run, async () => (await mirrorDown(s, `up1-${run}`, local)).seconds);
    const got = existsSync(local) ? execFileSync('find', [local, '-type', 'f']).toString().trim().split('\n').length : 0;
    if (got !== o.smallFiles) throw new Error(`${s.name}: mirror back brought ${got} of ${o.smallFiles} files`);
    rmSync(local, { recursive: true, force: true });
  }
  for (const s of order) {
    const t0 = process.hrtime.bigint();
    const c = await MiniFtp.connect(s.port, s.user, s.password);
    const login = Number(process.hrtime.bigint() - t0) / 1e9;
    ctx.samples.push({ test: 'login', server: s.name, run, seconds: login, load: load1() });
    await measure(ctx, 'list', s, run, async () => {
      const t = process.hrtime.bigint();
      const { lines } = await c.list('list10k');
      const secs = Number(process.hrtime.bigint() - t) / 1e9;
      if (lines < o.listEntries) throw new Error(`${s.name}: LIST gave ${lines} lines, expected ${o.listEntries}`);
      return secs;
    });
    // Small-STOR latency: the same loop against every server, on one logged-in connection.
    await c.expect(await c.send(`MKD lat-${run}`), 257);
    const body = Buffer.alloc(4096, 1);
    const lat: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = process.hrtime.bigint();
      await c.stor(`lat-${run}/f${i}`, body);
      lat.push(Number(process.hrtime.bigint() - t) / 1e9);
    }
    ctx.samples.push({ test: 'stor4k', server: s.name, run, seconds: spread(lat).median, load: load1() });
    await c.quit();
  }
}

// --- extra figures --------------------------------------------------------------------------

interface RssResult {
  server: string;
  bytes: number;
  seconds: number;
  idleMiB: number;
  peakMiB: number;
  /** RSS at each quarter of the transfer (by time). */
  quarters: number[];
}

async function rssPhase(ctx: Ctx, m: MogCluster): Promise<RssResult> {
  // A fresh front-end, so the figure belongs to this transfer and not to the tests before it.
  await m.restartFrontend([]);
  await new Promise((r) => setTimeout(r, 1000));
  const idle = memMiB(m.pid);
  const blocks = Math.round(ctx.o.rssBytes / (1024 * 1024));
  const sampler = sampleRss(m.pid, 100);
  const { seconds } = await curlStorStream(m, ['head', '-c', String(ctx.o.rssBytes), '/dev/zero'], `rss-${blocks}.bin`);
  const samples = sampler.stop();
  await m.dropBigFiles();
  const end = samples[samples.length - 1]?.t ?? 1;
  const quarters = [0.25, 0.5, 0.75, 1].map((q) => {
    const hit = samples.filter((s) => s.t <= q * end);
    return hit.length ? hit[hit.length - 1]!.mib : NaN;
  });
  return { server: m.name, bytes: ctx.o.rssBytes, seconds, idleMiB: idle, peakMiB: Math.max(...samples.map((s) => s.mib)), quarters };
}

interface MillionResult {
  server: string;
  rows: number;
  insertSeconds: number;
  before: Spread;
  after: Spread;
}

async function millionPhase(ctx: Ctx, m: MogCluster): Promise<MillionResult> {
  const rate = async (tag: string) => {
    const rates: number[] = [];
    for (let i = 0; i < ctx.o.runs; i++) {
      const { seconds } = await mirrorUp(m, ctx.smallDir, `${tag}-${i}`);
      rates.push(ctx.o.smallFiles / seconds);
      ctx.log(`  ${m.name} ${tag} ${i + 1}: ${(ctx.o.smallFiles / seconds).toFixed(0)} files/s (load ${load1().toFixed(1)})`);
    }
    return spread(rates);
  };
  const before = await rate('empty');
  const t0 = process.hrtime.bigint();
  await m.bulkFiles('million', ctx.o.million);
  const insertSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  ctx.log(`  ${m.name}: ${ctx.o.million} rows inserted in ${insertSeconds.toFixed(1)} s`);
  const after = await rate('full');
  return { server: m.name, rows: ctx.o.million, insertSeconds, before, after };
}

// --- report ---------------------------------------------------------------------------------

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

interface Report {
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

function render(r: Report): { table: string; md: string; verdicts: string[] } {
  const { o, samples } = r;
  const mogs = r.servers.filter((s) => s.startsWith('mogftp'));
  const hasPure = r.servers.includes('pure-ftpd');
  const head = ['work', ...r.servers, ...mogs.map((m) => `${m} ÷ pure-ftpd`), 'ftp-srv ÷ pure-ftpd', 'target', 'load'];
  const rows: string[][] = [];
  const verdicts: string[] = [];
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
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.replace(/\*\*/g, '').length)));
  const line = (cols: string[]) => cols.map((c, i) => c.replace(/\*\*/g, '').padEnd(widths[i]!)).join(' | ');
  const table = [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
  const mdTable = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');

  const extra: string[] = [];
  if (r.rss.length || r.rssDuringStor.size) {
    extra.push('### Front-end memory during a big STOR (VmRSS of the `mogftp ftp` process)', '');
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
      extra.push(`- ${server}, peak during each ${mib(o.bigBytes)} STOR of the table: ${peaks.map((p) => p.toFixed(0)).join(', ')} MiB.`);
    }
    extra.push('');
  }
  if (r.roundTrips.length) {
    extra.push(
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
    );
    for (const { server, rt } of r.roundTrips) {
      extra.push(
        `Where one 4 KiB STOR's time goes on ${server} (medians over ${rt.files} STORs, ms after the client sent STOR; the 226 came at ${rt.storMs.median.toFixed(1)} ms). ` +
          `Keep-alive: ${rt.nodeConnections} new TCP connection(s) to the storage nodes for all ${rt.files} STORs and ${rt.files} RETRs (${3 * rt.files} requests). STOR→226 ranged ${rt.storMs.min.toFixed(1)}–${rt.storMs.max.toFixed(1)} ms; ${rt.slowStors} of ${rt.files} took over 45 ms.`,
        '',
        '```',
        ...rt.timeline.map((x) => `${x.name.padEnd(24)} ${x.start.toFixed(1).padStart(7)} → ${x.end.toFixed(1).padStart(7)}  (${(x.end - x.start).toFixed(1)} ms)`),
        '```',
        '',
        `And one 4 KiB RETR of those files (226 at ${rt.retrMs.median.toFixed(1)} ms after RETR was sent):`,
        '',
        '```',
        ...rt.retrTimeline.map((x) => `${x.name.padEnd(24)} ${x.start.toFixed(1).padStart(7)} → ${x.end.toFixed(1).padStart(7)}  (${(x.end - x.start).toFixed(1)} ms)`),
        '```',
        '',
      );
    }
  }
  if (r.million.length) {
    extra.push(`### 4 KiB upload rate with ${r.million[0]!.rows.toLocaleString('en')} files already stored vs. (nearly) empty`, '');
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
  }

  const v = versions();
  const md = [
    `## Last run`,
    '',
    `- Command: \`npm run bench${r.argv.length ? ' -- ' + r.argv.join(' ') : ''}\` (${o.runs} run${o.runs === 1 ? '' : 's'} of each figure: median, with min–max)`,
    `- Date: ${r.started.toISOString()}, took ${(r.seconds / 60).toFixed(1)} min`,
    `- Machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM; load average ${r.loadStart.map((x) => x.toFixed(2)).join(' ')} at the start, ${r.loadEnd.map((x) => x.toFixed(2)).join(' ')} at the end (other jobs share the machine; the load column shows the 1-minute average when each figure was taken)`,
    `- Versions: ${Object.entries(v).map(([k, val]) => `${k} ${val}`).join(', ')}`,
    `- Setup: all on 127.0.0.1. pure-ftpd: one virtual user, chrooted temp dir, no fsync. ftp-srv: as shipped, its local file system. mogftp, compiled (dist/, as in production): \`mogftp ftp\` front-end process, two \`mogftp storage\` processes (one device each), class default mindevcount 2 (both replicas written, fsynced and verified before 226), SQLite (WAL, synchronous=FULL) or MariaDB (fresh database, InnoDB, flush at commit). Ratios are mogftp ÷ pure-ftpd within the same run, then median over runs.`,
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
function writeBenchmarks(path: string, md: string): void {
  const block = `${MARK}\n${md}\n${END_MARK}`;
  let text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n\nGenerated by `npm run bench` (bench/run.ts).\n\n';
  const a = text.indexOf(MARK);
  const b = text.indexOf(END_MARK);
  text = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END_MARK.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, text);
}

// --- main -----------------------------------------------------------------------------------

function makeData(work: string, o: Options): { bigFile: string; smallDir: string } {
  const bigFile = join(work, 'big.bin');
  const fd = openSync(bigFile, 'w');
  const block = Buffer.allocUnsafe(8 * 1024 * 1024);
  for (let left = o.bigBytes; left > 0; left -= block.length) {
    randomFillSync(block);
    writeSync(fd, block, 0, Math.min(block.length, left));
  }
  closeSync(fd);
  const smallDir = join(work, 'small');
  mkdirSync(smallDir);
  const b = Buffer.allocUnsafe(4096);
  for (let i = 0; i < o.smallFiles; i++) writeFileSync(join(smallDir, `s${String(i).padStart(4, '0')}.bin`), randomFillSync(b));
  return { bigFile, smallDir };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = parseArgs(argv);
  const started = new Date();
  const loadStart = [...(await import('node:os')).loadavg()];
  const log = (msg: string) => process.stderr.write(msg + '\n');
  log(`bench: ${o.quick ? 'quick, ' : ''}${o.runs} runs; servers ${o.servers.join(', ')}; load ${loadStart.map((x) => x.toFixed(2)).join(' ')}`);
  for (const tool of ['curl', 'lftp']) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is needed: apt-get install -y ${tool}`);
    }
  }
  if (o.servers.includes('pure')) ensurePureFtpd(log);
  // mogftp is measured as it runs in production: compiled (bin/mogftp.js runs dist/ while it is current).
  log('bench: compiling src/ to dist/');
  execFileSync(process.execPath, [join(REPO, 'scripts', 'build.js'), '--no-check'], { stdio: ['ignore', 'ignore', 'inherit'] });

  const work = tempDir('mogftp-bench-data-');
  const { bigFile, smallDir } = makeData(work, o);
  const ctx: Ctx = { o, work, bigFile, smallDir, samples: [], rssDuringStor: new Map(), log };

  log('bench: starting servers');
  const servers: BenchServer[] = [];
  if (o.servers.includes('pure')) servers.push(await startPureFtpd());
  if (o.servers.includes('ftpsrv')) servers.push(await startPlainFtpSrv());
  const mogs: MogCluster[] = [];
  for (const backend of ['sqlite', 'mysql'] as const) {
    if (!o.servers.includes(backend)) continue;
    const m = await startMogCluster(backend);
    servers.push(m);
    mogs.push(m);
  }
  for (const s of servers) await s.makeListDir('list10k', o.listEntries);

  for (let run = 1; run <= o.runs; run++) {
    log(`bench: run ${run}/${o.runs}`);
    await oneRun(ctx, servers, run);
  }

  const rss: RssResult[] = [];
  if (!o.skip.has('rss') && mogs[0]) {
    log(`bench: front-end RSS during a ${mib(o.rssBytes)} STOR`);
    rss.push(await rssPhase(ctx, mogs[0]));
  }
  const roundTrips: Report['roundTrips'] = [];
  if (!o.skip.has('roundtrips')) {
    for (const m of mogs) {
      log(`bench: database round trips per STOR on ${m.name}`);
      const rt = await measureRoundTrips(m, 200);
      roundTrips.push({ server: m.name, rt });
      log(`  ${rt.statementsPerStor.toFixed(1)} statements, ${rt.storeCallsPerStor.toFixed(1)} store calls per STOR; STOR→226 ${rt.storMs.median.toFixed(1)} ms (max ${rt.storMs.max.toFixed(1)}, ${rt.slowStors} over 45 ms)`);
      for (const x of rt.timeline) log(`    ${x.name.padEnd(24)} ${x.start.toFixed(1).padStart(7)} → ${x.end.toFixed(1).padStart(7)}`);
      log(`  RETR→226 ${rt.retrMs.median.toFixed(1)} ms; ${rt.nodeConnections} new connections to the nodes for ${2 * rt.files} transfers`);
      for (const x of rt.retrTimeline) log(`    ${x.name.padEnd(24)} ${x.start.toFixed(1).padStart(7)} → ${x.end.toFixed(1).padStart(7)}`);
    }
  }
  const million: MillionResult[] = [];
  if (!o.skip.has('million')) {
    for (const m of mogs) {
      log(`bench: upload rate, empty vs ${o.million} files on ${m.name}`);
      million.push(await millionPhase(ctx, m));
    }
  }

  const report: Report = {
    o,
    argv,
    started,
    seconds: (Date.now() - started.getTime()) / 1000,
    servers: servers.map((s) => s.name),
    samples: ctx.samples,
    rssDuringStor: ctx.rssDuringStor,
    rss,
    roundTrips,
    million,
    loadStart,
    loadEnd: [...(await import('node:os')).loadavg()],
  };
  const { table, md, verdicts } = render(report);
  process.stdout.write(`\n${table}\n\n${verdicts.join('\n')}\n\n`);
  writeFileSync(join(REPO, 'bench', '.last-run.json'), JSON.stringify({ ...report, rssDuringStor: [...report.rssDuringStor] }, null, 1));
  if (o.write) {
    writeBenchmarks(o.out, md);
    log(`bench: wrote ${o.out}`);
  }
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
} finally {
  await cleanupAll();
}
