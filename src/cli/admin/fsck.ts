// `mogftp admin fsck start|stop|status|log|clear-log`: the operator's handle on fsck runs. The
// admin command only changes the run's state in the database; `mogftp jobs` processes do the
// checking (see src/jobs/fsck-run.ts), so a run survives the admin command and any restart.
import { fsckProgress, startFsck, stopFsck, type FsckProgress } from '../../jobs/fsck-run.ts';
import type { FsckEvent, Store } from '../../tracker/types.ts';
import { createProgress } from '../progress.ts';
import { leaf, noun, withStore } from './context.ts';
import { formatTime, jsonOption, printList, say, type Column } from './output.ts';
import { parseIntegerArg } from './values.ts';

/** The stable JSON shape of `fsck status`. */
export function statusRecord(p: FsckProgress) {
  const s = p.state;
  return {
    status: s?.status ?? 'never-run',
    runId: s?.runId ?? null,
    startedAt: s?.startedAt ?? null,
    finishedAt: s?.finishedAt ?? null,
    total: s?.total ?? 0,
    queued: s?.queued ?? 0,
    checked: p.checked,
    lastQueuedFid: s?.cursor ?? 0,
    queueDepth: p.queueDepth,
    findings: p.findings,
    stale: p.stale,
  };
}

function describeStatus(p: FsckProgress): string[] {
  const r = statusRecord(p);
  if (!p.state) return ['fsck has never run', `fsck queue: ${r.queueDepth} fid(s) (reported by downloads)`];
  const pct = r.total > 0 ? ` (${Math.min(100, Math.floor((r.checked * 100) / r.total))}%)` : '';
  const lines = [
    `fsck ${r.status}, run ${r.runId} started ${formatTime(r.startedAt)}${r.finishedAt ? `, finished ${formatTime(r.finishedAt)}` : ''}`,
    `checked ${r.checked} of ${r.total} file(s)${pct}; queued up to fid ${r.lastQueuedFid}; ${r.queueDepth} waiting on the fsck queue`,
    `findings: ${Object.keys(r.findings).length ? Object.entries(r.findings).map(([k, v]) => `${k} ${v}`).join(', ') : 'none'}`,
  ];
  if (r.stale) lines.push("warning: no jobs process has worked on this run for a minute; is 'mogftp jobs' running?");
  return lines;
}

/** Follows a run until it is no longer running: a bar on a terminal, plain lines otherwise. */
async function follow(store: Store, pollMs: number): Promise<FsckProgress> {
  let p = await fsckProgress(store);
  const bar = createProgress({ label: 'fsck', total: p.state?.total ?? null });
  let warned = false;
  while (p.state?.status === 'running') {
    bar.update(p.checked, `fid ${p.state.cursor}`);
    if (p.stale && !warned) {
      warned = true;
      process.stderr.write("fsck: no jobs process seems to be working on this run; is 'mogftp jobs' running?\n");
    }
    await new Promise((r) => setTimeout(r, pollMs));
    p = await fsckProgress(store);
  }
  const found = Object.entries(p.findings).map(([k, v]) => `${k} ${v}`).join(', ') || 'no findings';
  bar.update(p.checked);
  bar.finish(`${p.checked} file(s) checked, ${found}${p.state?.status === 'stopped' ? ' (stopped)' : ''}`);
  return p;
}

const start = leaf<{ fresh: boolean; wait: boolean; json: boolean }>({
  command: 'start',
  describe: 'Start an fsck run (or resume a stopped one); mogftp jobs processes do the checking',
  builder: (y) =>
    y
      .option('fresh', { type: 'boolean', default: false, describe: 'Start over from the first file even if a stopped run could resume' })
      .option('wait', { type: 'boolean', default: false, describe: 'Follow the run until it finishes (a progress bar on a terminal)' })
      .option('json', { ...jsonOption, describe: 'Print the status as JSON (after the run with --wait)' }),
  handler: async (args) => {
    await withStore(args, async (store) => {
      const r = await startFsck(store, { fresh: args.fresh });
      if (!args.json) {
        if (r.alreadyRunning) say(`fsck is already running (run ${r.state.runId}, queued up to fid ${r.state.cursor})`);
        else if (r.resumed) say(`fsck resumed (run ${r.state.runId}) after fid ${r.state.cursor}`);
        else say(`fsck started (run ${r.state.runId}): ${r.state.total} file(s) to check`);
      }
      const p = args.wait ? await follow(store, 500) : await fsckProgress(store);
      if (args.json) process.stdout.write(JSON.stringify(statusRecord(p), null, 2) + '\n');
    });
  },
});

