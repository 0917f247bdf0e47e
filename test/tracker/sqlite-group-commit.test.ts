// SQLite group commit (src/tracker/store/sqlite-group.ts): writes asked for together share one
// COMMIT, a failing work takes only itself out of the batch, and a promise settles only once its
// work is durable. Commits are counted in the database's own write-ahead log: every commit ends
// with a frame whose "database size after commit" field is non-zero.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCodes, isMogError, mogError } from '../../src/errors.ts';
import { all, run, type Driver } from '../../src/tracker/store/driver.ts';
import { sqliteDriver } from '../../src/tracker/store/sqlite.ts';
import { MAX_BATCH } from '../../src/tracker/store/sqlite-group.ts';

const WAL_HEADER = 32;
const FRAME_HEADER = 24;

/** Commit frames of the WAL's current generation (frames whose salts match the header's). */
function walCommits(walPath: string): number {
  const wal = readFileSync(walPath);
  if (wal.length < WAL_HEADER) return 0;
  const pageSize = wal.readUInt32BE(8);
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  let commits = 0;
  for (let at = WAL_HEADER; at + FRAME_HEADER + pageSize <= wal.length; at += FRAME_HEADER + pageSize) {
    if (wal.readUInt32BE(at + 8) !== salt1 || wal.readUInt32BE(at + 12) !== salt2) break;
    if (wal.readUInt32BE(at + 4) !== 0) commits++;
  }
  return commits;
}

function insert(name: string) {
  return function* () {
    yield* run('INSERT INTO t (name) VALUES (?)', name);
  };
}

describe('SQLite group commit', () => {
  let dir: string;
  let path: string;
  let driver: Driver;
  let other: Database.Database;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mogftp-group-'));
    path = join(dir, 'db.sqlite');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    // Only for the failing-COMMIT case: a deferred foreign key is checked at COMMIT.
    db.pragma('foreign_keys = ON');
    driver = sqliteDriver(db, 'in the test');
    await driver.write(function* () {
      yield* run('CREATE TABLE t (name TEXT PRIMARY KEY)');
      yield* run('CREATE TABLE child (parent TEXT REFERENCES t(name) DEFERRABLE INITIALLY DEFERRED)');
    });
    other = new Database(path, { readonly: true });
  });

  after(async () => {
    other.close();
    await driver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const names = (prefix: string) =>
    (other.prepare("SELECT name FROM t WHERE name LIKE ? || '%' ORDER BY name").all(prefix) as { name: string }[]).map((r) => r.name);
  const commits = () => walCommits(`${path}-wal`);

  test('writes asked for together share one commit', async () => {
    const before = commits();
    await Promise.all(['a1', 'a2', 'a3', 'a4', 'a5'].map((n) => driver.write(insert(n))));
    assert.equal(commits() - before, 1, 'five concurrent writes, one COMMIT');
    assert.deepEqual(names('a'), ['a1', 'a2', 'a3', 'a4', 'a5']);
    // auto() joins the same batches.
    const mid = commits();
    await Promise.all([driver.auto(insert('a6')), driver.write(insert('a7'))]);
    assert.equal(commits() - mid, 1);
  });

  test('writes awaited one after another commit one by one, and a read after each sees it', async () => {
    const before = commits();
    await driver.write(insert('s1'));
    assert.deepEqual(await driver.read(() => all('SELECT name FROM t WHERE name = ?', 's1')), [{ name: 's1' }]);
    await driver.write(insert('s2'));
    assert.equal(commits() - before, 2);
  });

  test('a batch holds at most MAX_BATCH works', async () => {
    const before = commits();
    const n = MAX_BATCH * 2 + 3;
    await Promise.all(Array.from({ length: n }, (_, i) => driver.write(insert(`m${String(i).padStart(4, '0')}`))));
    assert.equal(commits() - before, 3);
    assert.equal(names('m').length, n);
  });

  test('a failing work rejects alone; the others of its batch are committed', async () => {
    const before = commits();
    const outcomes = await Promise.allSettled([
      driver.write(insert('f1')),
      // Its second statement breaks the primary key: its first must not stay either.
      driver.write(function* () {
        yield* run('INSERT INTO t (name) VALUES (?)', 'f2-first');
        yield* run('INSERT INTO t (name) VALUES (?)', 'f1');
      }),
      driver.write(insert('f3')),
    ]);
    assert.equal(outcomes[0].status, 'fulfilled');
    assert.equal(outcomes[2].status, 'fulfilled');
    assert.equal(outcomes[1].status, 'rejected');
    assert.ok(isMogError((outcomes[1] as PromiseRejectedResult).reason, ErrorCodes.EXISTS));
    assert.equal(commits() - before, 1);
    assert.deepEqual(names('f'), ['f1', 'f3']);
  });

  test('a work that throws after some statements leaves none of its rows', async () => {
    const boom = mogError(ErrorCodes.NOT_FOUND, 'changed its mind');
    const outcomes = await Promise.allSettled([
      driver.write(insert('g1')),
      driver.write(function* () {
        yield* run('INSERT INTO t (name) VALUES (?)', 'g2-a');
        yield* run('INSERT INTO t (name) VALUES (?)', 'g2-b');
        throw boom;
      }),
      driver.write(insert('g3')),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal((outcomes[1] as PromiseRejectedResult).reason, boom, 'the work’s own error, unchanged');
    assert.deepEqual(names('g'), ['g1', 'g3']);
  });

  test('a failing COMMIT rejects the whole batch and commits none of it', async () => {
    const outcomes = await Promise.allSettled([
      driver.write(insert('h1')),
      driver.write(function* () {
        yield* run('INSERT INTO child (parent) VALUES (?)', 'no such parent');
      }),
      driver.write(insert('h3')),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['rejected', 'rejected', 'rejected'],
    );
    for (const o of outcomes) assert.ok(isMogError((o as PromiseRejectedResult).reason, ErrorCodes.INTERNAL));
    assert.deepEqual(names('h'), []);
    assert.deepEqual(other.prepare('SELECT * FROM child').all(), []);
  });

  test('each write is in the file, seen by a second connection, when its promise settles', async () => {
    const seen: string[][] = [];
    await Promise.all(
      ['d1', 'd2', 'd3'].map((n) =>
        driver.write(insert(n)).then(() => {
          const fresh = new Database(path, { readonly: true });
          try {
            seen.push((fresh.prepare('SELECT name FROM t WHERE name = ?').all(n) as { name: string }[]).map((r) => r.name));
          } finally {
            fresh.close();
          }
        }),
      ),
    );
    assert.deepEqual(seen, [['d1'], ['d2'], ['d3']]);
  });

  test('close commits what was asked for before it', async () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'mogftp-group-close-'));
    try {
      const file = join(dir2, 'db.sqlite');
      const db = new Database(file);
      db.pragma('journal_mode = WAL');
      const d = sqliteDriver(db, 'in the test');
      await d.write(function* () {
        yield* run('CREATE TABLE t (name TEXT PRIMARY KEY)');
      });
      const pending = d.write(insert('c1'));
      await d.close();
      await pending;
      const check = new Database(file, { readonly: true });
      assert.deepEqual(check.prepare('SELECT name FROM t').all(), [{ name: 'c1' }]);
      check.close();
    } finally {
      rmSync(dir2, { recursive: true, force: true });
    }
  });
});
