// Group commit for the SQLite driver: writes asked for while others wait share one
// BEGIN IMMEDIATE ... COMMIT, so one WAL fsync (synchronous=FULL, 0.5-7 ms here) makes a whole
// batch durable instead of one fsync per write. better-sqlite3 is synchronous and each fsync
// stops the event loop, so with --parallel=8 the sessions used to queue behind one another's
// commits; now the commits that pile up while the loop is busy go to disk together.
//
// How a batch is collected: a write is queued and the first one schedules a flush with
// setImmediate. better-sqlite3 runs on the event loop's own thread, so "run the first at once and
// batch what arrives while it runs" cannot work here: nothing else runs while it commits. The
// check phase (setImmediate) comes right after the poll phase in the same loop iteration, so a
// write asked for by an I/O callback waits only for the other callbacks of that poll phase, never
// for more I/O: a lone sequential session pays one hop of the loop (microseconds), while
// sessions whose requests arrived during the last fsync all land in the same poll phase and
// share the next one. queueMicrotask would batch only what one callback asked for.
//
// Durability: a promise settles only after the COMMIT that held its work returned, and with
// synchronous=FULL that COMMIT returns after the WAL's fsync. Nothing is acknowledged earlier.
import type Database from 'better-sqlite3';

/** At most this many works share one transaction, so one flush never holds the loop too long. */
export const MAX_BATCH = 64;

interface Queued {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommit {
  private queue: Queued[] = [];
  private scheduled = false;
  /**
   * Runs one work: called alone (.immediate) it is BEGIN IMMEDIATE, the work, COMMIT, with no
   * savepoint to pay for; called inside the batch's transaction, better-sqlite3 gives it a
   * SAVEPOINT of its own, rolled back (and only it) when the work throws.
   */
  private readonly txn: Database.Transaction<(fn: () => unknown) => unknown>;
  private readonly batchTxn: Database.Transaction<(batch: Queued[]) => Outcome[]>;

  constructor(
    private readonly db: Database.Database,
    private readonly mapError: (err: unknown) => unknown,
  ) {
    this.txn = db.transaction((fn: () => unknown) => fn());
    this.batchTxn = db.transaction((batch: Queued[]) => batch.map((q) => this.runNested(q)));
  }

  /** Queues `run` for the next flush; settles after the COMMIT that made it durable. */
  submit<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  /** Runs everything queued now, batch after batch (before a migration or close). */
  drain(): void {
    while (this.queue.length > 0) this.flush();
  }

  /** Commits up to MAX_BATCH queued works in one transaction; what is left waits for the next turn. */
  private readonly flush = (): void => {
    this.scheduled = false;
    const batch = this.queue.splice(0, MAX_BATCH);
    if (this.queue.length > 0) {
      // Let I/O in between two full batches instead of holding the loop for all of them.
      this.scheduled = true;
      setImmediate(this.flush);
    }
    if (batch.length === 1) this.runAlone(batch[0]!);
    else if (batch.length > 1) this.runBatch(batch);
  };

  private runAlone(q: Queued): void {
    let value: unknown;
    try {
      value = this.txn.immediate(q.run);
    } catch (err) {
      q.reject(this.mapError(err));
      return;
    }
    q.resolve(value);
  }

  private runBatch(batch: Queued[]): void {
    let outcomes: Outcome[];
    try {
      outcomes = this.batchTxn.immediate(batch);
    } catch (err) {
      // BEGIN or COMMIT failed, or SQLite rolled the whole transaction back: nothing of the
      // batch is in the database, so every work of it fails with the same error.
      const mapped = this.mapError(err);
      for (const q of batch) q.reject(mapped);
      return;
    }
    batch.forEach((q, i) => {
      const o = outcomes[i]!;
      if (o.ok) q.resolve(o.value);
      else q.reject(this.mapError(o.error));
    });
  }

  private runNested(q: Queued): Outcome {
    try {
      return { ok: true, value: this.txn(q.run) };
    } catch (err) {
      // Its savepoint was rolled back: the work left nothing, the others go on. But some errors
      // (SQLITE_FULL, IOERR, BUSY, NOMEM) make SQLite roll back the whole transaction, the
      // earlier works' changes with it: then the batch fails as a whole (runBatch).
      if (!this.db.inTransaction) throw err;
      return { ok: false, error: err };
    }
  }
}
