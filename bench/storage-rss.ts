// Does the storage node stream in constant memory? Starts `mogftp storage` as a child process,
// PUTs then GETs 2 GiB of generated data through the StorageClient, and samples the node's RSS
// (VmRSS from /proc/<pid>/status) throughout. Prints idle and peak RSS and their ratio; exits
// nonzero when the peak reaches 100 MB or the bytes do not come back intact.
// The node runs as in production: bin/mogftp.js on the compiled dist/, brought up to date first
// (scripts/build.js, emit only). MOGFTP_RUN=src measures the TypeScript sources under tsx instead.
//   node --import tsx bench/storage-rss.ts            (BENCH_BYTES=... to change the size)
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { StorageClient } from '../src/storage/client.ts';
import { fidPath } from '../src/storage/layout.ts';
import { startNodeProcess } from '../test/harness/nodes.ts';

const TOTAL = Number(process.env.BENCH_BYTES ?? 2 * 1024 ** 3);
const CHUNK = 1024 * 1024;
const LIMIT_MB = 100;

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** TOTAL bytes, each 1 MiB chunk a random block stamped with its index; hashed as it is produced. */
function generated(hash: ReturnType<typeof createHash>): Readable {
  const block = randomBytes(CHUNK);
  let sent = 0;
  let index = 0;
  return new Readable({
    read() {
      if (sent >= TOTAL) return void this.push(null);
      const n = Math.min(CHUNK, TOTAL - sent);
      const chunk = Buffer.allocUnsafe(n);
      block.copy(chunk, 0, 0, n);
      if (n >= 8) chunk.writeBigUInt64BE(BigInt(index++), 0);
      hash.update(chunk);
      sent += n;
      this.push(chunk);
    },
  });
}

const run = process.env.MOGFTP_RUN === 'src' ? 'src' : 'dist';
if (run === 'dist') execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build.js', import.meta.url)), '--no-check'], { stdio: 'inherit' });
const node = await startNodeProcess({ devids: [1], env: { MOGFTP_RUN: run } });
const client = new StorageClient({ idleTimeoutMs: 300_000 });
let failed = false;
try {
  const pid = node.proc.pid!;
  // Idle: after start-up settles, before any traffic.
  await new Promise((r) => setTimeout(r, 1500));
  const idle = rssMb(pid);
  let peak = idle;
  let phase = 'put';
  const peaks: Record<string, number> = { put: 0, get: 0 };
  const sampler = setInterval(() => {
    const now = rssMb(pid);
    peak = Math.max(peak, now);
    peaks[phase] = Math.max(peaks[phase] ?? 0, now);
  }, 25);

  const url = node.url + fidPath(1, 1);
  const sent = createHash('sha256');
  let t = Date.now();
  const put = await client.put(url, generated(sent), { length: TOTAL });
  const putSecs = (Date.now() - t) / 1000;
  const sentHex = sent.digest('hex');
  if (put.length !== TOTAL || put.checksum !== sentHex) {
    console.error(`PUT came back wrong: ${put.length} bytes, ${put.checksum} vs ${sentHex}`);
    failed = true;
  }

  phase = 'get';
  t = Date.now();
  const got = await client.get(url);
  const back = createHash('sha256');
  let received = 0;
  for await (const c of got.stream) {
    back.update(c as Buffer);
    received += (c as Buffer).length;
  }
  const getSecs = (Date.now() - t) / 1000;
  clearInterval(sampler);
  if (received !== TOTAL || back.digest('hex') !== sentHex) {
    console.error(`GET came back wrong: ${received} bytes`);
    failed = true;
  }

  const gib = TOTAL / 1024 ** 3;
  const mbps = (s: number) => ((TOTAL / 1024 ** 2) / s).toFixed(0);
  console.log(`node runs       ${run === 'dist' ? 'dist/ (compiled JavaScript)' : 'src/ through tsx'}`);
  console.log(`size            ${gib.toFixed(2)} GiB`);
  console.log(`PUT             ${putSecs.toFixed(1)} s (${mbps(putSecs)} MiB/s), node peak RSS ${peaks.put!.toFixed(1)} MB`);
  console.log(`GET             ${getSecs.toFixed(1)} s (${mbps(getSecs)} MiB/s), node peak RSS ${peaks.get!.toFixed(1)} MB`);
  console.log(`idle RSS        ${idle.toFixed(1)} MB`);
  console.log(`peak RSS        ${peak.toFixed(1)} MB (limit ${LIMIT_MB} MB)`);
  console.log(`peak / idle     ${(peak / idle).toFixed(2)}`);
  console.log(`below ${LIMIT_MB} MB    ${peak < LIMIT_MB ? 'yes' : 'NO'}`);
  if (peak >= LIMIT_MB) {
    console.error(`FAIL: peak RSS ${peak.toFixed(1)} MB >= ${LIMIT_MB} MB`);
    failed = true;
  }
} finally {
  client.close();
  await node.stop();
}
process.exitCode = failed ? 1 : 0;
