// Real clients for end-to-end tests: curl, lftp and Python's ftplib, run as processes, and
// one-request-a-connection HTTP for WebDAV.
import { spawn, type ChildProcess } from 'node:child_process';
import { request, type IncomingHttpHeaders } from 'node:http';

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

export interface DavResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/** One HTTP request (a new connection each time), with Basic auth as demo/demo unless told otherwise. */
export function dav(
  base: string,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer; user?: string; password?: string; auth?: boolean } = {},
): Promise<DavResponse> {
  const url = new URL(path, base);
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth !== false) headers.Authorization = `Basic ${Buffer.from(`${opts.user ?? 'demo'}:${opts.password ?? 'demo'}`).toString('base64')}`;
  if (opts.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.setTimeout(120_000, () => req.destroy(new Error(`${method} ${path}: no answer in 120 s`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}
