// A large upload with OpenSSH's sftp (put) against `mogftp sftp` as its own process, on two
// storage nodes: it finishes, both replicas hold the client's bytes, and the door's memory stays
// flat while it streams (its RSS, sampled through the transfer, grows by far less than the file).
// While it runs, the storage nodes are stopped (SIGSTOP) for 2 s, again and again: the fan-out
// stops taking bytes, the door must stop reading the client (the SSH window closes) and go on
// when the nodes do. A door that kept reading would hold what the client sent meanwhile (tens
// of MiB a pause); one that lost a wake-up would stall. The login is by key: a password check
// (scrypt, 128 MiB of memory by design) would hide what the transfer itself takes.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { generateHostKey } from '../../src/sftp/host-keys.ts';
import { parsePublicKeyLine } from '../../src/tracker/ssh-keys.ts';
import { useCluster } from '../harness/cluster.ts';
import { clientKey, sftpBatch } from './lib.ts';

const MiB = 1024 * 1024;
const SIZE = 128 * MiB;
/** How long the storage nodes run between two pauses, and how long each pause lasts. */
const RUN_MS = 500;
const PAUSE_MS = 2000;
/** What the door may grow by during the transfer: buffers and garbage, not the file. */
const RSS_GROWTH_LIMIT = 48 * MiB;

/** SIZE random bytes (written a MiB at a time, never held whole) and their SHA-256. */
async function bigFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let left = size; left > 0; left -= MiB) {
    const chunk = randomBytes(Math.min(MiB, left));
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
  return hash.digest('hex');
}

describe('a large upload through mogftp sftp', () => {
  const c = useCluster({ db: 'sqlite', nodes: 2, tmpDir: 'mogftp-sftp-large-' });

  test(`sftp put of ${SIZE / MiB} MiB: stored whole on both nodes, the door's memory flat`, async () => {
    const dir = c.tmpDir;
    await mkdir(join(dir, 'keys'));
    const hostKey = join(dir, 'keys', 'ssh_host_ed25519_key');
    await writeFile(hostKey, await generateHostKey('ed25519'), { mode: 0o600 });
    const key = await clientKey(dir);
    await c.store.addUserKey('demo', { ...parsePublicKeyLine(key.pub), now: Date.now() });
    const p = await c.startSftpProcess(['--host-key', hostKey]);
    const t = { port: p.port, dir, hostSha256: '', server: null as never };
    const sha256 = await bigFile(join(dir, 'big.bin'), SIZE);
    // Warm up (code loaded, pools open) before the baseline.
    await writeFile(join(dir, 'small.bin'), randomBytes(16 * MiB));
    const warm = await sftpBatch(t, 'put small.bin /small.bin\n', { cwd: dir, identity: key.file });
    assert.equal(warm.code, 0, warm.stderr + p.output());
    const baseline = p.rssKb() * 1024;
    let peak = baseline;
    const sampler = setInterval(() => {
      if (p.alive()) peak = Math.max(peak, p.rssKb() * 1024);
    }, 25);
    const put = sftpBatch(t, 'put big.bin /big.bin\n', { cwd: dir, identity: key.file, timeoutMs: 120_000 });
    let running = true;
    let pauses = 0;
    const pausing = (async () => {
      while (running) {
        await sleep(RUN_MS);
        if (!running) break;
        for (const n of c.nodes) n.proc.kill('SIGSTOP');
        await sleep(PAUSE_MS);
        for (const n of c.nodes) n.proc.kill('SIGCONT');
        // Counted when the client was still sending when it ended.
        if (running) pauses++;
      }
    })();
    const r = await put.finally(() => {
      running = false;
      clearInterval(sampler);
    });
    await pausing;
    assert.equal(r.code, 0, `sftp put failed or timed out (${r.code}): ${r.stderr}\n${p.output()}`);
    assert.equal(await c.checkStored('/big.bin', { size: SIZE, sha256 }, 2), null);
    const grown = peak - baseline;
    process.stdout.write(`# door RSS ${(baseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB (+${(grown / MiB).toFixed(1)} MiB) for ${SIZE / MiB} MiB, ${pauses} node pauses\n`);
    assert.ok(pauses >= 1, `the nodes were paused ${pauses} times during the upload`);
    assert.ok(grown < RSS_GROWTH_LIMIT, `the door grew by ${(grown / MiB).toFixed(1)} MiB during a ${SIZE / MiB} MiB upload`);
  });
});
