// The quickstart's storage nodes, each in a child process (quickstart-node-child.ts) rather than
// on the front-end's event loop: on a machine with several cores the nodes' hashing, writes and
// fsyncs then run beside the FTP/WebDAV/SFTP front-end instead of taking turns with it.
//
// Lifetimes: a node lives as long as the quickstart. stop() (called after the doors have
// finished their transfers) asks each node to close and waits for it; a quickstart that dies
// without stopping them closes their IPC channel, on which they exit by themselves. A node that
// dies while the quickstart runs is logged and started again (1 s later, longer while it keeps
// dying at once) on a fresh port recorded on its host, the way a restarted quickstart does.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, describeError, mogError } from '../errors.ts';
import type { LogFn } from '../log.ts';
import type { NodeChildMessage } from './quickstart-node-child.ts';
import type { Services } from './services.ts';

interface NodeSpec {
  /** node<i>: the host's name and the directory under DATA. */
  name: string;
  root: string;
  keyFile: string;
}

/** A node that died within this long of starting waits twice as long before the next start. */
const HEALTHY_MS = 10_000;
const FIRST_RESTART_MS = 1000;
const MAX_RESTART_MS = 30_000;
/** How long a node may take to close (its own grace is 5 s) before it is killed. */
const STOP_KILL_MS = 10_000;

/** The child's module: the compiled .js beside this one, or the .ts source through tsx. */
function childEntry(): { file: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const file = fileURLToPath(new URL(`./quickstart-node-child.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  return { file, execArgv: fromSource ? ['--import', import.meta.resolve('tsx')] : [] };
}

/** Forks one node; resolves once it listens, rejects with the reason it gave (or its exit). */
function spawnNode(spec: NodeSpec): Promise<{ child: ChildProcess; port: number }> {
  const { file, execArgv } = childEntry();
  // stdout ignored: the quickstart's own output is its banner; errors go to the shared stderr.
  const child = fork(file, [spec.root, spec.keyFile], { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      reject(mogError(ErrorCodes.INTERNAL, `storage node ${spec.name} exited before it listened (${signal ?? `exit code ${code}`})`));
    child.once('exit', onExit);
    // Later errors (a send on a closed channel) are the exit's business, not a crash.
    child.on('error', (err) => reject(mogError(ErrorCodes.INTERNAL, `storage node ${spec.name} could not be started: ${describeError(err)}`, err)));
    child.once('message', (m: NodeChildMessage) => {
      child.off('exit', onExit);
      if ('port' in m) resolve({ child, port: m.port });
      else reject(mogError(ErrorCodes.INTERNAL, `storage node ${spec.name}: ${m.error}`));
    });
  });
}

/** Asks a node to close; kills it if it has not exited STOP_KILL_MS later. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    child.send('stop');
  } catch {
    child.kill('SIGKILL'); // its channel is gone: it is exiting, or stuck
  }
  const killer = setTimeout(() => child.kill('SIGKILL'), STOP_KILL_MS);
  await exited;
  clearTimeout(killer);
}

/** Runs one node, restarting it when it dies; `moved` records a restarted node's new port. */
async function superviseNode(spec: NodeSpec, log: LogFn, moved: (port: number) => Promise<void>): Promise<{ port(): number; stop(): Promise<void> }> {
  let current = await spawnNode(spec);
  let startedAt = Date.now();
  let stopping = false;
  let delay = FIRST_RESTART_MS;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) => new Promise<void>((resolve) => ((wake = resolve), (timer = setTimeout(resolve, ms))));
  const restart = async (how: string) => {
    log('error', `storage node ${spec.name} (pid ${current.child.pid}) exited (${how}); starting it again`, { node: spec.name });
    delay = Date.now() - startedAt < HEALTHY_MS ? Math.min(delay * 2, MAX_RESTART_MS) : FIRST_RESTART_MS;
    while (!stopping) {
      await sleep(delay);
      if (stopping) return;
      try {
        const next = await spawnNode(spec);
        if (stopping) return void (await stopChild(next.child));
        try {
          await moved(next.port);
        } catch (err) {
          await stopChild(next.child);
          throw err;
        }
        if (stopping) return void (await stopChild(next.child));
        current = next;
        startedAt = Date.now();
        watch(next.child);
        return;
      } catch (err) {
        log('error', `storage node ${spec.name} did not start again: ${describeError(err)}`, { node: spec.name });
        delay = Math.min(delay * 2, MAX_RESTART_MS);
      }
    }
  };
  const watch = (child: ChildProcess) =>
    child.once('exit', (code, signal) => {
      if (!stopping) void restart(signal ?? `exit code ${code}`);
    });
  watch(current.child);
  return {
    port: () => current.port,
    stop: async () => {
      stopping = true;
      clearTimeout(timer);
      wake?.();
      await stopChild(current.child);
    },
  };
}

/** Starts the nodes DATA/node<i> side by side on fresh loopback ports, each a host with one device. */
export async function startQuickstartNodes(
  services: Services,
  nodes: { dataDir: string; count: number; keyFile: string; log: LogFn },
  stops: Array<() => Promise<void>>,
): Promise<void> {
  const { store, tracker } = services;
  const specs = Array.from({ length: nodes.count }, (_, i) => ({ name: `node${i + 1}`, root: join(nodes.dataDir, `node${i + 1}`), keyFile: nodes.keyFile }));
  for (const spec of specs) await mkdir(spec.root, { recursive: true });
  const hostIds = new Map<string, number>();
  // A node restarted before the hosts are recorded below needs no update: they take its current port.
  const moved = (name: string) => async (port: number) => {
    const id = hostIds.get(name);
    if (id === undefined) return;
    await store.updateHost(id, { address: '127.0.0.1', httpPort: port });
    tracker.invalidateDevices();
  };
  const started = await Promise.allSettled(specs.map((spec) => superviseNode(spec, nodes.log, moved(spec.name))));
  for (const s of started) if (s.status === 'fulfilled') stops.push(() => s.value.stop());
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  for (const [i, spec] of specs.entries()) {
    const port = (started[i] as PromiseFulfilledResult<{ port(): number }>).value.port();
    let host = await store.getHost(spec.name);
    const devid = host ? (await store.listDevices()).find((d) => d.hostId === host!.id)?.id : undefined;
    if (!host) host = await store.createHost({ name: spec.name, address: '127.0.0.1', httpPort: port });
    else await store.updateHost(host.id, { address: '127.0.0.1', httpPort: port });
    hostIds.set(spec.name, host.id);
    const dev = devid ?? (await store.createDevice({ hostId: host.id })).id;
    await mkdir(join(spec.root, `dev${dev}`), { recursive: true });
  }
  tracker.invalidateDevices();
}
