// The README's first command, as a new user runs it: `mogftp quickstart` brings up a whole
// cluster, curl uploads and downloads, admin works against its database, Ctrl-C stops it, and a
// second run finds the data again.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { curl, ftpUrl, run } from '../harness/clients.ts';
import { sha256 } from '../harness/cluster.ts';
import { freePort } from '../harness/nodes.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'mogftp.js');
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function startQuickstart(data: string, port: number): Promise<{ proc: ChildProcess; output: () => string }> {
  const proc = spawn(process.execPath, [BIN, 'quickstart', '--data', data, '--port', String(port), '--pasv-ports', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 30_000;
  while (!out.includes('Press Ctrl-C to stop.')) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`quickstart did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, output: () => out };
}

async function stop(proc: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

async function fidFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.name.endsWith('.fid')) out.push(e.name);
  return out;
}

test('quickstart: one command, curl up and down, admin on its DB, clean stop, data kept across runs', async () => {
  const base = await mkdtemp(join(tmpdir(), 'mogftp-qs-'));
  dirs.push(base);
  const data = join(base, 'data');
  const port = await freePort();
  const first = await startQuickstart(data, port);
  const body = randomBytes(1_000_000);
  try {
    assert.match(first.output(), new RegExp(`ftp://demo:demo@127\\.0\\.0\\.1:${port}/`));
    assert.match(first.output(), /lftp -u demo,demo/);
    assert.match(first.output(), /filezilla/i);
    const up = await curl(['-T', '-', ftpUrl(port, '/smoke.bin')], { input: body });
    assert.equal(up.code, 0, up.stderr);
    const down = await run('sh', ['-c', `curl -sS '${ftpUrl(port, '/smoke.bin')}' | sha256sum`]);
    assert.equal(down.stdout.split(' ')[0], sha256(body));
    assert.equal((await fidFiles(data)).length, 2, 'two replicas on disk');
    const devices = await run(process.execPath, [BIN, 'admin', '--db', `sqlite:${join(data, 'mogftp.db')}`, 'device', 'list', '--json']);
    assert.equal(devices.code, 0, devices.stderr);
    const list = JSON.parse(devices.stdout);
    assert.equal(list.length, 3);
    assert.equal(new Set(list.map((d: { hostId: number }) => d.hostId)).size, 3, 'three hosts');
    // A second quickstart on the same data directory refuses to start, and names the first.
    const second = await run(process.execPath, [BIN, 'quickstart', '--data', data, '--port', String(await freePort()), '--pasv-ports', '0']);
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`Another quickstart \\(pid ${first.proc.pid}\\) is using`));
    const still = await run('sh', ['-c', `curl -sS '${ftpUrl(port, '/smoke.bin')}' | sha256sum`]);
    assert.equal(still.stdout.split(' ')[0], sha256(body), 'the first one still serves');
  } finally {
    assert.equal(await stop(first.proc, 'SIGINT'), 0, `clean exit on Ctrl-C:\n${first.output()}`);
  }

  const second = await startQuickstart(data, port);
  try {
    const again = await run('sh', ['-c', `curl -sS '${ftpUrl(port, '/smoke.bin')}' | sha256sum`]);
    assert.equal(again.stdout.split(' ')[0], sha256(body), 'the file survives a restart');
  } finally {
    assert.equal(await stop(second.proc, 'SIGTERM'), 0, `clean exit on SIGTERM:\n${second.output()}`);
  }
});
