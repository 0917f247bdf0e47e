// `admin import mogilefs` when things go wrong: an import stopped by a failing batch keeps the
// batches before it and completes when run again; the MogileFS database is never written (its
// tables checksum the same after imports); a --from that is not a MogileFS database, or not a
// MySQL URL at all, is a one-line error. The import itself never contacts the nodes, so the
// fixture's .fid files go to plain directories here.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ImportReport } from '../../src/mogilefs/import/report.ts';
import { openStore } from '../../src/tracker/open.ts';
import { ROOT_ID } from '../../src/tracker/types.ts';
import { adminCli } from '../harness/admin-cli.ts';
import { createSqliteTestDb, MYSQL_TEST_HOST, MYSQL_TEST_PORT, type TestDb } from '../harness/db.ts';
import { createMogileFsDb, esc, fillSource, fixtureFiles, k, type MogileFsDb } from './import-fixture.ts';

const TABLES = 'domain, class, file, tempfile, file_on, host, device, checksum';

describe('admin import mogilefs: resuming, a read-only source, bad input', () => {
  let src: MogileFsDb;
  let db: TestDb;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mogimport-resume-'));
    src = await createMogileFsDb();
    await fillSource(src, [1, 2, 3].map((i) => ({ root: join(dir, `n${i}`), port: 7500 + i })), fixtureFiles());
    db = await createSqliteTestDb();
    assert.equal((await adminCli(db.url, ['init'])).code, 0);
  });

  after(async () => {
    await src?.drop();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const sums = async () => JSON.stringify((await src.conn.query(`CHECKSUM TABLE ${TABLES}`))[0]);

  test('a failing batch stops the import after the batches before it; the next run completes', async () => {
    const before0 = await sums();
    // A directory where fid 7's escaped key must go: its batch (fids 7, 8, 9, 10) cannot commit.
    const blocked = esc(k('x//y')).split('/').slice(1);
    assert.equal((await adminCli(db.url, ['domain', 'add', 'testdom'])).code, 0);
    const store = await openStore(db.url);
    try {
      const dom = (await store.getDomain('testdom'))!;
      const top = await store.mkdir(dom.id, ROOT_ID, blocked[0]!, { mtime: 1 });
      const dirEntry = await store.mkdir(dom.id, top.id, blocked[1]!, { mtime: 1 });
      const first = await adminCli(db.url, ['import', 'mogilefs', '--from', src.url, '--batch', '4']);
      assert.notEqual(first.code, 0);
      assert.match(first.stderr, /fid 7: its escaped place .* is taken too/);
      assert.deepEqual((await store.listFids(0, 100)).map((f) => f.fid), [2, 3, 5, 6]);
      await store.rmdir(dirEntry.id);
    } finally {
      await store.close();
    }
    const second = await adminCli(db.url, ['import', 'mogilefs', '--from', src.url, '--batch', '4', '--json']);
    assert.equal(second.code, 0, second.stderr);
    const r = JSON.parse(second.stdout) as ImportReport;
    assert.equal(r.files.present, 4);
    assert.equal(r.files.imported, 11);
    assert.equal(r.fidFloor, 149);
    assert.equal(await sums(), before0, 'the MogileFS tables are unchanged');
  });

  test('a --from that is not a MogileFS database, or not MySQL: a clear one-line error', async () => {
    const notMog = await adminCli(db.url, ['import', 'mogilefs', '--from', `mysql://root@${MYSQL_TEST_HOST}:${MYSQL_TEST_PORT}/mysql`]);
    assert.notEqual(notMog.code, 0);
    assert.match(notMog.stderr, /is not a MogileFS 2\.x database/);
    const sqlite = await adminCli(db.url, ['import', 'mogilefs', '--from', 'sqlite:/tmp/x.db']);
    assert.notEqual(sqlite.code, 0);
    assert.match(sqlite.stderr, /--from must be a mysql:\/\/ URL/);
    const refused = await adminCli(db.url, ['import', 'mogilefs', '--from', 'mysql://nobody:wrong@127.0.0.1:1/mogilefs']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Cannot connect to the MogileFS database 127\.0\.0\.1:1\/mogilefs/);
    for (const run of [notMog, sqlite, refused]) assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  });
});
