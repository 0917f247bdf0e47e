// The database password from a file (--db-password-file, MOGFTP_DB_PASSWORD_FILE,
// db-password-file: in --config), against a real MariaDB user that has a password: the URL
// leaves the password out, the file supplies it, a wrong or unreadable file fails with one clear
// line, and the password never appears in what the command prints.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { createMysqlTestDb, MYSQL_TEST_HOST, MYSQL_TEST_PORT, mysqlAdminOptions, type TestDb } from '../harness/db.ts';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'mogftp.js');

function mogftp(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const full: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const k of ['MOGFTP_DEBUG', 'MOGFTP_DB', 'MOGFTP_CONFIG', 'MOGFTP_DB_PASSWORD_FILE']) if (!(k in env)) delete full[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: full, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('--db-password-file (mysql)', () => {
  let db: TestDb;
  let dir: string;
  let dbName: string;
  let url: string;
  const user = `mogftp_pw_${randomBytes(4).toString('hex')}`;
  // Characters a URL would need escaped: the file holds the password as it is.
  const password = `p@ss:w/rd#${randomBytes(6).toString('hex')}%20`;
  const hosts = ['%', 'localhost', '127.0.0.1'];

  before(async () => {
    db = await createMysqlTestDb();
    dbName = new URL(db.url).pathname.slice(1);
    dir = await mkdtemp(join(tmpdir(), 'mogftp-dbpw-'));
    const init = await mogftp(['admin', '--db', db.url, 'init']);
    assert.equal(init.code, 0, init.stderr);
    const c = await mysql.createConnection(mysqlAdminOptions());
    try {
      for (const h of hosts) {
        await c.query('CREATE USER ?@? IDENTIFIED BY ?', [user, h, password]);
        await c.query(`GRANT ALL PRIVILEGES ON \`${dbName}\`.* TO ?@?`, [user, h]);
      }
    } finally {
      await c.end();
    }
    url = `mysql://${user}@${MYSQL_TEST_HOST}:${MYSQL_TEST_PORT}/${dbName}`;
    await writeFile(join(dir, 'good'), password + '\n', { mode: 0o600 });
    await writeFile(join(dir, 'wrong'), 'not-the-password\n', { mode: 0o600 });
  });

  after(async () => {
    const c = await mysql.createConnection(mysqlAdminOptions());
    try {
      for (const h of hosts) await c.query('DROP USER IF EXISTS ?@?', [user, h]);
    } finally {
      await c.end();
    }
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const noSecret = (r: { stdout: string; stderr: string }) => {
    assert.ok(!(r.stdout + r.stderr).includes(password), 'the password is never printed');
    assert.ok(!(r.stdout + r.stderr).includes(encodeURIComponent(password)), 'nor its URL-encoded form');
  };

  test('the user really needs the password: without the file the login is refused', async () => {
    const r = await mogftp(['admin', '--db', url, 'domain', 'list']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /MOGFTP_ERR_DB_UNAVAILABLE/);
  });

  test('--db-password-file, MOGFTP_DB_PASSWORD_FILE and db-password-file: in --config each supply it', async () => {
    const flag = await mogftp(['admin', '--db', url, '--db-password-file', join(dir, 'good'), 'domain', 'add', 'viafile']);
    assert.equal(flag.code, 0, flag.stderr);
    noSecret(flag);
    const listed = await mogftp(['admin', '--db', url, '--db-password-file', join(dir, 'good'), 'domain', 'list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual((JSON.parse(listed.stdout) as Array<{ name: string }>).map((d) => d.name), ['viafile']);

    const env = await mogftp(['admin', 'domain', 'list'], { MOGFTP_DB: url, MOGFTP_DB_PASSWORD_FILE: join(dir, 'good') });
    assert.equal(env.code, 0, env.stderr);
    assert.match(env.stdout, /viafile/);

    // The file's password replaces a stale one left in the URL.
    const stale = `mysql://${user}:stale@${MYSQL_TEST_HOST}:${MYSQL_TEST_PORT}/${dbName}`;
    const cfg = join(dir, 'mogftp.yaml');
    await writeFile(cfg, `db: ${stale}\ndb-password-file: ${join(dir, 'good')}\n`);
    const viaConfig = await mogftp(['admin', '--config', cfg, 'domain', 'list']);
    assert.equal(viaConfig.code, 0, viaConfig.stderr);
    assert.match(viaConfig.stdout, /viafile/);

    const printed = await mogftp(['admin', '--config', cfg, '--print-config', 'domain', 'list']);
    assert.equal(printed.code, 0, printed.stderr);
    noSecret(printed);
    const shown = JSON.parse(printed.stdout) as Record<string, { value: string }>;
    assert.equal(shown['db-password-file']!.value, join(dir, 'good'));
    assert.equal(shown.db!.value, `mysql://${user}:***@${MYSQL_TEST_HOST}:${MYSQL_TEST_PORT}/${dbName}`);
  });

  test('the daemons take it too (mogftp jobs --print-config shows the file, not the password)', async () => {
    const r = await mogftp(['jobs', '--db', url, '--db-password-file', join(dir, 'good'), '--print-config']);
    assert.equal(r.code, 0, r.stderr);
    noSecret(r);
    assert.match(r.stdout, /"db-password-file"/);
  });

  test('a wrong password or an unreadable file fails with one clear line', async () => {
    const wrong = await mogftp(['admin', '--db', url, '--db-password-file', join(dir, 'wrong'), 'domain', 'list']);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /MOGFTP_ERR_DB_UNAVAILABLE/);
    assert.ok(!wrong.stderr.includes('not-the-password'), wrong.stderr);
    assert.equal(wrong.stderr.trim().split('\n').length, 1, wrong.stderr);
    noSecret(wrong);

    const missing = await mogftp(['admin', '--db', url, '--db-password-file', join(dir, 'nope'), 'domain', 'list']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Cannot read the database password file .*nope: ENOENT/);
    assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);

    await writeFile(join(dir, 'empty'), '\n');
    const empty = await mogftp(['admin', '--db', url, '--db-password-file', join(dir, 'empty'), 'domain', 'list']);
    assert.notEqual(empty.code, 0);
    assert.match(empty.stderr, /password file .*empty is empty/);

    const sqlite = await mogftp(['admin', '--db', `sqlite:${join(dir, 'x.db')}`, '--db-password-file', join(dir, 'good'), 'domain', 'list']);
    assert.notEqual(sqlite.code, 0);
    assert.match(sqlite.stderr, /SQLite database has no password/);
    noSecret(sqlite);
  });
});
