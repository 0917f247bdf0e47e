// Progress of a long admin operation (fsck, drain, rebalance). On a terminal: one line redrawn
// in place, with a bar when the total is known. Otherwise (a pipe, a log file, cron): a plain
// line now and then, so logs stay readable and grep-able. Either way a final summary line.
//
//   const p = createProgress({ label: 'fsck', total: await countFids() });
//   for (...) { ...; p.tick(); }          // or p.update(done, 'dev3')
//   p.finish('1200 files checked, 2 repaired');
import type { Writable } from 'node:stream';

export interface ProgressOptions {
  label: string;
  /** Items expected; null or undefined when unknown (then no bar, no percentage, no ETA). */
  total?: number | null;
  /** Default process.stderr (stdout stays for the command's real output). */
  stream?: Writable & { isTTY?: boolean; columns?: number };
  /** Force terminal or plain mode. Default: the stream's isTTY. */
  tty?: boolean;
  /** Plain mode: at most one line per this many ms (besides every 10 %). Default 5000. */
  plainIntervalMs?: number;
  /** Terminal mode: redraw at most this often. Default 100. */
  ttyIntervalMs?: number;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

export interface Progress {
  /** Sets the number of items done; `note` (the current item) is shown beside it. */
  update(done: number, note?: string): void;
  /** One more item done. */
  tick(note?: string): void;
  /** Changes the expected total (e.g. once counted). */
  setTotal(total: number | null): void;
  /** Ends the display with a summary line (default: items and time taken). */
  finish(summary?: string): void;
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const tty = opts.tty ?? stream.isTTY === true;
  const now = opts.now ?? Date.now;
  const started = now();
  const plainEvery = opts.plainIntervalMs ?? 5000;
  const ttyEvery = opts.ttyIntervalMs ?? 100;
  let total = opts.total ?? null;
  let done = 0;
  let note = '';
  let lastDraw = -Infinity;
  let lastDecile = 0;
  let finished = false;
  let drawnWidth = 0;

  const rate = () => {
    const secs = (now() - started) / 1000;
    return secs > 0 ? done / secs : 0;
  };

  const counts = () => describeCounts(done, total, rate());

  const drawTty = () => {
    const width = Math.max(40, (stream.columns ?? 80) - 1);
    const bar = total !== null && total > 0 ? `${progressBar(done, total)} ` : '';
    let line = `${opts.label} ${bar}${counts()}${note ? `  ${note}` : ''}`;
    if (line.length > width) line = line.slice(0, width);
    stream.write(`\r${line}${' '.repeat(Math.max(0, drawnWidth - line.length))}`);
    drawnWidth = line.length;
  };

  const maybeDraw = (force: boolean) => {
    if (finished) return;
    const t = now();
    if (tty) {
      if (force || t - lastDraw >= ttyEvery) {
        lastDraw = t;
        drawTty();
      }
      return;
    }
    const decile = total !== null && total > 0 ? Math.floor((Math.min(done, total) * 10) / total) : 0;
    if (force || t - lastDraw >= plainEvery || decile > lastDecile) {
      lastDraw = t;
      lastDecile = decile;
      stream.write(`${opts.label}: ${counts()}${note ? ` (${note})` : ''}\n`);
    }
  };

  return {
    update(n, current) {
      done = n;
      if (current !== undefined) note = current;
      maybeDraw(false);
    },
    tick(current) {
      this.update(done + 1, current);
    },
    setTotal(t) {
      total = t;
      maybeDraw(false);
    },
    finish(summary) {
      if (finished) return;
      const text = summary ?? `${done} item${done === 1 ? '' : 's'} in ${formatDuration(now() - started)}`;
      if (tty) {
        drawTty();
        stream.write('\n');
      }
      finished = true;
      stream.write(`${opts.label}: done, ${text}\n`);
    },
  };
}

/** `done/total pct% rate/s eta T`, leaving out what is unknown. */
function describeCounts(done: number, total: number | null, perSecond: number): string {
  const parts = [total !== null ? `${done}/${total}` : `${done}`];
  if (total !== null && total > 0) parts.push(`${Math.floor((Math.min(done, total) * 100) / total)}%`);
  if (perSecond > 0) parts.push(`${perSecond >= 10 ? Math.round(perSecond) : perSecond.toFixed(1)}/s`);
  if (total !== null && perSecond > 0 && done < total) parts.push(`eta ${formatDuration(((total - done) / perSecond) * 1000)}`);
  return parts.join(' ');
}

/** `[#####-------]`: 24 cells, filled in proportion to done/total (total > 0). */
function progressBar(done: number, total: number): string {
  const cells = 24;
  const full = Math.round((Math.min(done, total) / total) * cells);
  return `[${'#'.repeat(full)}${'-'.repeat(cells - full)}]`;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
