// Ctrl-C on a quickstart with an upload running: it says what it waits for and that a second
// Ctrl-C aborts; the second one does abort (the upload fails, stores nothing) and the process
// exits without waiting out the grace time. Before, the second Ctrl-C found no handler and Node
// killed the process by signal, mid-whatever.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { curl, ftpUrl } from '../harness/clients.ts';
import { freePort } from '../harness/nodes.ts';
import { spawnQuickstart, type QuickstartProcess } from '../harness/quickstart-process.ts';
import { gated, newContent } from '../reliability/lib/content.ts';
import { loggedIn } from '../reliability/lib/ftp.ts';

const MiB = 1024 * 1024;
const dirs: string[] = [];
const procs: QuickstartProcess[] = [];
after(async () => {
  for (const p of procs) await p.kill();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('Ctrl-C during an upload says it waits for 1 transfer; a second Ctrl-C aborts it and the process exits', async () => {
  const data = await mkdtemp(join(tmpdir(), 'mogftp-qs-stop-'));
  dirs.push(data);
  const port = await freePort();
  const args = ['--data', data, '--port', String(port), '--pasv-ports', '0', '--no-dav', '--no-tls'];
  const qs = spawnQuickstart(args);
  procs.push(qs);
  await qs.waitFor(/^# Press Ctrl-C to stop\.$/m);

  // An upload held mid-body: 1 MiB sent, the rest only when the gate opens (never, here).
  const ftp = await loggedIn(port);
  let reached!: () => void;
  const midway = new Promise<void>((r) => (reached = r));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const upload = ftp.stor('/slow.bin', gated(newContent(4 * MiB), 1 * MiB, gate, reached)).then(
    (r) => `${r.final.code} ${r.final.text}`,
    (err: Error) => `closed: ${err.message}`,
  );
  await midway;

  qs.proc.kill('SIGINT');
  await qs.waitFor(/^Stopping: waiting for 1 transfer to finish \(up to 10 s\); press Ctrl-C again to abort it\.$/m);
  assert.equal(qs.proc.exitCode, null, 'the first Ctrl-C waits for the transfer');
  qs.proc.kill('SIGINT');
  await qs.waitFor(/^Aborting 1 transfer \(an aborted upload stores nothing\)/m);
  const { code, signal } = await qs.exited;
  assert.equal(signal, null, 'it exits by itself, not killed by the signal');
  assert.equal(code, 0, qs.stdout() + qs.stderr());
  assert.doesNotMatch(qs.stderr(), /grace time over/, 'aborted at the second Ctrl-C, not when the grace time ran out');
  release(); // the rest of the body now meets a closed connection
  assert.match(await upload, /^(4\d\d |closed)/, 'the upload failed');
  ftp.destroy();

  // Nothing of it is visible after a restart.
  const again = spawnQuickstart(args);
  procs.push(again);
  await again.waitFor(/^# Press Ctrl-C to stop\.$/m);
  const list = await curl(['--list-only', ftpUrl(port, '/')]);
  assert.equal(list.code, 0, list.stderr);
  assert.doesNotMatch(list.stdout, /slow\.bin/);
  again.proc.kill('SIGTERM');
  assert.equal((await again.exited).code, 0);
});
