// A device's replica files in fid order, for the orphan sweep (src/jobs/orphans.ts):
// `GET /devN/?list&after=FID&limit=N` answers JSON lines {"fid","size","mtime"} (mtime in ms),
// at most `limit` of them, fids above `after`. The layout's directories are zero-padded digits
// of the fid (layout.ts), so reading each directory sorted walks the fids in order, and whole
// directories below the cursor are skipped unread. One directory (≤ 1000 names) is in memory at
// a time; lines are written with backpressure. Copies still being written (IN_PROGRESS_MODE)
// and anything that is not a regular file of the layout are left out.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { isInProgress } from './layout.ts';

export const MAX_LIST_LIMIT = 10_000;

export interface ListedFid {
  fid: number;
  size: number;
  mtime: number;
}

/** Parses `list&after=&limit=` from a query string; null when the request is not a listing. */
export function parseListQuery(rawUrl: string): { after: number; limit: number } | null | 'bad' {
  const q = rawUrl.indexOf('?');
  if (q < 0) return null;
  const params = new URLSearchParams(rawUrl.slice(q + 1));
  if (!params.has('list')) return null;
  const after = Number(params.get('after') ?? '0');
  const limit = Number(params.get('limit') ?? '1000');
  if (!Number.isSafeInteger(after) || after < 0 || !Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) return 'bad';
  return { after, limit };
}

async function sortedNames(dir: string, pattern: RegExp): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => pattern.test(n)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The device's replicas with fid > after, ascending, at most `limit`. */
export async function* listFids(devDir: string, after: number, limit: number): AsyncGenerator<ListedFid> {
  const cursor = String(after).padStart(10, '0');
  let sent = 0;
  for (const a of await sortedNames(devDir, /^[0-9]$/)) {
    if (a < cursor.slice(0, 1)) continue;
    for (const b of await sortedNames(join(devDir, a), /^[0-9]{3}$/)) {
      if (a + b < cursor.slice(0, 4)) continue;
      for (const c of await sortedNames(join(devDir, a, b), /^[0-9]{3}$/)) {
        if (a + b + c < cursor.slice(0, 7)) continue;
        for (const name of await sortedNames(join(devDir, a, b, c), /^[0-9]{10}\.fid$/)) {
          // Only names that sit where the layout puts them.
          if (name.slice(0, 7) !== a + b + c) continue;
          const fid = Number(name.slice(0, 10));
          if (fid <= after || fid <= 0) continue;
          let st;
          try {
            st = await lstat(join(devDir, a, b, c, name));
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted meanwhile
            throw err;
          }
          if (!st.isFile() || isInProgress(st)) continue;
          yield { fid, size: st.size, mtime: Math.floor(st.mtimeMs) };
          if (++sent >= limit) return;
        }
      }
    }
  }
}

/** Writes the listing as JSON lines, with backpressure. */
export async function sendListing(res: ServerResponse, devDir: string, after: number, limit: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  for await (const f of listFids(devDir, after, limit)) {
    if (res.destroyed) return;
    if (!res.write(JSON.stringify(f) + '\n')) await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
  res.end();
}
