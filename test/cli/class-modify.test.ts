// `mogftp admin class modify` and the write quorum (issue 16 item 5), as an operator runs it: real
// processes against SQLite and MariaDB. Raising mindevcount keeps the quorum; lowering it below
// the quorum lowers the quorum with it and says so; --write-quorum sets it either way.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../harness/clients.ts';
import { storeBackends, type TestDb } from '../harness/db.ts';
import { openStore } from '../../src/tracker/open.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(repoRoot, 'bin', 'mogftp.js');

async function admin(dbUrl: string, args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, MOGFTP_DB: dbUrl };
  delete env.MOGFTP_DEBUG;
  // 120 s as in test/harness/admin-cli.ts: a loaded 2-core machine has taken over 30 s to start one.
  return run(process.execPath, [bin, 'admin', ...args], { cwd: repoRoot, env, timeoutMs: 120_000 });
}

async function ok(dbUrl: string, args: string[]): Promise<string> {
  const r = await admin(dbUrl, args);
  assert.equal(r.code, 0, `${args.join(' ')}: exit ${r.code}, stderr: ${r.stderr}`);
  assert.equal(r.stderr, '', `${args.join(' ')}: stderr`);
  return r.stdout;
}

for (const backend of storeBackends) {
  describe(`class modify and the write quorum on ${backend.name}`, () => {
    let db: TestDb;
    before(async () => {
      db = await backend.create();
      // Made in this process (test/cli/admin.test.ts runs init, domain add and class add as
      // processes): what is tested here is class modify, and each process start costs a second.
      const store = await openStore(db.url);
      try {
        await store.migrate();
        const domain = await store.createDomain('media');
        await store.createClass(domain.id, 'big', { mindevcount: 2, writeQuorum: 2 });
      } finally {
        await store.close();
      }
    });
    after(async () => db?.drop());

    const policy = async () => {
      const [c] = JSON.parse(await ok(db.url, ['class', 'list', 'media', '--json'])).filter((x: { name: string }) => x.name === 'big');
      return { mindevcount: c.mindevcount as number, writeQuorum: c.writeQuorum as number };
    };

    test('raising mindevcount keeps a quorum that equalled it, and says so', async () => {
      const out = await ok(db.url, ['class', 'modify', 'media', 'big', '--mindevcount', '3']);
      assert.match(out, /^Updated class big in domain media: mindevcount 3, write quorum 2, checksum sha256$/m);
      assert.match(out, /^Write quorum stays 2; pass --write-quorum to raise it$/m);
      assert.deepEqual(await policy(), { mindevcount: 3, writeQuorum: 2 });
    });

    test('lowering mindevcount below the quorum lowers the quorum with it, and says so; otherwise the quorum changes only when given', async () => {
      await ok(db.url, ['class', 'modify', 'media', 'big', '--write-quorum', '3']);
      assert.deepEqual(await policy(), { mindevcount: 3, writeQuorum: 3 });
      let out = await ok(db.url, ['class', 'modify', 'media', 'big', '--mindevcount', '2']);
      assert.match(out, /^Write quorum lowered from 3 to 2 with mindevcount \(it can't exceed it\); pass --write-quorum to choose another$/m);
      assert.deepEqual(await policy(), { mindevcount: 2, writeQuorum: 2 });

      // Lowering mindevcount that stays above the quorum, or changing only the checksum, leaves it.
      await ok(db.url, ['class', 'modify', 'media', 'big', '--mindevcount', '4', '--write-quorum', '1']);
      assert.deepEqual(await policy(), { mindevcount: 4, writeQuorum: 1 });
      out = await ok(db.url, ['class', 'modify', 'media', 'big', '--mindevcount', '3']);
      assert.doesNotMatch(out, /Write quorum (stays|lowered)/);
      out = await ok(db.url, ['class', 'modify', 'media', 'big', '--checksum', 'md5']);
      assert.doesNotMatch(out, /Queued/);
      assert.deepEqual(await policy(), { mindevcount: 3, writeQuorum: 1 });

      // Both given: both set; a quorum above the new mindevcount is refused and nothing changes.
      await ok(db.url, ['class', 'modify', 'media', 'big', '--mindevcount', '5', '--write-quorum', '5']);
      assert.deepEqual(await policy(), { mindevcount: 5, writeQuorum: 5 });
      const r = await admin(db.url, ['class', 'modify', 'media', 'big', '--mindevcount', '2', '--write-quorum', '3']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Write quorum 3 is above mindevcount 2/);
      assert.deepEqual(await policy(), { mindevcount: 5, writeQuorum: 5 }, 'nothing changed');
    });
  });
}
