// Real FTP clients for end-to-end tests: curl, lftp and Python's ftplib, run as processes.
import { spawn, type ChildProcess } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { input?: string | Buffer; timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** curl with FTP defaults: silent, errors shown, never waits forever. */
export function curl(args: string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<RunResult> {
  return run('curl', ['-sS', '--max-time', '600', ...args], opts);
}

/** Runs an lftp script against the server (no retries: a failure must show, not be retried away). */
export function lftp(port: number, script: string, opts: { user?: string; password?: string; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const settings = [
    'set cmd:fail-exit true',
    'set net:max-retries 1',
    'set net:reconnect-interval-base 1',
    'set net:timeout 30',
    'set ftp:ssl-allow false',
    'set ftp:passive-mode true',
  ].join('; ');
  const full = `${settings}; open -u ${opts.user ?? 'demo'},${opts.password ?? 'demo'} -p ${port} 127.0.0.1; ${script}`;
  return run('lftp', ['-c', full], { cwd: opts.cwd, timeoutMs: opts.timeoutMs });
}

/** Runs a Python snippet with `ftp` already logged in (ftplib.FTP). Print results as JSON. */
export function ftplib(port: number, body: string, opts: { user?: string; password?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const prelude = [
    'import ftplib, json, io, sys, hashlib, os',
    `ftp = ftplib.FTP()`,
    `ftp.connect('127.0.0.1', ${port}, timeout=60)`,
    `ftp.login(${JSON.stringify(opts.user ?? 'demo')}, ${JSON.stringify(opts.password ?? 'demo')})`,
    '',
  ].join('\n');
  return run('python3', ['-c', prelude + body], { timeoutMs: opts.timeoutMs });
}

export function spawnClient(cmd: string, args: string[]): ChildProcess {
  return spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
}

export function ftpUrl(port: number, path = '/', user = 'demo', password = 'demo'): string {
  const encoded = path
    .split('/')
    .map((p) => encodeURIComponent(p))
    .join('/');
  return `ftp://${user}:${password}@127.0.0.1:${port}${encoded}`;
}
