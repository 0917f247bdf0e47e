// Storage nodes on their own network: each runs in a network namespace this test creates, joined
// to the host by a veth pair, listening on a private address of 10.231.X.0/24 that exists only
// between the two ends of that pair. cut() takes the node's end down (packets vanish, nothing is
// refused: a silent node), heal() brings it back. Everything is removed by stop() or at exit.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NodeSpec } from '../../harness/cluster.ts';
import { BIN } from '../../harness/quickstart-process.ts';

const exec = promisify(execFile);

export interface NetnsNode extends NodeSpec {
  namespace: string;
  /** Makes the node silent: its link goes down, packets to and from it are dropped. */
  cut(): Promise<void>;
  heal(): Promise<void>;
}

const SUBNET = 20 + (process.pid % 200);
const made = new Set<{ ns: string; hostIf: string }>();
process.once('exit', () => {
  for (const m of made) {
    try {
      execFileSync('ip', ['link', 'del', m.hostIf], { stdio: 'ignore' });
    } catch {
      // gone with the namespace
    }
    try {
      execFileSync('ip', ['netns', 'del', m.ns], { stdio: 'ignore' });
    } catch {
      // gone already
    }
  }
});

/** Null when namespaces can be made here, else why not (for the skip message). */
export async function namespacesUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add)';
  const ns = `mogrel-probe-${process.pid}`;
  try {
    await exec('ip', ['netns', 'add', ns]);
  } catch (err) {
    return `ip netns add failed: ${(err as Error).message.split('\n')[0]}`;
  }
  const hostIf = `mrp${process.pid % 100000}`;
  try {
    await exec('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', `${hostIf}n`]);
    await exec('ip', ['link', 'del', hostIf]);
  } catch (err) {
    return `veth pairs cannot be made: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    await exec('ip', ['netns', 'del', ns]).catch(() => {});
  }
  return null;
}

/** Starts `mogftp storage` inside a new namespace number `i` (0..60), checking the storage key in `keyFile`. */
export async function startNetnsNode(i: number, keyFile: string): Promise<NetnsNode> {
  const ns = `mogrel-${process.pid}-${i}`;
  const hostIf = `mr${process.pid % 100000}h${i}`;
  const nsIf = `mr${process.pid % 100000}n${i}`;
  const hostAddr = `10.231.${SUBNET}.${4 * i + 1}`;
  const address = `10.231.${SUBNET}.${4 * i + 2}`;
  const entry = { ns, hostIf };
  made.add(entry);
  const ip = (...args: string[]) => exec('ip', args);
  await ip('netns', 'add', ns);
  await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
  await ip('link', 'set', nsIf, 'netns', ns);
  await ip('addr', 'add', `${hostAddr}/30`, 'dev', hostIf);
  await ip('link', 'set', hostIf, 'up');
  await ip('-n', ns, 'addr', 'add', `${address}/30`, 'dev', nsIf);
  await ip('-n', ns, 'link', 'set', nsIf, 'up');
  await ip('-n', ns, 'link', 'set', 'lo', 'up');

  const base = mkdtempSync(join(tmpdir(), 'mogftp-netns-'));
  const root = join(base, 'root');
  mkdirSync(root);
  let port = 0;
  let proc: ChildProcess | null = null;
  let stderr = '';
  const launch = async () => {
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, BIN, 'storage', '--root', root, '--listen', `${address}:${port}`, '--key-file', keyFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    p.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    proc = p;
    port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`node in ${ns} did not listen\n${stderr}`)), 20_000);
      p.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on http:\/\/[^\s]+:(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      p.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`node in ${ns} exited (${code})\n${stderr}`));
      });
    });
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  try {
    await launch();
  } catch (err) {
    await kill();
    await ip('netns', 'del', ns).catch(() => {});
    made.delete(entry);
    rmSync(base, { recursive: true, force: true });
    throw err;
  }
  return {
    namespace: ns,
    address,
    get port() {
      return port;
    },
    root,
    kill,
    async restart() {
      await kill();
      await launch();
    },
    cut: async () => void (await ip('-n', ns, 'link', 'set', nsIf, 'down')),
    heal: async () => void (await ip('-n', ns, 'link', 'set', nsIf, 'up')),
    async stop() {
      await kill();
      await ip('link', 'del', hostIf).catch(() => {});
      await ip('netns', 'del', ns).catch(() => {});
      made.delete(entry);
      rmSync(base, { recursive: true, force: true });
    },
  };
}
