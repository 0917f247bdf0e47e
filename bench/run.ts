// `npm run bench`: mogftp against pure-ftpd (the ceiling) and plain ftp-srv (the library
// baseline), all on loopback in one run, so every figure can be a ratio measured under the same
// conditions. See BENCHMARKS.md for the last run and what it means.
//
//   npm run bench -- [--runs N] [--quick] [--servers pure,ftpsrv,sqlite,mysql,quickstart]
//                    [--quickstart-base OTHER_CHECKOUT/bin/mogftp.js]
//                    [--skip rss,roundtrips,million,floor,mogilefs] [--million N] [--out FILE] [--no-write]
//
// This file runs the measurements; lib/options.ts reads the command line, lib/report.ts turns
// the samples into the table, the verdicts and BENCHMARKS.md's generated section.
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { curlRetr, curlStor, curlStorStream, mirrorDown, mirrorUp } from './lib/clients.ts';
import { bigFileFloor, bigReadFloor, smallFileFloor, smallReadFloor } from './lib/floors.ts';
import { MiniFtp } from './lib/ftp-client.ts';
import { realMogilefsMissing, startRealMogilefs, type RealMogilefs } from './lib/mogilefs-real.ts';
import { startMogCluster, type MogCluster } from './lib/mogftp.ts';
import { mib, parseArgs, type Options } from './lib/options.ts';
import { cleanupAll, tempDir } from './lib/procs.ts';
import { render, writeBenchmarks, type MillionResult, type Report, type RssResult, type Sample, type TestId } from './lib/report.ts';
import { startQuickstartServer } from './lib/quickstart.ts';
import { measureRoundTrips } from './lib/roundtrips.ts';
import { REPO, ensurePureFtpd, startPlainFtpSrv, startPureFtpd, type BenchServer } from './lib/servers.ts';
import { fmtSeconds, load1, memMiB, sampleRss, spread } from './lib/stats.ts';

// --- the work -------------------------------------------------------------------------------

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
  if (!o.skip.has('floor')) {
    // The floors, under this run's load (lib/floors.ts): a 'floor' row for each transfer figure.
    const floor = { name: 'floor' } as BenchServer;
    await measure(ctx, 'stor', floor, run, () => bigFileFloor(ctx.work, o.bigBytes));
    await measure(ctx, 'retr', floor, run, () => bigReadFloor(ctx.bigFile));
    await measure(ctx, 'up1', floor, run, () => smallFileFloor(ctx.work, o.smallFiles));
    await measure(ctx, 'up8', floor, run, () => smallFileFloor(ctx.work, o.smallFiles, 8));
    await measure(ctx, 'down', floor, run, () => smallReadFloor(ctx.smallDir));
  }
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

/** The measurements beyond the table, on the mogftp clusters only: memory, round trips, many files. */
async function extraPhases(ctx: Ctx, mogs: MogCluster[]): Promise<Pick<Report, 'rss' | 'roundTrips' | 'million'>> {
  const { o, log } = ctx;
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
      log(`  RETR→226 ${rt.retrMs.median.toFixed(1)} ms, ${rt.statementsPerRetr.toFixed(1)} statements per RETR; ${rt.nodeConnections} new connections to the nodes for ${2 * rt.files} transfers`);
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
  return { rss, roundTrips, million };
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
  if (o.servers.includes('quickstart')) servers.push(await startQuickstartServer('quickstart', join(REPO, 'bin', 'mogftp.js')));
  if (o.quickstartBase) servers.push(await startQuickstartServer('quickstart-base', o.quickstartBase));
  for (const s of servers) await s.makeListDir('list10k', o.listEntries);
  // The original MogileFS, when its sources and the cluster script are here (lib/mogilefs-real.ts).
  let real: RealMogilefs | null = null;
  const missing = o.skip.has('mogilefs') ? 'skipped (--skip mogilefs)' : realMogilefsMissing();
  if (missing === null) real = await startRealMogilefs(o, work, bigFile, smallDir, log);
  else log(`bench: no real-MogileFS column: ${missing}`);

  for (let run = 1; run <= o.runs; run++) {
    log(`bench: run ${run}/${o.runs}`);
    await oneRun(ctx, servers, run);
    if (real) ctx.samples.push(...(await real.run(run)));
  }

  const { rss, roundTrips, million } = await extraPhases(ctx, mogs);

  const report: Report = {
    o,
    argv,
    started,
    seconds: (Date.now() - started.getTime()) / 1000,
    servers: [...servers.map((s) => s.name), ...(real ? [real.name] : [])],
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
