// Ids from the `counters` table (the fid counter) on MySQL/MariaDB. On one server each new id
// is `UPDATE counters SET v = LAST_INSERT_ID(v + 1)` inside the transaction that uses it: the row
// lock serializes the writers. On a Galera cluster writers on different nodes do not wait for
// each other: they collide at COMMIT, and one fid counter written by every upload on every node
// makes nearly every concurrent reservation a certification conflict. So there a process takes
// a block of ids at a time and hands them out from memory. A block counts as taken only once
// the transaction that moved the counter has committed (a rolled-back one moved nothing), so an
// id is never handed out twice; ids a process took but did not use are a gap, never reused.
// Fids then grow per process, not globally, which nothing relies on (the orphan sweep only asks
// that every fid be at most the counter, which holds).
import type { PoolConnection, ResultSetHeader } from 'mysql2/promise';
import { ErrorCodes, mogError } from '../../errors.ts';

/** Ids per block on Galera: a conflict on the counter row once per this many uploads of a process. */
const BLOCK = 32;

/** Ids taken by a transaction, usable once it commits. */
export interface PendingIds {
  name: string;
  next: number;
  end: number;
}

export class Counters {
  private readonly free = new Map<string, { next: number; end: number }>();

  /** `blocks`: take BLOCK ids at a time (Galera); otherwise one per call. `timeout`: the driver's statement limit (ms). */
  constructor(
    private readonly blocks: boolean,
    private readonly timeout?: number,
  ) {}

  /**
   * The next id of counter `name`. `pending` collects what the enclosing transaction took
   * (handed to release() after its COMMIT); null outside a transaction (the UPDATE commits itself).
   */
  async next(conn: PoolConnection, name: string, pending: PendingIds[] | null): Promise<number> {
    const held = this.free.get(name);
    if (held && held.next < held.end) return held.next++;
    const step = this.blocks ? BLOCK : 1;
    // LAST_INSERT_ID(expr) hands the new value back in the OK packet: one round trip.
    const [res] = await conn.query({ sql: 'UPDATE counters SET v = LAST_INSERT_ID(v + ?) WHERE name = ?', values: [step, name], timeout: this.timeout });
    const h = res as ResultSetHeader;
    if (h.affectedRows !== 1) throw mogError(ErrorCodes.INTERNAL, `Counter ${name} is missing; was the schema migrated?`);
    const top = Number(h.insertId);
    if (step > 1) {
      const rest = { name, next: top - step + 2, end: top + 1 };
      if (pending) pending.push(rest);
      else this.release([rest]);
    }
    return top - step + 1;
  }

  /** The ids of a committed transaction become this process's to hand out. */
  release(pending: readonly PendingIds[]): void {
    for (const p of pending) {
      const held = this.free.get(p.name);
      if (!held || held.next >= held.end) this.free.set(p.name, { next: p.next, end: p.end });
      // A second block committed while the first still lasts (two transactions ran out at once):
      // its ids are dropped, a gap like any other.
    }
  }
}