const stop = leaf<object>({
  command: 'stop',
  describe: 'Stop the fsck run (fids already queued are still checked); start resumes it',
  handler: async (args) => {
    await withStore(args, async (store) => {
      const s = await stopFsck(store);
      if (!s || s.status !== 'stopped') say('fsck is not running');
      else say(`fsck stopped after fid ${s.cursor} (${s.queued} of ${s.total} queued); 'mogftp admin fsck start' resumes it`);
    });
  },
});

const status = leaf<{ json: boolean; watch: boolean }>({
  command: 'status',
  describe: 'Show the fsck run: progress, findings by event code',
  builder: (y) =>
    y.option('json', { ...jsonOption, describe: 'Print JSON' }).option('watch', { type: 'boolean', default: false, describe: 'Follow a running run until it ends' }),
  handler: async (args) => {
    await withStore(args, async (store) => {
      const p = args.watch ? await follow(store, 500) : await fsckProgress(store);
      if (args.json) process.stdout.write(JSON.stringify(statusRecord(p), null, 2) + '\n');
      else for (const line of describeStatus(p)) say(line);
    });
  },
});

function eventRecord(e: FsckEvent) {
  return { id: e.id, at: e.at, fid: e.fid, devid: e.devid, code: e.code, detail: e.detail };
}
type EventRecord = ReturnType<typeof eventRecord>;

const eventColumns: Column<EventRecord>[] = [
  { header: 'TIME', value: (e) => formatTime(e.at) },
  { header: 'FID', value: (e) => e.fid },
  { header: 'DEVID', value: (e) => e.devid },
  { header: 'CODE', value: (e) => e.code },
  { header: 'DETAIL', value: (e) => e.detail },
];

const log = leaf<{ json: boolean; fid?: string; limit?: string; run: boolean }>({
  command: 'log',
  describe: "List fsck findings (event codes: see 'docs/operations/repair.md')",
  builder: (y) =>
    y
      .option('json', jsonOption)
      .option('fid', { type: 'string', describe: 'Only this fid' })
      .option('limit', { type: 'string', describe: 'Only the latest N findings' })
      .option('run', { type: 'boolean', default: false, describe: 'Only the findings of the latest run' }),
  handler: async (args) => {
    const fid = args.fid === undefined ? undefined : parseIntegerArg('--fid', args.fid, 1);
    const limit = args.limit === undefined ? Infinity : parseIntegerArg('--limit', args.limit, 1);
    await withStore(args, async (store) => {
      let after = args.run ? ((await fsckProgress(store)).state?.firstEventId ?? 0) : 0;
      let events: FsckEvent[] = [];
      for (;;) {
        const page = await store.listFsckEvents({ afterId: after, fid, limit: 1000 });
        events.push(...page);
        if (events.length > limit) events = events.slice(-limit);
        if (page.length < 1000) break;
        after = page[page.length - 1]!.id;
      }
      printList(args.json, events.map(eventRecord), eventColumns);
    });
  },
});

const clearLog = leaf<object>({
  command: 'clear-log',
  describe: 'Remove every fsck finding',
  handler: async (args) => {
    await withStore(args, async (store) => say(`Removed ${await store.clearFsckEvents()} fsck finding(s)`));
  },
});

export const fsckCommand = noun('fsck', 'Check every file’s copies (length, checksum, count) and repair what can be', [start, stop, status, log, clearLog]);
