// `mogftp quickstart` as a benchmarked server: the command a user times first, on its own data
// directory (SQLite, three local nodes, class default with two copies), FTP only, compiled.
// `bin` may name another checkout's bin/mogftp.js (--quickstart-base): the same figures for the
// code before a change, measured in the same run.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { openStore } from '../../src/tracker/open.ts';
import { ROOT_ID } from '../../src/tracker/types.ts';
import { freePort } from '../../test/harness/nodes.ts';
import { waitForLine } from '../../test/harness/processes.ts';
import { insertFiles } from './bulk.ts';
import { onCleanup, startChild, stopChild, tempDir } from './procs.ts';
import type { BenchServer } from './servers.ts';

export async function startQuickstartServer(name: string, bin: string): Promise<BenchServer> {
  const data = join(tempDir('mogftp-bench-qs-'), 'data');
  const port = await freePort();
  const args = [bin, 'quickstart', '--data', data, '--port', String(port), '--pasv-ports', '0', '--no-dav', '--no-sftp', '--no-tls', '--log-level', 'warn'];
  const child = startChild(process.execPath, args, { env: { ...process.env, MOGFTP_RUN: 'dist' } });
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(`${name}: ${d}`));
  onCleanup(() => stopChild(child));
  await waitForLine(child, /^# Press Ctrl-C to stop\.$/, { timeoutMs: 60_000, what: name });
  child.stdout?.resume();
  const dbUrl = `sqlite:${join(data, 'mogftp.db')}`;
  return {
    name,
    port,
    user: 'demo',
    password: 'demo',
    pid: child.pid!,
    makeListDir: async (dir, count) => {
      // The same bulk rows as the cluster's (bench/lib/bulk.ts), in the quickstart's database.
      const store = await openStore(dbUrl);
      try {
        const domain = (await store.getDomain('default'))!;
        const cls = (await store.getClass(domain.id, 'default'))!;
        const devids = (await store.listDevices()).slice(0, 2).map((d) => d.id);
        const entry = await store.mkdir(domain.id, ROOT_ID, dir, { mtime: Date.now() });
        await insertFiles({ dbUrl, domainId: domain.id, classId: cls.id, parentId: entry.id, count, devids });
      } finally {
        await store.close();
      }
    },
    dropBigFiles: async () => {
      execFileSync('find', [data, '-path', '*/node*', '-type', 'f', '-size', '+16M', '-delete']);
    },
    stop: () => stopChild(child),
  };
}
