// Everything the benchmark starts or creates is registered here, so that one place can take it
// all down again: on a normal end, on an error, on Ctrl-C / SIGTERM, and (synchronously, as a
// last resort) when the process exits. Children run in their own process group so a server that
// forks per connection (pure-ftpd) goes down with all its children.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type AsyncCleanup = () => Promise<unknown> | unknown;

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
const asyncCleanups: AsyncCleanup[] = [];
let cleaning: Promise<void> | null = null;

/** Kills every process group we started, without waiting (safe in an 'exit' handler). */
function killAllNow(signal: NodeJS.Signals): void {
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) continue;
    try {
      process.kill(-c.pid, signal);
    } catch {
      try {
        c.kill(signal);
      } catch {
        // already gone
      }
    }
  }
}

process.once('exit', () => {
  killAllNow('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// An error nobody caught still gets the async cleanup (the MariaDB database is dropped).
for (const ev of ['uncaughtException', 'unhandledRejection'] as const) {
  process.once(ev, (err: unknown) => {
    process.stderr.write(`bench: ${ev}: ${(err as Error)?.stack ?? err}\ncleaning up...\n`);
    void cleanupAll().finally(() => process.exit(1));
  });
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    process.stderr.write(`\nbench: ${sig}, cleaning up...\n`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

/** A temp directory removed at the end whatever happens. */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(d);
  return d;
}

/** Registers an async cleanup (dropping a database, closing a store); run newest first. */
export function onCleanup(fn: AsyncCleanup): void {
  asyncCleanups.push(fn);
}

/** Spawns a child in its own process group, tracked for cleanup. */
export function startChild(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts, detached: true });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERM to the child's group, SIGKILL after `graceMs`; resolves when it has exited. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, s);
    } catch {
      // gone
    }
  };
  signal('SIGTERM');
  const t = setTimeout(() => signal('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
  signal('SIGKILL'); // stray children of the group (pure-ftpd sessions)
}

/** Takes everything down: async cleanups (newest first), then processes, then temp dirs. */
export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of asyncCleanups.reverse()) {
      try {
        await Promise.race([fn(), new Promise((r) => setTimeout(r, 15_000))]);
      } catch (err) {
        process.stderr.write(`bench: cleanup step failed: ${(err as Error).message}\n`);
      }
    }
    await Promise.all([...children].map((c) => stopChild(c, 3000)));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    dirs.clear();
  })();
  return cleaning;
}
