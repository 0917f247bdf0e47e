// `mogftp admin user key add|list|remove` as an operator runs them: real processes on a SQLite
// file and on a throwaway MariaDB database, with key pairs made by OpenSSH's ssh-keygen, whose
// fingerprints the listing must show exactly.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../harness/quickstart-process.ts';
import { storeBackends, type TestDb } from '../harness/db.ts';
import { sshKeygen, type GeneratedKey } from '../harness/ssh-keygen.ts';
import { openStore } from '../../src/tracker/open.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `mogftp admin ARGS` on the database, with `input` on stdin. */
function admin(dbUrl: string, args: string[], input = ''): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, MOGFTP_DB: dbUrl };
  delete env.MOGFTP_DEBUG;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'admin', ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

function ok(r: Run, what: string): string {
  assert.equal(r.code, 0, `${what}: exit ${r.code}, stderr: ${r.stderr}`);
  assert.equal(r.stderr, '', `${what}: unexpected stderr`);
  return r.stdout;
}

/** Exit ≠ 0 and exactly one stderr line matching `pattern`, without a stack trace. */
function oneLineError(r: Run, pattern: RegExp, what: string): void {
  assert.notEqual(r.code, 0, `${what}: should fail; stdout: ${r.stdout}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `${what}: expected one stderr line, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern, what);
}

interface KeyJson {
  user: string;
  fingerprint: string;
  algorithm: string;
  comment: string;
  addedAt: string;
}

