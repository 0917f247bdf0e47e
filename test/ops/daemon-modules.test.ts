// Each front-end daemon loads only its own door: `mogftp ftp` no WebDAV, jobs or storage node
// code, `mogftp dav` no FTP server, jobs or storage node code, `mogftp sftp` neither. The real command runs as a process
// with a module hook that records every file it resolves (fixtures/record-modules.mjs), serves
// until it has printed its listening and admin lines, and is stopped; then the record is read.
// It runs from dist/ or from src/ (bin/mogftp.js chooses), so paths are compared without either.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureHostKeys } from '../../src/sftp/host-keys.ts';
import { openStore } from '../../src/tracker/open.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(REPO, 'bin', 'mogftp.js');
const RECORDER = join(REPO, 'test', 'ops', 'fixtures', 'record-modules.mjs');

let dir: string;
let dbUrl: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mogftp-modules-'));
  dbUrl = `sqlite:${join(dir, 'mogftp.db')}`;
  const store = await openStore(dbUrl, { createDatabase: true });
  await store.migrate();
  await store.close();
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `mogftp <args>` with the recorder, which writes every module URL it loads to `out`; no MOGFTP_* settings from this process. */
function spawnRecorded(name: string, args: string[]): { proc: ChildProcessByStdio<null, Readable, Readable>; out: string } {
  const out = join(dir, `${name}.modules`);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MOGFTP_')));
  const proc = spawn(process.execPath, ['--import', pathToFileURL(RECORDER).href, BIN, ...args], {
    env: { ...env, MOGFTP_TEST_MODULES_OUT: out },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { proc, out };
}

/**
 * Runs `mogftp <args>` until it has printed its listening and admin endpoint lines, stops it with
 * SIGTERM, and returns the repository's source modules it loaded, as `src/dav/server` (no dist/,
 * no extension).
 */
async function modulesLoadedBy(name: string, args: string[]): Promise<string[]> {
  const { proc, out } = spawnRecorded(name, args);
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!(/listening on/.test(stdout) && /admin endpoint on/.test(stdout))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`mogftp ${args.join(' ')} did not start\nstdout: ${stdout}\nstderr: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  assert.equal(await exited, 0, `mogftp ${name} did not stop cleanly\nstderr: ${stderr}`);
  clearTimeout(timer);
  const root = pathToFileURL(REPO).href + '/';
  const loaded = readFileSync(out, 'utf8')
    .split('\n')
    .filter((url) => url.startsWith(root) && !url.startsWith(`${root}node_modules/`))
    .map((url) => url.slice(root.length).replace(/^dist\//, '').replace(/\.(?:ts|js)$/, ''));
  return [...new Set(loaded)].sort();
}

const daemonFlags = ['--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--log-level', 'warn'];

describe('modules each daemon loads', () => {
  test('mogftp ftp loads the FTP server and no WebDAV, jobs or storage node code', async () => {
    const loaded = await modulesLoadedBy('ftp', ['ftp', '--db', dbUrl, '--pasv-ports', '0', ...daemonFlags]);
    assert.ok(loaded.includes('src/ftp/server'), `src/ftp/server not among:\n${loaded.join('\n')}`);
    assert.ok(loaded.includes('src/daemons/ftp'), `src/daemons/ftp not among:\n${loaded.join('\n')}`);
    const strays = loaded.filter((m) => /^src\/(?:dav|jobs)\/|^src\/storage\/node|^src\/daemons\/(?!ftp$|services$)/.test(m));
    assert.deepEqual(strays, [], 'mogftp ftp loaded other daemons\' code');
  });

  test('mogftp dav loads the WebDAV server and no FTP server, jobs or storage node code', async () => {
    const loaded = await modulesLoadedBy('dav', ['dav', '--db', dbUrl, ...daemonFlags]);
    assert.ok(loaded.includes('src/dav/server'), `src/dav/server not among:\n${loaded.join('\n')}`);
    assert.ok(loaded.includes('src/daemons/dav'), `src/daemons/dav not among:\n${loaded.join('\n')}`);
    const strays = loaded.filter((m) => /^src\/(?:ftp|jobs)\/|^src\/storage\/node|^src\/daemons\/(?!dav$|services$)/.test(m));
    assert.deepEqual(strays, [], 'mogftp dav loaded other daemons\' code');
  });

  test('mogftp sftp loads the SFTP server and no FTP, WebDAV, jobs or storage node code', async () => {
    const [hostKey] = await ensureHostKeys(dir);
    const loaded = await modulesLoadedBy('sftp', ['sftp', '--db', dbUrl, '--host-key', hostKey!, ...daemonFlags]);
    assert.ok(loaded.includes('src/sftp/server'), `src/sftp/server not among:\n${loaded.join('\n')}`);
    assert.ok(loaded.includes('src/daemons/sftp'), `src/daemons/sftp not among:\n${loaded.join('\n')}`);
    const strays = loaded.filter((m) => /^src\/(?:ftp|dav|jobs)\/|^src\/storage\/node|^src\/daemons\/(?!sftp$|services$)/.test(m));
    assert.deepEqual(strays, [], 'mogftp sftp loaded other daemons\' code');
  });
});

/** The files (repository modules and packages, as paths under the repository) `mogftp <args>` loads, run to its end. */
async function filesLoadedBy(name: string, args: string[]): Promise<string[]> {
  const { proc, out } = spawnRecorded(name, args);
  let stderr = '';
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
  assert.equal(code, 0, `mogftp ${args.join(' ')} failed\nstderr: ${stderr}`);
  const root = pathToFileURL(REPO).href + '/';
  return readFileSync(out, 'utf8')
    .split('\n')
    .filter((url) => url.startsWith(root))
    .map((url) => url.slice(root.length).replace(/^dist\//, ''));
}

// Hundreds of these run in the test suite and in operators' scripts: each should load what it
// uses, not every command's packages (got alone is ~0.1 s of CPU).
describe('modules a short command loads', () => {
  test('mogftp admin domain list loads no other verb, storage client, metrics or got', async () => {
    const loaded = await filesLoadedBy('admin-domain-list', ['admin', 'domain', 'list', '--db', dbUrl]);
    assert.ok(loaded.some((f) => f.startsWith('src/cli/admin/domain.')), `src/cli/admin/domain not among:\n${loaded.join('\n')}`);
    const strays = loaded.filter((f) => /^src\/cli\/admin\/(?:rebalance|orphans|host)\.|^src\/storage\/client|^src\/metrics\/|^node_modules\/(?:got|prom-client)\//.test(f));
    assert.deepEqual(strays, [], 'mogftp admin domain list loaded what it does not use');
  });

  test('mogftp --version loads no command', async () => {
    const loaded = await filesLoadedBy('version', ['--version']);
    // tsx and what it loads are there when bin/mogftp.js runs the sources (a build older than them).
    const strays = loaded.filter((f) => /^src\/(?!cli\/main\.|errors\.)|^node_modules\/(?!yargs|cliui|escalade|y18n|get-caller-file|string-width|strip-ansi|wrap-ansi|get-east-asian-width|emoji-regex|ansi-|tsx\/|esbuild\/|@esbuild\/|get-tsconfig\/|resolve-pkg-maps\/)/.test(f));
    assert.deepEqual(strays, [], 'mogftp --version loaded command code');
  });
});
