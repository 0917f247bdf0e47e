// The floors: what this disk alone needs for the durable work a figure includes, measured in the
// same run (same load) as the servers, so each figure can also be read as "× the floor".
//   small files: two chains side by side (two replicas), each per file: create, write 4 KiB,
//                fsync the file, close, fsync the directory (a node's PUT, nothing else);
//   big file:    two copies of the big file written side by side, each fsynced at the end.
// mogftp does more on both paths (the database's commits, the hashing, the copies through the
// front-end), so a floor is a lower bound, not a target.
import { randomFillSync } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';

const elapsed = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

async function fsyncChain(dir: string, files: number, body: Buffer): Promise<void> {
  await mkdir(dir);
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

/** Seconds for `files` small files stored durably twice over (two chains at once). */
export async function smallFileFloor(work: string, files: number): Promise<number> {
  const base = join(work, 'floor-small');
  const body = randomFillSync(Buffer.alloc(4096));
  await rm(base, { recursive: true, force: true });
  await mkdir(base);
  const t0 = process.hrtime.bigint();
  await Promise.all([fsyncChain(join(base, 'a'), files, body), fsyncChain(join(base, 'b'), files, body)]);
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