for (const backend of storeBackends) {
  describe(`mogftp admin user key on ${backend.name}`, () => {
    let db: TestDb;
    let work: string;
    const k: Record<string, GeneratedKey> = {};
    const cli = (args: string[], input?: string) => admin(db.url, args, input);
    const listJson = async (user: string) => JSON.parse(ok(await cli(['user', 'key', 'list', user, '--json']), 'key list --json')) as KeyJson[];

    before(async () => {
      db = await backend.create();
      work = await mkdtemp(join(tmpdir(), 'mogftp-user-keys-cli-'));
      const made = await Promise.all([
        sshKeygen(work, 'id_ed25519', 'ed25519', { comment: 'alice@laptop' }),
        sshKeygen(work, 'id_rsa', 'rsa', { bits: 2048, comment: 'alice@build server' }),
        sshKeygen(work, 'id_ecdsa', 'ecdsa', { bits: 256, comment: 'alice@phone' }),
        sshKeygen(work, 'id_dsa', 'dsa'),
        sshKeygen(work, 'id_rsa1024', 'rsa', { bits: 1024 }),
      ]);
      for (const key of made) k[key.publicPath.replace(/^.*\/|\.pub$/g, '')] = key;
      // The schema, domain and users in this process: test/cli/admin.test.ts runs init, domain add
      // and user add as processes; here each would cost a process start, user add a full scrypt
      // hash besides, for users nobody logs in as.
      const store = await openStore(db.url);
      try {
        await store.migrate();
        const domain = await store.createDomain('default');
        for (const name of ['alice', 'bob']) await store.createUser({ name, passwordHash: 'no login', domainId: domain.id, homeDir: '/', readOnly: false, quotaBytes: null });
      } finally {
        await store.close();
      }
    });
    after(async () => {
      await db?.drop();
      if (work) await rm(work, { recursive: true, force: true });
    });

    test('add from a .pub file and an authorized_keys file on stdin; list as a table and as JSON; remove', async () => {
      const added = ok(await cli(['user', 'key', 'add', 'alice', '--key-file', k.id_ed25519!.publicPath]), 'add ed25519');
      assert.equal(added, `Added ssh-ed25519 key ${k.id_ed25519!.fingerprint} (alice@laptop) to user alice\n`);
      const authorizedKeys = `# alice's other keys\n${k.id_rsa!.line}\n\n${k.id_ecdsa!.line}\n`;
      const more = ok(await cli(['user', 'key', 'add', 'alice', '--key-file=-'], authorizedKeys), 'add from stdin');
      assert.deepEqual(more.trim().split('\n').map((l) => l.split(' ')[3]), [k.id_rsa!.fingerprint, k.id_ecdsa!.fingerprint]);

      const keys = await listJson('alice');
      assert.deepEqual(
        keys.map(({ addedAt: _, ...rest }) => rest),
        [
          { user: 'alice', fingerprint: k.id_ed25519!.fingerprint, algorithm: 'ssh-ed25519', comment: 'alice@laptop' },
          { user: 'alice', fingerprint: k.id_rsa!.fingerprint, algorithm: 'ssh-rsa', comment: 'alice@build server' },
          { user: 'alice', fingerprint: k.id_ecdsa!.fingerprint, algorithm: 'ecdsa-sha2-nistp256', comment: 'alice@phone' },
        ],
      );
      for (const key of keys) assert.ok(Math.abs(Date.parse(key.addedAt) - Date.now()) < 120_000, `addedAt ${key.addedAt}`);
      const table = ok(await cli(['user', 'key', 'list', 'alice']), 'key list').trimEnd().split('\n');
      assert.match(table[0]!, /^FINGERPRINT\s+ALGORITHM\s+COMMENT\s+ADDED$/);
      assert.equal(table.length, 4);
      assert.match(table[2]!, new RegExp(`^${k.id_rsa!.fingerprint.replace(/[+/]/g, '\\$&')}\\s+ssh-rsa\\s+alice@build server\\s+\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`));
      assert.deepEqual(await listJson('bob'), [], "bob has none of alice's keys");

      // By the full fingerprint, and by its base64 part alone.
      assert.equal(ok(await cli(['user', 'key', 'remove', 'alice', k.id_rsa!.fingerprint]), 'remove'), `Removed key ${k.id_rsa!.fingerprint} from user alice\n`);
      ok(await cli(['user', 'key', 'remove', 'alice', k.id_ecdsa!.fingerprint.slice('SHA256:'.length)]), 'remove by base64');
      assert.deepEqual((await listJson('alice')).map((x) => x.fingerprint), [k.id_ed25519!.fingerprint]);
      oneLineError(await cli(['user', 'key', 'remove', 'alice', k.id_rsa!.fingerprint]), /User "alice" has no key SHA256:.* \[MOGFTP_ERR_NOT_FOUND\]/, 'remove again');
    });

    test('bad keys and bad input: one line on stderr, nonzero exit, nothing added', async () => {
      const privateFile = k.id_ed25519!.privatePath;
      const twoWithBad = join(work, 'two_keys');
      await writeFile(twoWithBad, `${k.id_ecdsa!.line}\n${k.id_dsa!.line}\n`);
      const cases: Array<[string[], RegExp, string?]> = [
        [['user', 'key', 'add', 'bob', '--key-file', k.id_dsa!.publicPath], /DSA keys \(ssh-dss\) are refused.*ssh-keygen -t ed25519` \[MOGFTP_ERR_INVALID_ARGUMENT\]$/],
        [['user', 'key', 'add', 'bob', '--key-file', k.id_rsa1024!.publicPath], /RSA keys of 1024 bits are refused: 2048 bits at least/],
        [['user', 'key', 'add', 'bob', '--key-file', privateFile], /This is a private key: give the public one/],
        [['user', 'key', 'add', 'bob', '--key-file', twoWithBad], /^mogftp: Line 2: DSA keys/],
        [['user', 'key', 'add', 'bob', '--key-file', join(work, 'missing.pub')], /cannot read .*missing\.pub: ENOENT/],
        [['user', 'key', 'add', 'bob', '--key-file=-'], /No public key found/, ''],
        [['user', 'key', 'add', 'bob'], /Missing required argument: key-file/],
        [['user', 'key', 'add', 'nobody', '--key-file', k.id_ecdsa!.publicPath], /Unknown user "nobody" \[MOGFTP_ERR_NOT_FOUND\]/],
        [['user', 'key', 'remove', 'bob', 'MD5:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff'], /MD5 fingerprints are not used/],
      ];
      const runs = await Promise.all(cases.map(([args, , input]) => cli(args, input)));
      cases.forEach(([args, pattern], i) => oneLineError(runs[i]!, pattern, args.join(' ')));
      assert.deepEqual(await listJson('bob'), []);

      // A key bob has already: the whole file is refused, the new key in it too.
      ok(await cli(['user', 'key', 'add', 'bob', '--key-file', k.id_ed25519!.publicPath]), 'add');
      const both = join(work, 'new_and_old');
      await writeFile(both, `${k.id_ecdsa!.line}\n${k.id_ed25519!.line}\n`);
      oneLineError(await cli(['user', 'key', 'add', 'bob', '--key-file', both]), /already has the key SHA256:.*: nothing added \[MOGFTP_ERR_EXISTS\]/, 'duplicate in a file');
      oneLineError(await cli(['user', 'key', 'add', 'bob', '--key-file', k.id_ed25519!.publicPath]), /already has the key .* \[MOGFTP_ERR_EXISTS\]/, 'duplicate');
      assert.deepEqual((await listJson('bob')).map((x) => x.fingerprint), [k.id_ed25519!.fingerprint]);
    });

    test("user remove takes the user's keys along: a new user of that name starts with none", async () => {
      ok(await cli(['user', 'add', 'carol', '--password', 'pw']), 'user add carol');
      ok(await cli(['user', 'key', 'add', 'carol', '--key-file', k.id_ed25519!.publicPath]), 'key add');
      ok(await cli(['user', 'remove', 'carol']), 'user remove');
      oneLineError(await cli(['user', 'key', 'list', 'carol']), /Unknown user "carol"/, 'list of a removed user');
      ok(await cli(['user', 'add', 'carol', '--password', 'pw']), 'user add carol again');
      assert.deepEqual(await listJson('carol'), []);
    });
  });
}
