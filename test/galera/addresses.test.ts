// Several database addresses in one URL (issue 22) and the replicated migration lock, on the
// shared MariaDB alone (no Galera needed, so this file runs in `npm test`): parsing, moving past
// an address that refuses, failing cleanly when none answers, and a stale lock row taken over.
// The same against a real Galera cluster: store.galera.ts and fault.galera.ts.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { ErrorCodes, isMogError } from '../../src/errors.ts';
import { openStore, parseDbUrl, redactDbUrl, withDbPassword } from '../../src/tracker/open.ts';
import { LATEST_SCHEMA_VERSION } from '../../src/tracker/store/migrations.ts';
import { createMysqlTestDb, MYSQL_TEST_HOST, MYSQL_TEST_PORT, mysqlAdminOptions, type TestDb } from '../harness/db.ts';

/** A port nothing listens on (it was free a moment ago): connections to it are refused. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('database URLs naming several servers', () => {
  test('parse into the list of addresses, in order, with the first as host/port', () => {
    assert.deepEqual(parseDbUrl('mysql://mog:p%40ss@db1:3307,db2,[::1]:3308/mogftp?connectionLimit=4'), {
      kind: 'mysql', host: 'db1', port: 3307, user: 'mog', password: 'p@ss', database: 'mogftp', connectionLimit: 4,
      hosts: [{ host: 'db1', port: 3307 }, { host: 'db2', port: 3306 }, { host: '::1', port: 3308 }],
    });
    // One address: no list, as before.
    assert.equal('hosts' in parseDbUrl('mysql://mog@db1/mogftp'), false);
  });

  test('queryTimeout (seconds) bounds how long a statement may go unanswered', () => {
    assert.equal((parseDbUrl('mysql://mog@db1,db2/mogftp?queryTimeout=7') as { queryTimeoutMs?: number }).queryTimeoutMs, 7000);
    assert.equal('queryTimeoutMs' in parseDbUrl('mysql://mog@db1/mogftp'), false, 'unset: the driver default (30 s)');
    for (const bad of ['0', '-1', '1.5', 'x', '86401']) {
      assert.throws(() => parseDbUrl(`mysql://mog@db1/m?queryTimeout=${bad}`), (err: unknown) => isMogError(err, ErrorCodes.BAD_DB_URL) && /queryTimeout must be 1-86400/.test((err as Error).message), bad);
    }
  });

  test('reject an empty or malformed address and say which', () => {
    for (const [url, why] of [
      ['mysql://u@db1,,db2/m', /no host/],
      ['mysql://u@db1,db2:99999/m', /"db2:99999" is not a host or host:port/],
      ['mysql://u@db1,db2:x/m', /"db2:x" is not a host or host:port/],
      [`mysql://u@${Array.from({ length: 17 }, (_, i) => `h${i}`).join(',')}/m`, /at most 16/],
    ] as const) {
      assert.throws(() => parseDbUrl(url), (err: unknown) => isMogError(err, ErrorCodes.BAD_DB_URL) && why.test((err as Error).message), url);
    }
  });

  test('a password file and redaction keep every address', () => {
    assert.equal(withDbPassword('mysql://mog:old@db1:3306,db2:3307/m', 'n@w'), 'mysql://mog:n%40w@db1:3306,db2:3307/m');
    assert.equal(redactDbUrl('mysql://mog:secret@db1,db2/m'), 'mysql://mog:***@db1,db2/m');
  });
});

describe('a store on several addresses (the shared MariaDB behind a dead one)', () => {
  let db: TestDb;
  let name: string;
  before(async () => {
    db = await createMysqlTestDb({ prefix: 'mogftp_addr' });
    name = new URL(db.url).pathname.slice(1);
  });
  after(async () => {
    await db?.drop();
  });

  test('opens on the first address that answers, and migrates there', async () => {
    const url = `mysql://root@127.0.0.1:${await deadPort()},${MYSQL_TEST_HOST}:${MYSQL_TEST_PORT}/${name}`;
    const store = await openStore(url);
    try {
      assert.equal(await store.migrate(), LATEST_SCHEMA_VERSION);
      const d = await store.createDomain('two-addresses');
      assert.equal((await store.getDomain('two-addresses'))?.id, d.id);
    } finally {
      await store.close();
    }
  });

  test('when no address answers: DB_UNAVAILABLE at once, naming an address, not a crash', async () => {
    const url = `mysql://root@127.0.0.1:${await deadPort()},127.0.0.1:${await deadPort()}/${name}`;
    const t0 = Date.now();
    await assert.rejects(openStore(url), (err: unknown) => isMogError(err, ErrorCodes.DB_UNAVAILABLE) && /127\.0\.0\.1:\d+/.test((err as Error).message));
    assert.ok(Date.now() - t0 < 5000, 'refused connections fail fast');
  });

  test('a migration lock row left by a dead process is taken over once it has expired', async () => {
    const admin = await mysql.createConnection({ ...mysqlAdminOptions(), database: name });
    try {
      await admin.query(`INSERT INTO schema_lock (name, holder, expires_at) VALUES ('migrate', 'a dead init', ?)`, [Date.now() - 1000]);
      const store = await openStore(db.url);
      try {
        assert.equal(await store.migrate(), LATEST_SCHEMA_VERSION);
      } finally {
        await store.close();
      }
      const [rows] = await admin.query('SELECT COUNT(*) AS n FROM schema_lock');
      assert.equal(Number((rows as Array<{ n: number }>)[0]!.n), 0, 'the lock row is gone after the migration');
    } finally {
      await admin.end();
    }
  });

  test('several processes migrating one database at once: each ends at the latest version, the lock released', async () => {
    const fresh = await createMysqlTestDb({ prefix: 'mogftp_addr' });
    try {
      const stores = await Promise.all([0, 1, 2].map(() => openStore(fresh.url)));
      try {
        assert.deepEqual(await Promise.all(stores.map((s) => s.migrate())), [LATEST_SCHEMA_VERSION, LATEST_SCHEMA_VERSION, LATEST_SCHEMA_VERSION]);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    } finally {
      await fresh.drop();
    }
  });
});
