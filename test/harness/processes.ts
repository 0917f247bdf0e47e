// Child-process plumbing shared by the test harness and the benchmark (bench/lib imports it):
// waiting for a daemon's ready line or for its port, ending it, keeping the tail of what it
// writes. (freePort is in nodes.ts.)
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { sleep } from './wait.ts';

/** Keeps the last few KB written to a stream (and keeps the pipe drained). */
export class Tail {
  private buf = '';
  constructor(private readonly keep = 8000) {}
  attach(stream: NodeJS.ReadableStream): void {
    stream.on('data', (c: Buffer) => {
      this.buf = (this.buf + c.toString('utf8')).slice(-this.keep);
    });
  }
  text(): string {
    return this.buf;
  }
}

export interface ReadyLineOptions {
  timeoutMs: number;
  /** Names the process in the error. */
  what: string;
  /** What to show when it fails (its stderr, a log); default: the stderr seen while waiting. */
  diagnostics?: () => string;
  /** Kill the child when it never gets ready (a test must not leave it behind). */
  killOnFailure?: boolean;
}

/**
 * Resolves with the first capture group (or the whole line) of the first stdout line matching
 * `re`. stdout keeps being drained afterwards: a full pipe would stall the child.
 */
export function waitForLine(child: ChildProcess, re: RegExp, o: ReadyLineOptions): Promise<string> {
  const seen = new Tail(4000);
  if (!o.diagnostics && child.stderr) seen.attach(child.stderr);
  const diagnostics = o.diagnostics ?? (() => seen.text());
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => done(new Error(`${o.what}: no ready line within ${o.timeoutMs} ms\n${diagnostics()}`)), o.timeoutMs);
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        const m = re.exec(line);
        if (m) return done(null, m[1] ?? line);
      }
    };
    // Let stderr arrive before reporting it.
    const onExit = (code: number | null, sig: string | null) =>
      setTimeout(() => done(new Error(`${o.what} exited (${code ?? sig}) before it was ready\n${diagnostics()}`)), 50);
    const done = (err: Error | null, value?: string) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.stdout?.resume();
      if (!err) return resolve(value!);
      if (o.killOnFailure) child.kill('SIGKILL');
      reject(err);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Sends `signal`, waits for the exit, escalates to SIGKILL after `graceMs`. */
export async function endProcess(proc: ChildProcess, signal: NodeJS.Signals, graceMs = 5000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill(signal);
  const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Waits until something accepts connections on 127.0.0.1:`port`; fails early if `proc` exits. */
export async function waitForPort(port: number, timeoutMs: number, o: { proc?: ChildProcess; what?: string; diagnostics?: () => string } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const why = () => (o.diagnostics ? `\n${o.diagnostics()}` : '');
  while (Date.now() < deadline) {
    const p = o.proc;
    if (p && (p.exitCode !== null || p.signalCode !== null)) throw new Error(`${o.what ?? 'the process'} exited (${p.exitCode ?? p.signalCode})${why()}`);
    if (await canConnect(port)) return;
    await sleep(25);
  }
  throw new Error(`${o.what ?? 'the server'} did not listen on ${port} within ${timeoutMs} ms${why()}`);
}
