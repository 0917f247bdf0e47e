// `mogftp admin` as an operator runs it: real processes against a temp SQLite file and a
// throwaway MariaDB database, the same assertions for both. Spawns are grouped and run in
// parallel where they don't depend on each other (each costs a node + tsx start-up).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { storeBackends, type TestDb } from '../harness/db.ts';
import { openStore } from '../../src/tracker/open.ts';
import { verifyPassword } from '../../src/tracker/passwords.ts';
import { ROOT_ID } from '../../src/tracker/types.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(repoRoot, 'bin', 'mogftp.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `mogftp admin ARGS` with MOGFTP_DB set (unless `env` overrides it). */
function admin(dbUrl: string | undefined, args: string[], opts: { env?: Record<string, string | undefined>; input?: string } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, MOGFTP_DB: dbUrl, ...opts.env };
  delete env.MOGFTP_DEBUG; // it would add stack traces on purpose
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'admin', ...args], { cwd: repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

function assertOk(r: Run, what: string): void {
  assert.equal(r.code, 0, `${what}: exit ${r.code}, stderr: ${r.stderr}`);
  assert.equal(r.stderr, '', `${what}: unexpected stderr`);
}

/** Exit ≠ 0, exactly one line on stderr matching `pattern`, and no stack trace. */
function assertOneLineError(r: Run, pattern: RegExp, what: string): void {
  assert.notEqual(r.code, 0, `${what}: should fail; stdout: ${r.stdout}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `${what}: expected one stderr line, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern, what);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: stack trace on stderr`);
}

function json<T = Record<string, unknown>>(r: Run, what: string): T[] {
  assertOk(r, what);
  const parsed: unknown = JSON.parse(r.stdout);
  assert.ok(Array.isArray(parsed), `${what}: not a JSON array`);
  return parsed as T[];
}

for (const backend of storeBackends) {
  describe(`mogftp admin on ${backend.name}`, () => {
    let db: TestDb;
    let work: string;
    before(async () => {
      db = await backend.create();
      work = await mkdtemp(join(tmpdir(), 'mogftp-admin-'));
    });
    after(async () => {
      await db?.drop();
      if (work) await rm(work, { recursive: true, force: true });
    });

    test('init is idempotent and prints the schema version', async () => {
      const first = await admin(db.url, ['init']);
      assertOk(first, 'init');
      const second = await admin(undefined, ['init', '--db', db.url]); // --db works as well as MOGFTP_DB
      assertOk(second, 'second init');
      const version = (r: Run) => Number(/schema version (\d+)/i.exec(r.stdout)?.[1]);
      assert.ok(version(first) >= 1, first.stdout);
      assert.equal(version(second), version(first));
    });

    test('adds, modifies and lists domains, classes, hosts, devices and users', async () => {
      const root = join(work, 'node-root');
      // Sequential: each step needs the rows the one before made.
      for (const args of [
        ['domain', 'add', 'media'],
        ['domain', 'add', 'archive'],
        ['class', 'add', 'media', 'big', '--mindevcount', '2'],
        ['host', 'add', 'h1', '--ip', '127.0.0.1', '--port', '7501'],
        ['host', 'add', 'h2', '--ip', '127.0.0.2', '--port', '7502', '--status', 'down'],
        ['host', 'add', 'h3', '--ip', '::1', '--port', '7503'],
        ['device', 'add', 'h1', '--root', root],
        ['device', 'add', 'h2', '40', '--weight', '50'],
        ['device', 'add', 'h3', '--status', 'readonly'],
      ]) {
        assertOk(await admin(db.url, args), args.join(' '));
      }
      const added = await admin(db.url, ['user', 'add', 'alice', '--password-stdin', '--domain', 'media', '--home', '/alice/', '--quota', '10G'], {
        input: 'pw-from-stdin\n',
      });
      assertOk(added, 'user add');
      assert.doesNotMatch(added.stdout, /pw-from-stdin/);
      assert.ok((await stat(join(root, 'dev1'))).isDirectory(), '--root created dev1 for the local host');

      const modified = await Promise.all([
        admin(db.url, ['user', 'modify', 'alice', '--read-only', 'true', '--quota', '500M']),
        admin(db.url, ['host', 'modify', 'h3', '--port', '7603']),
        admin(db.url, ['device', 'mark', '40', 'drain']),
        admin(db.url, ['class', 'modify', 'media', 'big', '--write-quorum', '1', '--checksum', 'md5']),
        admin(db.url, ['user', 'passwd', 'alice', '--password-stdin'], { input: 'new-secret\n' }),
      ]);
      modified.forEach((r, i) => assertOk(r, `modify #${i}`));
      const store = await openStore(db.url);
      try {
        const hash = (await store.getUser('alice'))!.passwordHash;
        assert.ok(await verifyPassword('new-secret', hash), 'user passwd took the password from stdin');
      } finally {
        await store.close();
      }

      const [domains, classes, hosts, devices, users, table] = await Promise.all([
        admin(db.url, ['domain', 'list', '--json']),
        admin(db.url, ['class', 'list', 'media', '--json']),
        admin(db.url, ['host', 'list', '--json']),
        admin(db.url, ['device', 'list', '--json']),
        admin(db.url, ['user', 'list', '--json']),
        admin(db.url, ['host', 'list']),
      ]);

      const ds0 = json(domains!, 'domain list');
      for (const d of ds0) assert.deepEqual(Object.keys(d), ['id', 'name']);
      assert.deepEqual(ds0.map((d) => d.name).sort(), ['archive', 'media']);

      const cls = json(classes!, 'class list');
      assert.deepEqual(cls.map((c) => c.name).sort(), ['big', 'default']);
      const big = cls.find((c) => c.name === 'big')!;
      assert.deepEqual({ ...big, id: 0 }, { id: 0, domain: 'media', name: 'big', mindevcount: 2, writeQuorum: 1, checksum: 'md5' });

      const hs = json(hosts!, 'host list');
      assert.deepEqual(
        hs.map(({ id, ...rest }) => (assert.equal(typeof id, 'number'), rest)),
        [
          { name: 'h1', ip: '127.0.0.1', port: 7501, status: 'alive' },
          { name: 'h2', ip: '127.0.0.2', port: 7502, status: 'down' },
          { name: 'h3', ip: '::1', port: 7603, status: 'alive' },
        ],
      );

      const ds = json(devices!, 'device list');
      assert.equal(ds.length, 3);
      for (const d of ds) {
        assert.deepEqual(Object.keys(d), ['devid', 'hostId', 'host', 'status', 'weight', 'observed', 'observedAt', 'mbTotal', 'mbUsed']);
        assert.equal(d.observed, 'unknown');
        assert.equal(d.observedAt, null);
      }
      const byHost = Object.fromEntries(ds.map((d) => [d.host, d]));
      assert.equal(byHost.h1!.devid, 1, 'first device gets the first devid');
      assert.equal(byHost.h1!.status, 'alive');
      assert.equal(byHost.h2!.devid, 40, 'the operator may choose the devid');
      assert.equal(byHost.h2!.status, 'drain');
      assert.equal(byHost.h2!.weight, 50);
      assert.ok(![1, 40].includes(byHost.h3!.devid as number), 'a free devid is picked');
      assert.equal(byHost.h3!.status, 'readonly');

      assert.doesNotMatch(users!.stdout, /scrypt|hash|password/i, 'no password or hash in user list');
      assert.deepEqual(json(users!, 'user list').map(({ id, ...rest }) => rest), [
        { name: 'alice', domain: 'media', home: '/alice', readOnly: true, quotaBytes: 500 * 2 ** 20 },
      ]);

      // The table: a header, one row per host, columns aligned on the header.
      assertOk(table!, 'host list table');
      const lines = table!.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 4);
      const statusCol = lines[0]!.indexOf('STATUS');
      assert.ok(statusCol > 0);
      assert.deepEqual(
        lines.slice(1).map((l) => l.slice(statusCol).trim()),
        ['alive', 'down', 'alive'],
      );
    });

    test('bad input: one line on stderr, nonzero exit, no stack trace', async () => {
      // Files keep class media/big and domain archive (which has no users) in use.
      const store = await openStore(db.url);
      const addFile = async (domainName: string, className: string) => {
        const domain = (await store.getDomain(domainName))!;
        const cls = (await store.getClass(domain.id, className))!;
        const r = await store.reserveUpload({ domainId: domain.id, classId: cls.id, devids: [1], now: Date.now() });
        const checksum = cls.checksum === 'md5' ? 'd41d8cd98f00b204e9800998ecf8427e' : 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
        await store.commitUpload({ fid: r.fid, parentId: ROOT_ID, name: 'kept.bin', length: 0, checksum, devids: [1], mtime: Date.now() });
      };
      await addFile('media', 'big');
      await addFile('archive', 'default');

      const cases: Array<[string[], RegExp]> = [
        [['host', 'add', 'h1', '--ip', '10.0.0.1', '--port', '1'], /h1.*MOGFTP_ERR_EXISTS/],
        [['domain', 'add', 'media'], /media.*MOGFTP_ERR_EXISTS/],
        [['user', 'add', 'alice', '--domain', 'media', '--password', 'x'], /alice.*MOGFTP_ERR_EXISTS/],
        [['host', 'mark', 'nohost', 'dead'], /unknown host/i],
        [['host', 'add', 'h9', '--ip', '10.0.0.9'], /port/],
        [['host', 'mark', 'h1', 'zombie'], /zombie/],
        [['device', 'add', 'nohost'], /unknown host/i],
        [['device', 'mark', '999', 'dead'], /unknown device 999/i],
        [['device', 'add', 'h1', '40'], /40.*MOGFTP_ERR_EXISTS/],
        [['class', 'add', 'media', 'c0', '--mindevcount', '0'], /mindevcount/],
        [['class', 'add', 'media', 'c3', '--mindevcount', '2', '--write-quorum', '3'], /quorum/i],
        [['class', 'modify', 'media', 'big', '--write-quorum', '5'], /quorum/i],
        [['class', 'remove', 'media', 'big'], /MOGFTP_ERR_IN_USE/],
        [['domain', 'remove', 'archive'], /MOGFTP_ERR_IN_USE/],
        [['user', 'add', 'bob', '--domain', 'media'], /password/i],
        [['user', 'add', 'bob', '--domain', 'media', '--password', 'x', '--quota', '12Q'], /quota/],
        [['hots', 'list'], /host/],
      ];
      try {
        const results = await Promise.all(cases.map(([args]) => admin(db.url, args)));
        results.forEach((r, i) => assertOneLineError(r, cases[i]![1], cases[i]![0].join(' ')));

        // The failures changed nothing.
        const media = (await store.getDomain('media'))!;
        assert.equal((await store.getClass(media.id, 'big'))!.writeQuorum, 1);
        assert.ok(await store.getDomain('archive'));
        assert.equal((await store.listDevices()).length, 3);
        assert.equal((await store.listHosts()).find((h) => h.name === 'h1')!.status, 'alive');
      } finally {
        await store.close();
      }
    });
  });
}

