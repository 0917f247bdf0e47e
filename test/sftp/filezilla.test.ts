// FileZilla (the client this server exists for) over SFTP: under Xvfb, driven with xdotool, its
// "Logging file" setting on. It connects with the password in the URL, the unknown host key is
// accepted once (Return on the dialog), it lists "/", and an upload started from its local file
// list (End, Return on the file) commits; the bytes read back over WebDAV match. Skipped where
// FileZilla, xdotool or Xvfb are not installed (Debian: filezilla xdotool xvfb).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dav } from '../harness/clients.ts';
import { sha256, useCluster } from '../harness/cluster.ts';
import { startTestSftp, type TestSftp } from './lib.ts';

const missing = ['filezilla', 'xdotool', 'Xvfb'].filter((p) => spawnSync('sh', ['-c', `command -v ${p}`]).status !== 0);

/** Polls `probe` until it gives a value; fails with the diagnostics on time out, or at once when `gone()` says the program died. */
async function until<T>(what: string, probe: () => Promise<T | null> | T | null, diagnostics: () => Promise<string>, timeoutMs = 30_000, gone: () => boolean = () => false): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (gone()) throw new Error(`the program died while waiting for ${what}\n${await diagnostics()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${await diagnostics()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('FileZilla over SFTP', { skip: missing.length ? `not installed: ${missing.join(', ')}` : false }, () => {
  const c = useCluster({ db: 'sqlite', dav: true, tmpDir: 'mogftp-sftp-fz-' });
  let t: TestSftp;
  const procs: ChildProcess[] = [];
  before(async () => {
    t = await startTestSftp(c, join(c.tmpDir, 'keys'));
  });
  after(async () => {
    for (const p of procs.reverse()) p.kill('SIGKILL');
    await t?.server.close();
  });

  test('connects, accepts the host key once, lists / and uploads a file', async () => {
    const dir = c.tmpDir;
    const home = join(dir, 'home');
    const local = join(dir, 'local');
    const log = join(dir, 'filezilla.log');
    await mkdir(join(home, '.config', 'filezilla'), { recursive: true });
    await mkdir(local);
    const body = randomBytes(3_000_000);
    await writeFile(join(local, 'fzupload.bin'), body);
    // The greeting settings keep the first-run welcome dialog away; no update check, no prompts.
    const settings = {
      'Logging file': log,
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
    const logText = () => readFile(log, 'utf8').catch(() => '(no log yet)');
    await until('Xvfb', () => (spawnSync('xdotool', ['getdisplaygeometry'], { env }).status === 0 ? true : null), xvfbSaid, 10_000);
    let fz!: ChildProcess;
    let fzOut = '';
    const fzGone = () => fz.exitCode !== null || fz.signalCode !== null;
    const diagnostics = async () =>
      `${await logText()}\nfilezilla ${fzGone() ? `exited (${fz.exitCode ?? fz.signalCode})` : 'runs'}; it said: ${fzOut}\n${await xvfbSaid()}\nwindows: ${xdo('search', '--name', '.').stdout.split('\n').map((w) => w && xdo('getwindowname', w).stdout.trim()).join(' | ')}`;
    // FileZilla has died at start-up with "Unable to initialize GTK+" on a display xdotool had
    // just used (cause not found; -noreset above is one guess): that start is made again, at
    // most twice, and said on the test's output. Any other death fails the test.
    let dialog = '';
    for (let attempt = 1; !dialog; attempt++) {
      fz = spawn('filezilla', [`--local=${local}`, `sftp://demo:demo@127.0.0.1:${t.port}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      procs.push(fz);
      fzOut = '';
      fz.stdout!.on('data', (d) => (fzOut = (fzOut + d).slice(-4000)));
      fz.stderr!.on('data', (d) => (fzOut = (fzOut + d).slice(-4000)));
      // The dialog's window id, or '' when FileZilla exited first.
      const probe = () => xdo('search', '--name', 'Unknown host key').stdout.trim().split('\n')[0] || (fzGone() ? '' : null);
      dialog = await until('the unknown host key dialog', probe, diagnostics);
      if (dialog) break;
      if (attempt >= 3 || !/Unable to initialize GTK/.test(fzOut)) throw new Error(`FileZilla exited before its host key dialog\n${await diagnostics()}`);
      process.stdout.write(`# FileZilla start ${attempt} failed, starting it again: ${fzOut.trim().split('\n')[0]}\n${(await xvfbSaid()).replace(/^/gm, '# ')}\n`);
    }
    xdo('windowfocus', '--sync', dialog);
    xdo('key', 'Return');
    await until('the listing of /', async () => ((await logText()).includes('Directory listing of "/" successful') ? true : null), diagnostics, 30_000, fzGone);
    const main = await until('the main window', () => xdo('search', '--name', 'sftp://.* - FileZilla').stdout.trim().split('\n')[0] || null, diagnostics, 30_000, fzGone);
    // The local file list (left, below the local tree) in FileZilla's default layout on this screen:
    // its last entry is the file; Return on it uploads it. Done again (every 5 s) while the log
    // shows no upload starting: keys sent before the list had its entries are lost.
    const startUpload = () => {
      xdo('windowfocus', '--sync', main);
      xdo('mousemove', '340', '560', 'click', '1');
      xdo('key', 'End');
      xdo('key', 'Return');
    };
    startUpload();
    let lastTry = Date.now();
    // A second connection makes the transfer; its host key dialog comes only if the first was not kept.
    const done = await until(
      'the upload',
      async () => {
        const text = await logText();
        const again = xdo('search', '--name', 'Unknown host key').stdout.trim();
        if (again) {
          xdo('windowfocus', '--sync', again.split('\n')[0]!);
          xdo('key', 'Return');
        } else if (!/Starting upload of/.test(text) && Date.now() - lastTry > 5000) {
          startUpload();
          lastTry = Date.now();
        }
        return /File transfer successful, transferred 3[,.]?000[,.]?000 bytes/.test(text) ? text : null;
      },
      diagnostics,
      30_000,
      fzGone,
    );
    assert.match(done, /Status: Starting upload of .*fzupload\.bin/);
    const got = await dav(c.dav.url, 'GET', '/fzupload.bin');
    assert.equal(got.status, 200);
    assert.equal(sha256(got.body), sha256(body));
  });
});
