// Volume: lftp mirroring a tree of 1000 small files up and back (both stores), and a 1 GiB
// upload and download streamed through the front-end with its memory watched.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { before, describe, test } from 'node:test';
import { ftpUrl, lftp } from '../harness/clients.ts';
import { BACKENDS, sha256, useCluster } from '../harness/cluster.ts';

async function treeHashes(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(dir: string) {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(root, p), sha256(await readFile(p)));
    }
  }
  await walk(root);
  return out;
}

for (const backend of BACKENDS) {
  describe(`bulk transfers on ${backend}`, () => {
    const c = useCluster({ db: backend, ftp: true, tmpDir: 'mogftp-bulk-' });
    let dir: string;
    before(() => (dir = c.tmpDir));

    test('lftp mirror -R of 1000 small files in a tree, then mirror back: identical checksums', async () => {
      const src = join(dir, 'src');
      for (let d = 0; d < 10; d++) {
        await mkdir(join(src, `dir${d}`, 'nested'), { recursive: true });
        for (let f = 0; f < 100; f++) {
          const where = f % 2 ? join(src, `dir${d}`) : join(src, `dir${d}`, 'nested');
          await writeFile(join(where, `file-${f}.dat`), randomBytes(1 + ((d * 100 + f) * 37) % 8192));
        }
      }
      const up = await lftp(c.port, `mirror -R --no-perms ${src} /tree`, { timeoutMs: 400_000 });
      assert.equal(up.code, 0, up.stderr);
      const back = join(dir, 'back');
      const down = await lftp(c.port, `mirror --no-perms /tree ${back}`, { timeoutMs: 400_000 });
      assert.equal(down.code, 0, down.stderr);
      const want = await treeHashes(src);
      const got = await treeHashes(back);
      assert.equal(want.size, 1000);
      assert.deepEqual(got, want);
      // Spot-check durability on disk for a few of them.
      for (const rel of [...want.keys()].slice(0, 5)) {
        const replicas = await c.replicasOnDisk(`/tree/${rel}`);
        assert.equal(replicas.length, 2, rel);
        assert.ok(replicas.every((r) => r.sha256 === want.get(rel)));
      }
    });
  });
}

describe('a 1 GiB file through the front-end', () => {
  const c = useCluster({ db: 'sqlite', ftp: true });

  test('streams up and down with flat memory; every replica has the right sha256', async () => {
    const size = 1024 * 1024 * 1024;
    // Generate the bytes on the fly (a repeating random block with a counter), hashing as we go.
    const block = randomBytes(1024 * 1024);
    const expected = createHash('sha256');
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
    try {
      const curlUp = spawn('curl', ['-sS', '-T', '-', ftpUrl(c.port, '/huge.bin')], { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      curlUp.stderr.on('data', (d) => (err += d));
      const upDone = new Promise<number | null>((r) => curlUp.on('close', r));
      for (let off = 0; off < size; off += block.length) {
        block.writeUInt32BE(off / block.length, 0);
        expected.update(block);
        if (!curlUp.stdin.write(block)) await new Promise((r) => curlUp.stdin.once('drain', r));
      }
      curlUp.stdin.end();
      assert.equal(await upDone, 0, err);
      const want = expected.digest('hex');

      const curlDown = spawn('curl', ['-sS', ftpUrl(c.port, '/huge.bin')], { stdio: ['ignore', 'pipe', 'pipe'] });
      const got = createHash('sha256');
      curlDown.stdout.on('data', (d) => got.update(d));
      const downDone = new Promise<number | null>((r) => curlDown.on('close', r));
      assert.equal(await downDone, 0);
      assert.equal(got.digest('hex'), want, 'the download is the upload');

      const replicas = await c.replicasOnDisk('/huge.bin');
      assert.equal(replicas.length, 2);
      for (const r of replicas) {
        assert.equal(r.size, size);
        assert.equal(r.sha256, want);
      }
    } finally {
      clearInterval(sampler);
    }
    const growthMb = (peak - baseline) / 1024 / 1024;
    assert.ok(growthMb < 200, `front-end memory grew by ${growthMb.toFixed(0)} MB while moving 2 GiB`);
  });
});

