// The floors: what this disk alone needs for the durable work a figure includes, measured in the
// same run (same load) as the servers, so each figure can also be read as "× the floor".
//   small files: two chains side by side (two replicas), each per file: create, write 4 KiB,
//                fsync the file, close, fsync the directory (a node's PUT, nothing else);
//                with --parallel=8, eight such pairs of chains at once over the same files;
//   big file:    two copies of the big file written side by side, each fsynced at the end;
//   big read:    one sha256 pass over the big file from the page cache (a verified read hashes
//                every byte once, wherever it is done);
//   small reads: each small file opened, read and hashed once (no disk flush on that path: this
//                is what any verified read of them must do, so it is close to nothing).
// mogftp does more on both paths (the database's commits, the hashing, the copies through the
// front-end), so a floor is a lower bound, not a target.
import { createHash, randomFillSync } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

const elapsed = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

async function fsyncChain(dir: string, files: number, body: Buffer): Promise<void> {
  await mkdir(dir, { recursive: true });
  const d = await open(dir, 'r');
  try {
    for (let i = 0; i < files; i++) {
      const f = await open(join(dir, `f${i}`), 'wx');
      await f.write(body);
      await f.sync();
      await f.close();
      await d.sync();
    }
  } finally {
    await d.close();
  }
}

/**
 * Seconds for `files` small files stored durably twice over: two chains at once, or with
 * `workers` > 1 that many pairs of chains at once, the files shared out among them (as
 * `mirror -R --parallel=N` shares them among its connections).
 */
export async function smallFileFloor(work: string, files: number, workers = 1): Promise<number> {
  const base = join(work, 'floor-small');
  const body = randomFillSync(Buffer.alloc(4096));
  await rm(base, { recursive: true, force: true });
  await mkdir(base);
  const share = (w: number) => Math.floor(files / workers) + (w < files % workers ? 1 : 0);
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: workers }, (_, w) => ['a', 'b'].map((copy) => fsyncChain(join(base, copy, `w${w}`), share(w), body))).flat());
  const secs = elapsed(t0);
  await rm(base, { recursive: true, force: true });
  return secs;
}

async function writeSynced(path: string, bytes: number, block: Buffer): Promise<void> {
  const f = await open(path, 'w');
  try {
    for (let left = bytes; left > 0; left -= block.length) await f.write(block, 0, Math.min(block.length, left));
    await f.sync();
  } finally {
    await f.close();
  }
}

/** Seconds to write two copies of `bytes` side by side, each fsynced. */
export async function bigFileFloor(work: string, bytes: number): Promise<number> {
  const block = randomFillSync(Buffer.alloc(8 * 1024 * 1024));
  const paths = [join(work, 'floor-big-a'), join(work, 'floor-big-b')];
  const t0 = process.hrtime.bigint();
  await Promise.all(paths.map((p) => writeSynced(p, bytes, block)));
  const secs = elapsed(t0);
  for (const p of paths) await rm(p, { force: true });
  return secs;
}

/** Seconds for one sha256 pass over `file`, read from the page cache (it was just written or read). */
export async function bigReadFloor(file: string): Promise<number> {
  const block = Buffer.allocUnsafe(8 * 1024 * 1024);
  const f = await open(file, 'r');
  try {
    const t0 = process.hrtime.bigint();
    const h = createHash('sha256');
    for (let pos = 0; ; ) {
      const { bytesRead } = await f.read(block, 0, block.length, pos);
      if (bytesRead === 0) break;
      h.update(block.subarray(0, bytesRead));
      pos += bytesRead;
    }
    h.digest();
    return elapsed(t0);
  } finally {
    await f.close();
  }
}

/** Seconds to open, read and sha256 every file of `dir` once, one after another. */
export async function smallReadFloor(dir: string): Promise<number> {
  const names = await readdir(dir);
  const t0 = process.hrtime.bigint();
  for (const name of names) createHash('sha256').update(await readFile(join(dir, name))).digest();
  return elapsed(t0);
}
