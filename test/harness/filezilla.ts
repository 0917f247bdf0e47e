// FileZilla (the client this server exists for) in tests: run under Xvfb, driven with xdotool,
// its "Logging file" setting on so that what it did is read from its own log. Used by the SFTP
// and the FTPS FileZilla tests; they skip where FileZilla, xdotool or Xvfb are missing (Debian:
// filezilla xdotool xvfb, which .ci/run installs).
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const fileZillaMissing = ['filezilla', 'xdotool', 'Xvfb'].filter((p) => spawnSync('sh', ['-c', `command -v ${p}`]).status !== 0);

/** Polls `probe` until it gives a value; fails with the diagnostics on time out, or at once when `gone()` says the program died. */
export async function until<T>(what: string, probe: () => Promise<T | null> | T | null, diagnostics: () => Promise<string>, timeoutMs = 30_000, gone: () => boolean = () => false): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (gone()) throw new Error(`the program died while waiting for ${what}\n${await diagnostics()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${await diagnostics()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface FileZillaSession {
  /** xdotool on FileZilla's display. */
  xdo(...args: string[]): SpawnSyncReturns<string>;
  /** FileZilla's log so far. */
  log(): Promise<string>;
  /** Polls like until(), with FileZilla's log, output and windows as the diagnostics, failing at once if it died. */
  until<T>(what: string, probe: () => Promise<T | null> | T | null, timeoutMs?: number): Promise<T>;
  /** The id of the first window whose name matches, or ''. */
  window(name: string): string;
  /** Focuses the window and presses Return (a dialog's default button). */
  confirm(window: string): void;
  /**
   * Uploads the last file of the local file list (FileZilla's default layout on this screen:
   * left, below the local tree; Return on it uploads it), pressing Return on any `dialog` that
   * comes up meanwhile (the data connection may ask again), until the log says `done`.
   */
  uploadLastLocalFile(mainWindow: string, dialog: string, done: RegExp): Promise<string>;
  /** Kills FileZilla and Xvfb. */
  close(): void;
}

/**
 * Starts Xvfb and FileZilla on `url` with `local` as its local directory, and waits for the first
 * window named `firstDialog` (the unknown host key or certificate prompt). `dir` holds its home.
 */
export async function startFileZilla(opts: { dir: string; local: string; url: string; firstDialog: string }): Promise<{ session: FileZillaSession; dialog: string }> {
  const home = join(opts.dir, 'fz-home');
  const logFile = join(opts.dir, 'filezilla.log');
  await mkdir(join(home, '.config', 'filezilla'), { recursive: true });
  // The greeting settings keep the first-run welcome dialog away; no update check, no prompts.
  const settings = {
    'Logging file': logFile,
    'Logging Debug Level': '3',
    'Greeting version': '3.63.0',
    'Greeting resources version': '1',
    'Update Check': '0',
    'Prompt password save': '1',
    'Default editor': '0',
  };
  await writeFile(
    join(home, '.config', 'filezilla', 'filezilla.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>\n<FileZilla3><Settings>\n${Object.entries(settings).map(([k, v]) => `<Setting name="${k}">${v}</Setting>`).join('\n')}\n</Settings></FileZilla3>\n`,
  );
  const procs: ChildProcess[] = [];
  const close = () => {
    for (const p of procs.reverse()) p.kill('SIGKILL');
  };
  try {
    // Xvfb picks a free display itself and writes its number to fd 3: a display chosen here could
    // be held by another X server, or by the lock file of one that was killed. -noreset: an X
    // server resets when its last client leaves, and refuses connections meanwhile; the probe
    // below is such a client, and FileZilla, connecting during that reset, died with "Unable to
    // initialize GTK+, is DISPLAY set properly?" (1 run in 10 before this).
    const xvfb = spawn('Xvfb', ['-displayfd', '3', '-noreset', '-nolisten', 'tcp', '-screen', '0', '1280x900x24'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    procs.push(xvfb);
    let displayOut = '';
    let xvfbOut = '';
    xvfb.stdio[3]!.on('data', (d: Buffer) => (displayOut += d.toString()));
    xvfb.stderr!.on('data', (d: Buffer) => (xvfbOut = (xvfbOut + d.toString()).slice(-4000)));
    const xvfbSaid = async () => `Xvfb ${xvfb.exitCode === null && xvfb.signalCode === null ? 'runs' : `exited (${xvfb.exitCode ?? xvfb.signalCode})`}; it said: ${xvfbOut}`;
    const display = `:${await until('Xvfb to choose a display', () => (/^\d+\n/.test(displayOut) ? displayOut.trim() : null), xvfbSaid, 10_000)}`;
    const env = { ...process.env, DISPLAY: display, HOME: home };
    const xdo = (...args: string[]) => spawnSync('xdotool', args, { env, encoding: 'utf8' });
    const log = () => readFile(logFile, 'utf8').catch(() => '(no log yet)');
    await until('Xvfb', () => (spawnSync('xdotool', ['getdisplaygeometry'], { env }).status === 0 ? true : null), xvfbSaid, 10_000);
    let fz!: ChildProcess;
    let fzOut = '';
    const fzGone = () => fz.exitCode !== null || fz.signalCode !== null;
    const diagnostics = async () =>
      `${await log()}\nfilezilla ${fzGone() ? `exited (${fz.exitCode ?? fz.signalCode})` : 'runs'}; it said: ${fzOut}\n${await xvfbSaid()}\nwindows: ${xdo('search', '--name', '.').stdout.split('\n').map((w) => w && xdo('getwindowname', w).stdout.trim()).join(' | ')}`;
    const window = (name: string) => xdo('search', '--name', name).stdout.trim().split('\n')[0] ?? '';
    // FileZilla has died at start-up with "Unable to initialize GTK+" on a display xdotool had
    // just used (cause not found; -noreset above is one guess): that start is made again, at
    // most twice, and said on the test's output. Any other death fails the test.
    let dialog = '';
    for (let attempt = 1; !dialog; attempt++) {
      fz = spawn('filezilla', [`--local=${opts.local}`, opts.url], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      procs.push(fz);
      fzOut = '';
      fz.stdout!.on('data', (d) => (fzOut = (fzOut + d).slice(-4000)));
      fz.stderr!.on('data', (d) => (fzOut = (fzOut + d).slice(-4000)));
      // The dialog's window id, or '' when FileZilla exited first.
      dialog = await until(`the "${opts.firstDialog}" dialog`, () => window(opts.firstDialog) || (fzGone() ? '' : null), diagnostics);
      if (dialog) break;
      if (attempt >= 3 || !/Unable to initialize GTK/.test(fzOut)) throw new Error(`FileZilla exited before its "${opts.firstDialog}" dialog\n${await diagnostics()}`);
      process.stdout.write(`# FileZilla start ${attempt} failed, starting it again: ${fzOut.trim().split('\n')[0]}\n${(await xvfbSaid()).replace(/^/gm, '# ')}\n`);
    }
    const session: FileZillaSession = {
      xdo,
      log,
      until: (what, probe, timeoutMs = 30_000) => until(what, probe, diagnostics, timeoutMs, fzGone),
      window,
      confirm(w) {
        xdo('windowfocus', '--sync', w);
        xdo('key', 'Return');
      },
      async uploadLastLocalFile(mainWindow, again, done) {
        const start = () => {
          xdo('windowfocus', '--sync', mainWindow);
          xdo('mousemove', '340', '560', 'click', '1');
          xdo('key', 'End');
          xdo('key', 'Return');
        };
        // Done again (every 5 s) while the log shows no upload starting: keys sent before the
        // list had its entries are lost.
        start();
        let lastTry = Date.now();
        return session.until('the upload', async () => {
          const text = await log();
          const prompt = window(again);
          if (prompt) session.confirm(prompt);
          else if (!/Starting upload of/.test(text) && Date.now() - lastTry > 5000) {
            start();
            lastTry = Date.now();
          }
          return done.test(text) ? text : null;
        });
      },
      close,
    };
    return { session, dialog };
  } catch (err) {
    close();
    throw err;
  }
}
