// `mogftp admin stats | head -1`: the reader goes away and mogftp must stop quietly (no EPIPE
// stack trace, status 0 or 141 as a process killed by SIGPIPE). Each command is spawned with
// its stdout pipe closed on our side before the command writes a byte, so every one of its
// writes fails, deterministically; then the same through a real shell pipeline into head.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../harness/clients.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(REPO, 'bin', 'mogftp.js');
const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MOGFTP_')));

/** Runs mogftp with nobody reading its stdout; its stderr and how it ended. */
function withClosedStdout(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    // Our end of the pipe is closed at once: the child is still starting, so it has written nothing.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

describe('a closed stdout ends every command quietly', () => {
  let dir: string;
  let db: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mogftp-pipe-'));
    db = `sqlite:${join(dir, 'm.db')}`;
    const init = await run(process.execPath, [BIN, 'admin', '--db', db, 'init'], { env: cleanEnv(), timeoutMs: 60_000 });
    assert.equal(init.code, 0, init.stderr);
    const host = await run(process.execPath, [BIN, 'admin', '--db', db, 'host', 'add', 'h1', '--ip', '127.0.0.1', '--port', '7500'], { env: cleanEnv(), timeoutMs: 60_000 });
    assert.equal(host.code, 0, host.stderr);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const commands = (): string[][] => [
    ['admin', '--db', db, 'stats'],
    ['admin', '--db', db, 'host', 'list'],
    ['--help'],
    ['--version'],
  ];

  test('stdout closed before the first write: no stack trace, status 141 (or 0)', async () => {
    for (const args of commands()) {
      const r = await withClosedStdout(args);
      assert.equal(r.stderr, '', `mogftp ${args.join(' ')}: stderr`);
      assert.equal(r.signal, null, `mogftp ${args.join(' ')}: killed by ${r.signal}`);
      assert.ok(r.code === 141 || r.code === 0, `mogftp ${args.join(' ')}: status ${r.code}`);
    }
  });

  test('through a shell pipeline into head -1', async () => {
    const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const line = `${quote(process.execPath)} ${quote(BIN)} admin --db ${quote(db)} stats | head -1; echo "status=\${PIPESTATUS[0]}" >&2`;
    const r = await run('bash', ['-c', line], { env: cleanEnv(), timeoutMs: 60_000 });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^files: \d+/);
    assert.match(r.stderr, /^status=(0|141)\n$/, r.stderr);
  });

  test('a write error other than a closed pipe is still reported', async () => {
    // stdout on /dev/full: ENOSPC is a real failure, not a reader going away.
    const r = await run('bash', ['-c', `'${process.execPath}' '${BIN}' admin --db '${db}' stats > /dev/full`], { env: cleanEnv(), timeoutMs: 60_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /ENOSPC/);
  });
});
