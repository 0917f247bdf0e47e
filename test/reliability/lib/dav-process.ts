// `mogftp dav` as its own process on a cluster's database, for tests that watch its memory
// (RSS is only the server's own when the server is a process of its own).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BIN } from './cluster.ts';

export interface DavProcess {
  url: string;
  proc: ChildProcess;
  /** Resident set size now, and its peak so far (VmHWM), in bytes. */
  rss(): number;
  peakRss(): number;
  alive(): boolean;
  output(): string;
  stop(): Promise<void>;
}

export async function startDavProcess(dbUrl: string, args: string[] = [], env: Record<string, string> = {}): Promise<DavProcess> {
  const proc = spawn(process.execPath, [BIN, 'dav', '--db', dbUrl, '--listen', '127.0.0.1:0', '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString('utf8')).slice(-16_000));
  proc.stderr!.on('data', keep);
  proc.stdout!.on('data', keep);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('no listening line within 30 s')), 30_000);
    const onData = () => {
      const m = /mogftp dav listening on (\S+)/.exec(out);
      if (m) {
        cleanup();
        resolve(m[1]!);
      }
    };
    const onExit = (code: number | null) => fail(new Error(`mogftp dav exited (${code}) before listening`));
    const cleanup = () => {
      clearTimeout(timer);
      proc.stdout!.off('data', onData);
      proc.off('exit', onExit);
    };
    const fail = (err: Error) => {
      cleanup();
      proc.kill('SIGKILL');
      reject(new Error(`${err.message}\n${out}`));
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', onExit);
  });
  const status = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
  return {
    url,
    proc,
    rss: () => status('VmRSS'),
    peakRss: () => status('VmHWM'),
    alive: () => proc.exitCode === null && proc.signalCode === null,
    output: () => out,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
