// `mogftp quickstart` as a user runs it: a child process of bin/mogftp.js, its stdout and stderr
// kept apart (the banner must come first on stdout, with nothing logged before it).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..');
export const BIN = join(REPO, 'bin', 'mogftp.js');

export interface QuickstartProcess {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null: killed by a signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits until stdout matches, failing with the output if the process exits first or `ms` pass. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** SIGKILL if still running (cleanup). */
  kill(): Promise<void>;
}

export function spawnQuickstart(args: string[], opts: { cwd?: string } = {}): QuickstartProcess {
  const proc = spawn(process.execPath, [BIN, 'quickstart', ...args], { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  let done = false;
  void exited.then(() => (done = true));
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(re, ms = 60_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = re.exec(out);
        if (m) return m;
        if (done || Date.now() > deadline) throw new Error(`quickstart: no ${re} in its output${done ? ' (it exited)' : ''}:\n${out}\n--- stderr:\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill() {
      if (!done) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}
