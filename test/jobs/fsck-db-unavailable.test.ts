// fsck and a database that stops answering mid-check (issue 16 item 7): the search finds an intact
// copy nobody recorded, and recording it fails because another process holds SQLite's write
// lock past the busy timeout (a real SQLITE_BUSY, mapped to MOGFTP_ERR_DB_UNAVAILABLE). That must
// fail the check, to be retried, not turn into a "no copy anywhere" (NOPA) finding; once the
// database answers, the same check records the copy (FOND).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { ErrorCodes, isMogError } from '../../src/errors.ts';
import { fsckFid } from '../../src/jobs/fsck.ts';
import type { LogLevel } from '../../src/jobs/runner.ts';
import type { Store } from '../../src/tracker/types.ts';
import { JOBS_TEST_CLUSTER, useCluster } from '../harness/cluster.ts';

describe('fsck while the database is locked', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 3, mindevcount: 2 });
  let d1: number, d3: number;
  before(async () => {
    [d1, , d3] = c.nodes.map((n) => n.devid) as [number, number, number];
  });

  test('DB_UNAVAILABLE while recording a found copy fails the check; no NOPA is logged', async () => {
    const bytes = randomBytes(10_000);
    const { fid } = await c.putFile(bytes, [d1]);
    await c.client.put(c.replicaUrl(d3, fid), bytes); // an intact copy nobody recorded
    await rm(c.diskPath(d1, fid)); // and the recorded one gone

    // The store as fsck sees it, except that just before addReplica another connection takes
    // the write lock, and keeps it until addReplica has given up.
    const store = Object.create(c.store) as Store;
    store.addReplica = async (f, devid) => {
      const raw = new Database(c.dbUrl.replace(/^sqlite:/, ''));
      raw.exec('BEGIN IMMEDIATE');
      try {
        return await c.store.addReplica(f, devid);
      } finally {
        raw.exec('ROLLBACK');
        raw.close();
      }
    };
    const logged: string[] = [];
    const log = (level: LogLevel, msg: string) => logged.push(`${level}: ${msg}`);

    await assert.rejects(fsckFid({ store, client: c.client, log }, fid), (err) => isMogError(err, ErrorCodes.DB_UNAVAILABLE));
    const events = await c.store.listFsckEvents({ fid, limit: 100 });
    assert.deepEqual(events.map((e) => e.code), [], `nothing logged for fid ${fid}: ${logged.join('\n')}`);
    assert.deepEqual(await c.store.replicasOf(fid), [d1], 'nothing changed');

    // The retry, with the database back: the copy is found and recorded.
    const r = await fsckFid({ store: c.store, client: c.client, log }, fid);
    assert.deepEqual(
      r.events.map((e) => (e.devid ? `${e.code}:${e.devid}` : e.code)),
      [`MISS:${d1}`, 'SRCH', `FOND:${d3}`, `GONE:${d1}`, 'POVI', 'REPL'],
    );
    assert.deepEqual(await c.store.replicasOf(fid), [d3]);
  });
});
