// What is specific to opening a store (src/tracker/open.ts): database URLs, creating databases,
// unreachable servers, and recovery after a lost connection. The Store's contract itself is in
// the role suites that store.test.ts runs on every backend.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import { ErrorCodes } from '../../src/errors.ts';
import { openStore, parseDbUrl, redactDbUrl } from '../../src/tracker/open.ts';
import { supportsSkipLocked } from '../../src/tracker/store/mysql.ts';
import { createMysqlTestDb, MYSQL_TEST_HOST, MYSQL_TEST_PORT, mysqlAdminOptions } from '../harness/db.ts';
import { expectCode } from './suite-store.ts';

describe('database URLs', () => {
  test('parses sqlite and mysql/mariadb URLs', () => {
    assert.deepEqual(parseDbUrl('sqlite:/var/lib/mogftp/meta.db'), { kind: 'sqlite', path: '/var/lib/mogftp/meta.db' });
    assert.deepEqual(parseDbUrl('sqlite:///var/lib/meta.db'), { kind: 'sqlite', path: '/var/lib/meta.db' });
    assert.deepEqual(parseDbUrl('sqlite:data/meta.db'), { kind: 'sqlite', path: resolve('data/meta.db') });
    assert.deepEqual(parseDbUrl('sqlite::memory:'), { kind: 'sqlite', path: ':memory:' });
    assert.deepEqual(parseDbUrl('mysql://mog:s%40cret@db.example:3307/mogftp'), {
      kind: 'mysql', host: 'db.example', port: 3307, user: 'mog', password: 's@cret', database: 'mogftp',
    });
    assert.deepEqual(parseDbUrl('mariadb://root@[::1]/m_1?connectionLimit=3'), {
      kind: 'mysql', host: '::1', port: 3306, user: 'root', password: '', database: 'm_1', connectionLimit: 3,
    });
  });

  test('rejects what it cannot use with BAD_DB_URL and says why', async () => {
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['/just/a/path.db', /no scheme/],
      ['postgres://u@h/db', /unknown scheme "postgres:"/],
      ['sqlite:', /no file name/],
      ['sqlite://host/x.db', /not a host/],
      ['mysql://u@h', /no database name/],
      ['mysql://h/db', /no user/],
      ['mysql://u@h:99999/db', /port|valid URL/],
      ['mysql://u@h/db;drop', /database name/],
      ['mysql://u@h/db?ssl=1', /unknown option "ssl"/],
    ];
    for (const [url, why] of cases) await expectCode(openStore(url), ErrorCodes.BAD_DB_URL, why);
  });

  test('redactDbUrl hides the password and nothing else', () => {
    assert.equal(redactDbUrl('mysql://mog:s3cr3t@db:3306/mogftp'), 'mysql://mog:***@db:3306/mogftp');
    assert.equal(redactDbUrl('mariadb://mog:p@ss@db/x'), 'mariadb://mog:***@db/x');
    assert.equal(redactDbUrl('mysql://mog@db/x'), 'mysql://mog@db/x');
    assert.equal(redactDbUrl('sqlite:/a/b.db'), 'sqlite:/a/b.db');
  });

  test('a BAD_DB_URL message never shows the password', async () => {
    await assert.rejects(openStore('mysql://u:topsecret@h/'), (err: Error) => !err.message.includes('topsecret'));
  });

  test('skip-locked support by server version', () => {
    assert.equal(supportsSkipLocked('10.11.19-MariaDB-0+deb12u1'), true);
    assert.equal(supportsSkipLocked('10.5.2-MariaDB'), false);
    assert.equal(supportsSkipLocked('8.0.36'), true);
    assert.equal(supportsSkipLocked('5.7.44-log'), false);
  });
});

describe('opening SQLite', () => {
  test('a missing file is DB_UNAVAILABLE unless createDatabase, which also makes its directories', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mogftp-open-'));
    try {
      const file = join(dir, 'deep', 'er', 'meta.db');
      await expectCode(openStore(`sqlite:${file}`), ErrorCodes.DB_UNAVAILABLE, /no SQLite database/);
      const s = await openStore(`sqlite:${file}`, { createDatabase: true });
      await s.migrate();
      await s.createDomain('d');
      await s.close();
      assert.ok((await stat(file)).isFile());
      const raw = new Database(file, { readonly: true });
      try {
        assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      } finally {
        raw.close();
      }
      const again = await openStore(`sqlite:${file}`);
      assert.equal((await again.getDomain('d'))?.name, 'd');
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('sqlite::memory: works', async () => {
    const s = await openStore('sqlite::memory:');
    await s.migrate();
    assert.equal((await s.createDomain('m')).name, 'm');
    await s.close();
  });

  test('a file that is not a database is DB_UNAVAILABLE', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mogftp-open-'));
    try {
      const file = join(dir, 'junk.db');
      await import('node:fs/promises').then((fs) => fs.writeFile(file, 'this is not sqlite'.repeat(100)));
      await expectCode((async () => (await openStore(`sqlite:${file}`)).migrate())(), ErrorCodes.DB_UNAVAILABLE);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** A TCP proxy in front of MariaDB that can be cut and restored on the same port. */
async function startProxy(targetPort: number) {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const listen = () =>
    new Promise<void>((ok, fail) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, MYSQL_TEST_HOST);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
      });
      server.once('error', fail);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        ok();
      });
    });
  await listen();
  return {
    get port() {
      return port;
    },
    /** Stops accepting and kills every open connection, like a server going away. */
    async cut() {
      await new Promise<void>((ok) => {
        server!.close(() => ok());
        for (const s of sockets) s.destroy();
      });
    },
    restore: listen,
  };
}

