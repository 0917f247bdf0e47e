// The quickstart's storage nodes run in child processes (src/daemons/quickstart-nodes.ts). A node
// killed from outside is logged and started again on a port recorded on its host, and files go on
// being stored and read; stopping the quickstart (SIGTERM) or killing it outright (SIGKILL) leaves
// no node process behind.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { adminCli } from '../harness/admin-cli.ts';
import { curl, ftpUrl } from '../harness/clients.ts';
import { freePort } from '../harness/nodes.ts';
import { spawnQuickstart, type QuickstartProcess } from '../harness/quickstart-process.ts';

const dirs: string[] = [];
const procs: QuickstartProcess[] = [];
after(async () => {
  for (const p of procs) await p.kill();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The node processes whose parent is `ppid`, by node name (node1…), read from /proc. */
function nodeChildren(ppid: number): Map<string, number> {
  const found = new Map<string, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent !== ppid) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const i = argv.findIndex((a) => /quickstart-node-child\.[jt]s$/.test(a));
      if (i >= 0) found.set(argv[i + 1]!.split('/').pop()!, Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(what: string, probe: () => T | undefined | false, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function hostPort(data: string, name: string): Promise<number> {
  const r = await adminCli(`sqlite:${join(data, 'mogftp.db')}`, ['host', 'list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const host = (JSON.parse(r.stdout) as Array<{ name: string; port: number }>).find((h) => h.name === name);
  return host!.port;
}

async function store(port: number, name: string, body: string): Promise<void> {
  const put = await curl(['-sS', '-T', '-', ftpUrl(port, `/${name}`)], { input: body });
  assert.equal(put.code, 0, put.stderr);
  const got = await curl(['-sS', ftpUrl(port, `/${name}`)]);
  assert.equal(got.stdout, body, got.stderr);
}

test('quickstart nodes are child processes: a killed one comes back, none outlives the quickstart', async () => {
  const data = await mkdtemp(join(tmpdir(), 'mogftp-qs-nodes-'));
  dirs.push(data);
  const port = await freePort();
  const args = ['--data', data, '--port', String(port), '--pasv-ports', '0', '--no-dav', '--no-tls', '--no-sftp'];
  const qs = spawnQuickstart(args);
  procs.push(qs);
  await qs.waitFor(/^# Press Ctrl-C to stop\.$/m);
  const pid = qs.proc.pid!;
  const first = nodeChildren(pid);
  assert.deepEqual([...first.keys()].sort(), ['node1', 'node2', 'node3'], 'three node processes, children of the quickstart');
  await store(port, 'before.txt', 'before\n');

  const oldPort = await hostPort(data, 'node2');
  process.kill(first.get('node2')!, 'SIGKILL');
  await until('the restart log line', () => /storage node node2 \(pid \d+\) exited \(SIGKILL\); starting it again/.test(qs.stderr()));
  const again = await until('a new node2 process', () => {
    const n = nodeChildren(pid).get('node2');
    return n !== undefined && n !== first.get('node2') && n;
  });
  // The new process records its port on the host; it answers there (401: this request is unsigned).
  let newPort = oldPort;
  for (let i = 0; i < 150 && newPort === oldPort; i++) {
    await new Promise((r) => setTimeout(r, 200));
    newPort = await hostPort(data, 'node2');
  }
  assert.notEqual(newPort, oldPort, 'the restarted node2 is recorded on its new port');
  const probe = await curl(['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${newPort}/dev2/0/000/000/0000000001.fid`]);
  assert.equal(probe.stdout, '401', `the restarted node (pid ${again}) serves on ${newPort}`);
  await store(port, 'after.txt', 'after\n');
  for (const n of first.values()) if (n !== first.get('node2')) assert.ok(alive(n), 'the other nodes were left alone');

  qs.proc.kill('SIGTERM');
  assert.equal((await qs.exited).code, 0, qs.stderr());
  await until('the nodes to exit after SIGTERM', () => ![...first.values(), again].some(alive));

  // SIGKILL gives the quickstart no chance to stop them: they follow it through their IPC channel.
  const second = spawnQuickstart(args);
  procs.push(second);
  await second.waitFor(/^# Press Ctrl-C to stop\.$/m);
  const orphans = [...nodeChildren(second.proc.pid!).values()];
  assert.equal(orphans.length, 3);
  await second.kill();
  await until('the nodes to exit after SIGKILL', () => !orphans.some(alive));
});