describe('mogftp admin without a usable database', () => {
  test('missing, unparsable or unreachable DB URL: one line, nonzero exit', async () => {
    const [missing, garbage, refused] = await Promise.all([
      admin(undefined, ['host', 'list']),
      admin(undefined, ['host', 'list', '--db', 'nonsense:://']),
      admin('mysql://root@127.0.0.1:1/mogftp_nowhere', ['host', 'list']),
    ]);
    assertOneLineError(missing, /MOGFTP_DB/, 'no database');
    assertOneLineError(garbage, /./, 'unparsable URL');
    assertOneLineError(refused, /./, 'unreachable database');
  });
});

describe('mogftp admin reads the settings file like the daemons', () => {
  let work: string;
  let cfg: string;
  const url: Record<'file' | 'env' | 'flag', string> = { file: '', env: '', flag: '' };
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'mogftp-admin-config-'));
    for (const k of ['file', 'env', 'flag'] as const) url[k] = `sqlite:${join(work, `${k}.db`)}`;
    cfg = join(work, 'mogftp.yaml');
    await writeFile(cfg, [`db: ${url.file}`, 'storage-token: tok-from-file', 'ftp:', '  listen: 127.0.0.1:2121'].join('\n'));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  const hostNames = (r: Run, what: string) => json<{ name: string }>(r, what).map((h) => h.name);

  test('--config and MOGFTP_CONFIG give the database; flag > MOGFTP_DB > file', async () => {
    // Three databases, each with one host named after the source that chose it. --config works
    // before the verb and after it.
    const made = await Promise.all([
      admin(undefined, ['--config', cfg, 'init']),
      admin(url.env, ['init']),
      admin(undefined, ['init', '--db', url.flag]),
    ]);
    made.forEach((r, i) => assertOk(r, `init #${i}`));
    const hosts = await Promise.all([
      admin(undefined, ['host', 'add', 'from-file', '--ip', '127.0.0.1', '--port', '7500', '--config', cfg]),
      admin(url.env, ['host', 'add', 'from-env', '--ip', '127.0.0.1', '--port', '7500']),
      admin(undefined, ['host', 'add', 'from-flag', '--ip', '127.0.0.1', '--port', '7500', '--db', url.flag]),
    ]);
    hosts.forEach((r, i) => assertOk(r, `host add #${i}`));

    const [fromFile, fromVar, envOverFile, flagOverAll] = await Promise.all([
      admin(undefined, ['--config', cfg, 'host', 'list', '--json']),
      admin(undefined, ['host', 'list', '--json'], { env: { MOGFTP_CONFIG: cfg } }),
      admin(url.env, ['--config', cfg, 'host', 'list', '--json']),
      admin(url.env, ['host', 'list', '--json', '--db', url.flag], { env: { MOGFTP_CONFIG: cfg } }),
    ]);
    assert.deepEqual(hostNames(fromFile, '--config'), ['from-file']);
    assert.deepEqual(hostNames(fromVar, 'MOGFTP_CONFIG'), ['from-file']);
    assert.deepEqual(hostNames(envOverFile, 'MOGFTP_DB over the file'), ['from-env']);
    assert.deepEqual(hostNames(flagOverAll, '--db over MOGFTP_DB and the file'), ['from-flag']);
  });

  test('--print-config shows the database and the storage token admin would use, and where they came from', async () => {
    const r = await admin(undefined, ['rebalance', '--config', cfg, '--print-config'], { env: { MOGFTP_STORAGE_TOKEN: undefined } });
    assertOk(r, 'print-config');
    const shown = JSON.parse(r.stdout) as Record<string, { value: unknown; source: string }>;
    assert.equal(shown.db?.value, url.file);
    assert.match(shown.db!.source, /"db" in .*mogftp\.yaml/);
    assert.deepEqual(shown['storage-token'], { value: '***', source: `"storage-token" in ${cfg}` });
    // Only the settings admin shares with the daemons come from the file, never its own flags.
    assert.deepEqual(Object.keys(shown).sort(), ['db', 'storage-token']);
  });

  test('an unreadable file, or a bad db in it: one line naming the file, nonzero exit', async () => {
    const badDb = join(work, 'bad-db.yaml');
    await writeFile(badDb, 'db: nonsense:://\n');
    const [missing, bad, viaVar] = await Promise.all([
      admin(undefined, ['--config', join(work, 'absent.yaml'), 'host', 'list']),
      admin(undefined, ['--config', badDb, 'host', 'list']),
      admin(undefined, ['host', 'list'], { env: { MOGFTP_CONFIG: join(work, 'absent.yaml') } }),
    ]);
    assertOneLineError(missing, /Cannot read config file .*absent\.yaml.*MOGFTP_ERR_BAD_CONFIG/, 'missing file');
    assertOneLineError(bad, /bad-db\.yaml: "db": .*nonsense.*MOGFTP_ERR_BAD_CONFIG/, 'bad db in the file');
    assertOneLineError(viaVar, /absent\.yaml/, 'MOGFTP_CONFIG names a missing file');
  });
});
