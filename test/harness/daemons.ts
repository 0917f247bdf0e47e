// `mogftp ftp`, `mogftp dav` and `mogftp sftp` as processes of their own on a test database, for tests that
// kill them, restart them, or watch their memory and descriptors (only a process of its own
// has an RSS and fd table that are the server's alone).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { endProcess, Tail, waitForLine } from './processes.ts';
import { BIN } from './quickstart-process.ts';

export type FrontendKind = 'ftp' | 'dav' | 'sftp';

export interface DaemonProcess {
  /** What it printed in its listening line: ftp://HOST:PORT or http://HOST:PORT. */
  url: string;
  port: number;
  pid: number;
  proc: ChildProcess;
  /** Resident set size in KiB. */
  rssKb(): number;
  /** Open file descriptors. */
  fds(): number;
  alive(): boolean;
  /** The last 16 KB it wrote (stdout and stderr). */
  output(): string;
  /** Sends `signal` (default SIGTERM), SIGKILL after 10 s; resolves when it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const READY: Record<FrontendKind, RegExp> = {
  ftp: /mogftp ftp listening on (ftp:\/\/\S+)/,
  dav: /mogftp dav listening on (\S+)/,
  sftp: /mogftp sftp listening on (sftp:\/\/\S+)/,
};

/** `mogftp KIND --db DBURL --listen 127.0.0.1:0 --log-level warn ARGS`, once it listens. */
export async function startDaemonProcess(kind: FrontendKind, dbUrl: string, args: string[] = [], env: Record<string, string> = {}): Promise<DaemonProcess> {
  const portArgs = kind === 'ftp' ? ['--pasv-ports', '0'] : [];
  const proc = spawn(process.execPath, [BIN, kind, '--db', dbUrl, '--listen', '127.0.0.1:0', ...portArgs, '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const out = new Tail(16_000);
  out.attach(proc.stdout!);
  out.attach(proc.stderr!);
  const url = await waitForLine(proc, READY[kind], { timeoutMs: 30_000, what: `mogftp ${kind}`, diagnostics: () => out.text(), killOnFailure: true });
  const pid = proc.pid!;
  return {
    url,
    port: Number(new URL(url).port),
    pid,
    proc,
    rssKb: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN),
    fds: () => readdirSync(`/proc/${pid}/fd`).length,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    output: () => out.text(),
    kill: (signal = 'SIGTERM') => endProcess(proc, signal, 10_000),
  };
}
