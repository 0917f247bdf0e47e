// A database that is not there: the error names a command that exists and makes it (it used to
// suggest "the create-database option", which no command has), and that command then works.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { run } from '../harness/clients.ts';
import { BIN } from '../harness/quickstart-process.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const mogftp = (...args: string[]) => run(process.execPath, [BIN, ...args]);

test('a missing SQLite file: the message names mogftp admin init with its --db, which creates it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mogftp-missing-db-'));
  dirs.push(dir);
  const url = `sqlite:${join(dir, 'meta.db')}`;
  const first = await mogftp('admin', '--db', url, 'device', 'list');
  assert.equal(first.code, 1);
  const suggested = /create it with '([^']+)'/.exec(first.stderr)?.[1];
  assert.equal(suggested, `mogftp admin --db ${url} init`, first.stderr);
  const init = await mogftp(...suggested.split(' ').slice(1));
  assert.equal(init.code, 0, init.stderr);
  const again = await mogftp('admin', '--db', url, 'device', 'list', '--json');
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.trim(), '[]');
});

test('a missing MariaDB database: the message names mogftp admin init, which creates it', async (t) => {
  const name = `mogftp_missing_${randomBytes(4).toString('hex')}`;
  const url = `mysql://root@127.0.0.1:3306/${name}`;
  const first = await mogftp('admin', '--db', url, 'device', 'list');
  if (/cannot reach the database/.test(first.stderr)) return t.skip('no MariaDB on 127.0.0.1:3306');
  try {
    assert.equal(first.code, 1);
    assert.match(first.stderr, new RegExp(`The database ${name} does not exist on 127\\.0\\.0\\.1:3306: create it with 'mogftp admin init'`));
    assert.doesNotMatch(first.stderr, /create-database option/);
    const init = await mogftp('admin', '--db', url, 'init');
    assert.equal(init.code, 0, init.stderr);
  } finally {
    await run('mysql', ['-uroot', '-h127.0.0.1', '-e', `DROP DATABASE IF EXISTS ${name}`]);
  }
});
