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

async function until<T>(what: string, probe: () => Promise<T | null> | T | null, diagnostics: () => Promise<string>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
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
    // be held by another X server, or by the lock file of one that was killed.
    const xvfb = spawn('Xvfb', ['-displayfd', '3', '-nolisten', 'tcp', '-screen', '0', '1280x900x24'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    procs.push(xvfb);
    let displayOut = '';
    xvfb.stdio[3]!.on('data', (d: Buffer) => (displayOut += d.toString()));
    const display = `:${await until('Xvfb to choose a display', () => (/^\d+\n/.test(displayOut) ? displayOut.trim() : null), async () => 'Xvfb wrote no display number', 10_000)}`;
    const env = { ...process.env, DISPLAY: display, HOME: home };
    const xdo = (...args: string[]) => spawnSync('xdotool', args, { env, encoding: 'utf8' });
    const logText = () => readFile(log, 'utf8').catch(() => '(no log yet)');
    await until('Xvfb', () => (spawnSync('xdotool', ['getdisplaygeometry'], { env }).status === 0 ? true : null), logText, 10_000);
    const fz = spawn('filezilla', [`--local=${local}`, `sftp://demo:demo@127.0.0.1:${t.port}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(fz);
    let fzOut = '';
    fz.stdout!.on('data', (d) => (fzOut += d));
    fz.stderr!.on('data', (d) => (fzOut += d));
    const diagnostics = async () => `${await logText()}\nfilezilla said: ${fzOut.slice(-2000)}\nwindows: ${xdo('search', '--name', '.').stdout.split('\n').map((w) => w && xdo('getwindowname', w).stdout.trim()).join(' | ')}`;
    const dialog = await until('the unknown host key dialog', () => xdo('search', '--name', 'Unknown host key').stdout.trim().split('\n')[0] || null, diagnostics);
    xdo('windowfocus', '--sync', dialog);
    xdo('key', 'Return');
    await until('the listing of /', async () => ((await logText()).includes('Directory listing of "/" successful') ? true : null), logText);
    const main = await until('the main window', () => xdo('search', '--name', 'sftp://.* - FileZilla').stdout.trim().split('\n')[0] || null, logText);
    xdo('windowfocus', '--sync', main);
    // The local file list (left, below the local tree) in FileZilla's default layout on this screen.
    xdo('mousemove', '340', '560', 'click', '1');
    xdo('key', 'End');
    xdo('key', 'Return');
    // A second connection makes the transfer; its host key dialog comes only if the first was not kept.
    const done = await until(
      'the upload',
      async () => {
        const text = await logText();
        const again = xdo('search', '--name', 'Unknown host key').stdout.trim();
        if (again) {
          xdo('windowfocus', '--sync', again.split('\n')[0]!);
          xdo('key', 'Return');
        }
        return /File transfer successful, transferred 3[,.]?000[,.]?000 bytes/.test(text) ? text : null;
      },
      logText,
    );
    assert.match(done, /Status: Starting upload of .*fzupload\.bin/);
    const got = await dav(c.dav.url, 'GET', '/fzupload.bin');
    assert.equal(got.status, 200);
    assert.equal(sha256(got.body), sha256(body));
  });
});