describe('opening MariaDB', () => {
  test('createDatabase creates a missing database with utf8mb4 and binary collation', async () => {
    const name = `mogftp_test_${process.pid}_create`;
    const admin = await mysql.createConnection(mysqlAdminOptions());
    try {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      const url = `mysql://root@${MYSQL_TEST_HOST}:${MYSQL_TEST_PORT}/${name}`;
      await expectCode(openStore(url), ErrorCodes.DB_UNAVAILABLE, /does not exist/);
      const s = await openStore(url, { createDatabase: true });
      await s.migrate();
      await s.close();
      const [rows] = await admin.query(
        'SELECT default_character_set_name AS cs, default_collation_name AS co FROM information_schema.schemata WHERE schema_name = ?',
        [name],
      );
      assert.deepEqual((rows as Array<{ cs: string; co: string }>)[0], { cs: 'utf8mb4', co: 'utf8mb4_bin' });
      // Opening again with createDatabase is harmless.
      const again = await openStore(url, { createDatabase: true });
      assert.equal(await again.migrate(), await again.schemaVersion());
      await again.close();
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    }
  });

  test('an unreachable server or a refused login is DB_UNAVAILABLE naming host:port', async () => {
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const deadPort = (closed.address() as { port: number }).port;
    await new Promise<void>((ok) => closed.close(() => ok()));
    await expectCode(openStore(`mysql://root@127.0.0.1:${deadPort}/x`), ErrorCodes.DB_UNAVAILABLE, new RegExp(`cannot reach the database at 127.0.0.1:${deadPort}`));
    await expectCode(
      openStore(`mysql://nobody_here:wrong@${MYSQL_TEST_HOST}:${MYSQL_TEST_PORT}/x`),
      ErrorCodes.DB_UNAVAILABLE,
      new RegExp(`${MYSQL_TEST_HOST}:${MYSQL_TEST_PORT}`),
    );
  });

  test('a lost connection is DB_UNAVAILABLE, and the store recovers once the server is back', async () => {
    const db = await createMysqlTestDb();
    const proxy = await startProxy(MYSQL_TEST_PORT);
    const url = db.url.replace(`:${MYSQL_TEST_PORT}/`, `:${proxy.port}/`);
    const s = await openStore(url);
    try {
      await s.migrate();
      await Promise.all(Array.from({ length: 5 }, (_, i) => s.createDomain(`d${i}`))); // several pooled connections
      await proxy.cut();
      await expectCode(s.listDomains(), ErrorCodes.DB_UNAVAILABLE, /cannot reach the database/);
      await expectCode(s.createDomain('while-down'), ErrorCodes.DB_UNAVAILABLE);
      await proxy.restore();
      assert.equal((await s.listDomains()).length, 5, 'the first call after the server returns succeeds');
      await s.createDomain('after');
      assert.equal((await s.getDomain('after'))?.name, 'after');
      assert.equal(await s.getDomain('while-down'), null);
    } finally {
      await s.close();
      await proxy.cut();
      await db.drop();
    }
  });

  test('connections killed by the server are not reused', async () => {
    const db = await createMysqlTestDb();
    const s = await openStore(db.url);
    const admin = await mysql.createConnection(mysqlAdminOptions());
    try {
      await s.migrate();
      await Promise.all(Array.from({ length: 4 }, (_, i) => s.createDomain(`k${i}`)));
      const dbName = db.url.slice(db.url.lastIndexOf('/') + 1);
      const [procs] = await admin.query('SELECT id FROM information_schema.processlist WHERE db = ?', [dbName]);
      assert.ok((procs as unknown[]).length > 0);
      for (const p of procs as Array<{ id: number }>) await admin.query(`KILL ${Number(p.id)}`);
      // Every call works: a dead idle connection is dropped and the call runs on a new one.
      for (let i = 0; i < 6; i++) {
        assert.equal((await s.listDomains()).length, 4 + i);
        await s.createDomain(`after${i}`);
      }
    } finally {
      await admin.end();
      await s.close();
      await db.drop();
    }
  });
});
