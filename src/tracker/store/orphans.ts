// The store's part of the orphan sweep (src/jobs/orphans.ts): what the database knows of fids
// found on a device's disk. Reservations are read before files on purpose: a commit removes the
// reservation and adds the file in one transaction, so reading in this order (MariaDB runs READ
// COMMITTED) can never miss both and call an upload's copy unknown.
import type { StoredFidState } from '../types.ts';
import type { Work } from './driver.ts';
import { all, get, placeholders } from './driver.ts';
import { num } from './rows.ts';

export function* storedFidStates(devid: number, fids: number[]): Work<StoredFidState[]> {
  if (fids.length === 0) return [];
  const counter = yield* get("SELECT v FROM counters WHERE name = 'fid'");
  const highest = counter ? num(counter.v) : 0;
  const inList = placeholders(fids.length);
  const set = (rows: Record<string, unknown>[]) => new Set(rows.map((r) => num(r.fid)));
  const reserved = set(yield* all(`SELECT fid FROM reservations WHERE fid IN ${inList}`, ...fids));
  const live = set(yield* all(`SELECT fid FROM files WHERE fid IN ${inList}`, ...fids));
  const recorded = set(yield* all(`SELECT fid FROM replicas WHERE devid = ? AND fid IN ${inList}`, devid, ...fids));
  const deleting = set(yield* all(`SELECT fid FROM queue WHERE queue = 'delete' AND fid IN ${inList}`, ...fids));
  return fids.map((fid) => {
    let state: StoredFidState['state'];
    if (fid > highest) state = 'foreign';
    else if (recorded.has(fid)) state = 'recorded';
    else if (reserved.has(fid)) state = 'reserved';
    else if (deleting.has(fid)) state = 'queued-delete';
    else if (live.has(fid)) state = 'unrecorded-copy';
    else state = 'unknown';
    return { fid, state };
  });
}
