// Directories, renames, deletes, listings, users and jails, served from the namespace tree,
// with real clients, on SQLite and on MariaDB.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { curl, ftpUrl, ftplib } from '../harness/clients.ts';
import { BACKENDS, useCluster, type Cluster } from '../harness/cluster.ts';
import { ROOT_ID } from '../../src/tracker/types.ts';

/** Runs ftplib commands and returns each reply (or error reply) as text. */
async function replies(c: Cluster, cmds: string[], user = 'demo', password = 'demo'): Promise<string[]> {
  const r = await ftplib(
    c.port,
    `out = []
for cmd in ${JSON.stringify(cmds)}:
    try:
        out.append(ftp.sendcmd(cmd))
    except ftplib.all_errors as e:
        out.append(str(e))
print(json.dumps(out))`,
    { user, password },
  );
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function put(c: Cluster, path: string, body: string, user = 'demo', password = 'demo'): Promise<string> {
  const r = await ftplib(
    c.port,
    `try:
    print(ftp.storbinary(${JSON.stringify(`STOR ${path}`)}, io.BytesIO(${JSON.stringify(body)}.encode())))
except ftplib.all_errors as e:
    print(str(e))`,
    { user, password },
  );
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

async function get(c: Cluster, path: string): Promise<string> {
  const r = await curl([ftpUrl(c.port, path)]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

for (const backend of BACKENDS) {
  describe(`FTP namespace on ${backend}`, () => {
    const c = useCluster({ db: backend, ftp: true });

    test('MKD, CWD, PWD, CDUP and RMD follow the tree; RMD of a non-empty directory is 550', async () => {
      assert.match(await put(c, 'docs/x.txt', 'x'), /^550 /, 'STOR into a missing directory');
      const r = await replies(c, ['MKD docs', 'MKD docs', 'CWD docs', 'PWD', 'MKD sub', 'CDUP', 'PWD', 'RMD docs/sub', 'RMD docs/sub']);
      assert.match(r[0]!, /^257 "\/docs" created/);
      assert.match(r[1]!, /^550 /, 'MKD of an existing name');
      assert.match(r[2]!, /^250 /);
      assert.equal(r[3], '257 "/docs" is the current directory');
      assert.match(r[4]!, /^257 "\/docs\/sub" created/);
      assert.equal(r[6], '257 "/" is the current directory');
      assert.match(r[7]!, /^250 /);
      assert.match(r[8]!, /^550 /, 'RMD of a missing directory');
      assert.match(await put(c, 'docs/x.txt', 'x'), /^226 /);
      const r2 = await replies(c, ['RMD docs', 'CWD docs/x.txt']);
      assert.match(r2[0]!, /^550 .*not empty/i);
      assert.match(r2[1]!, /^550 .*not a directory/);
    });

    test('RNTO onto an existing file replaces it atomically and queues the old version for deletion', async () => {
      await put(c, 'a.txt', 'AAA');
      await put(c, 'b.txt', 'BBB');
      const oldB = await c.fidOf('/b.txt');
      const r = await replies(c, ['RNFR a.txt', 'RNTO b.txt', 'RNFR missing', 'RNTO x']);
      assert.match(r[0]!, /^350 /);
      assert.match(r[1]!, /^250 /);
      assert.match(r[2]!, /^550 /);
      assert.match(r[3]!, /^503 /);
      assert.equal(await get(c, '/b.txt'), 'AAA');
      assert.equal(await c.fidOf('/a.txt'), null);
      const queued = await c.services.store.claim('delete', 'observer', { limit: 100, leaseMs: 1, now: Date.now() });
      assert.ok(queued.some((q) => q.fid === oldB));
    });

    test('renaming a directory moves its subtree in one metadata update; moving it into itself is refused', async () => {
      await replies(c, ['MKD tree', 'MKD tree/inner']);
      await put(c, 'tree/inner/leaf.txt', 'leaf');
      const before = await c.services.store.resolvePath(c.domainId, ['tree']);
      const r = await replies(c, ['RNFR tree', 'RNTO moved', 'RNFR moved', 'RNTO moved/inner/self']);
      assert.match(r[1]!, /^250 /);
      assert.match(r[3]!, /^55[03] /, 'a directory cannot move under itself');
      const afterMove = await c.services.store.resolvePath(c.domainId, ['moved']);
      assert.equal(afterMove?.id, before?.id, 'the same directory row, renamed');
      assert.equal(await get(c, '/moved/inner/leaf.txt'), 'leaf');
      assert.equal(await c.fidOf('/tree/inner/leaf.txt'), null);
    });

    test('DELE removes the entry and queues its replicas for deletion; SIZE and MDTM of what is gone are 550', async () => {
      await put(c, 'gone.txt', 'bye');
      const fid = await c.fidOf('/gone.txt');
      const r = await replies(c, ['SIZE gone.txt', 'MDTM gone.txt', 'DELE gone.txt', 'SIZE gone.txt', 'DELE gone.txt', 'DELE moved']);
      assert.equal(r[0], '213 3');
      assert.match(r[1]!, /^213 \d{14}$/);
      assert.match(r[2]!, /^250 /);
      assert.match(r[3]!, /^550 /);
      assert.match(r[4]!, /^550 /);
      assert.match(r[5]!, /^550 .*directory/, 'DELE of a directory');
      assert.equal(await c.services.store.getFile(fid!), null);
    });

    test('paths cannot leave the home: .., absolute paths and encoded tricks stay inside', async () => {
      await c.services.store.mkdir(c.domainId, ROOT_ID, 'secret', { mtime: Date.now() });
      await put(c, 'secret/plans.txt', 'top secret');
      await replies(c, ['MKD homes', 'MKD homes/alice']);
      await c.addUser('alice', 'alice-pw', { homeDir: '/homes/alice' });
      const r = await replies(
        c,
        ['PWD', 'CWD ../..', 'PWD', 'CWD /../../secret', 'SIZE ../../secret/plans.txt', 'SIZE /secret/plans.txt', 'MKD ../escape', 'PWD'],
        'alice',
        'alice-pw',
      );
      assert.equal(r[0], '257 "/" is the current directory');
      assert.equal(r[2], '257 "/" is the current directory', 'CWD .. at the home stays at the home');
      assert.match(r[3]!, /^550 /);
      assert.match(r[4]!, /^550 /);
      assert.match(r[5]!, /^550 /);
      assert.match(r[6]!, /^257 "\/escape" created/, '.. is folded at the home, so this lands inside it');
      assert.ok(await c.services.store.resolvePath(c.domainId, ['homes', 'alice', 'escape']), 'created inside the home');
      assert.equal(await c.services.store.resolvePath(c.domainId, ['escape']), null);
      assert.match(await put(c, '../../x.txt', 'x', 'alice', 'alice-pw'), /^226 /);
      assert.ok(await c.fidOf('/homes/alice/x.txt'));
      assert.equal(await c.fidOf('/x.txt'), null);
    });

    test('a read-only user can list and download but every write is refused', async () => {
      await put(c, 'public.txt', 'read me');
      await c.addUser('reader', 'reader-pw', { readOnly: true });
      assert.match(await put(c, 'new.txt', 'x', 'reader', 'reader-pw'), /^550 .*read-only/);
      const r = await replies(c, ['MKD d', 'DELE public.txt', 'RNFR public.txt', 'RNTO p2.txt', 'RMD docs', 'SIZE public.txt'], 'reader', 'reader-pw');
      for (const reply of r.slice(0, 5)) assert.match(reply, /^5\d\d /, reply);
      assert.equal(r[5], '213 7');
      const dl = await curl([ftpUrl(c.port, '/public.txt', 'reader', 'reader-pw')]);
      assert.equal(dl.stdout, 'read me');
      assert.equal(await c.fidOf('/new.txt'), null);
    });

    test('a wrong password is refused with 530, and names with NUL or too long are 553', async () => {
      const bad = await curl([ftpUrl(c.port, '/', 'demo', 'wrong')]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /530|Access denied|Login/i);
      const r = await replies(c, [`MKD ${'n'.repeat(300)}`, 'MKD ok-name']);
      assert.match(r[0]!, /^553 /);
      assert.match(r[1]!, /^257 /);
    });

    test('LIST of a 10 000-entry directory streams every entry', async () => {
      const dir = await c.services.store.mkdir(c.domainId, ROOT_ID, 'big', { mtime: Date.now() });
      for (let i = 0; i < 10_000; i += 500) {
        await Promise.all(
          Array.from({ length: 500 }, (_, j) =>
            c.services.store.mkdir(c.domainId, dir.id, `entry-${String(i + j).padStart(5, '0')}`, { mtime: Date.now() }),
          ),
        );
      }
      const list = await curl([ftpUrl(c.port, '/big/')]);
      assert.equal(list.code, 0, list.stderr);
      const lines = list.stdout.split(/\r?\n/).filter(Boolean);
      assert.equal(lines.length, 10_000);
      assert.match(lines[0]!, /^drwxr-xr-x 2 ftp ftp +0 \w{3} [ \d]\d \d\d:\d\d entry-00000$/);
      assert.match(lines[9999]!, /entry-09999$/);
      const names = await curl(['-l', ftpUrl(c.port, '/big/')]);
      assert.equal(names.stdout.split(/\r?\n/).filter(Boolean).length, 10_000);
    });

    test('two front-ends (a second `mogftp ftp` process) on one database see each other\'s writes at once', async () => {
      const other = await c.startFrontendProcess();
      try {
        const up = await curl(['-T', '-', ftpUrl(other.port, '/from-other.txt')], { input: 'via the second front-end' });
        assert.equal(up.code, 0, up.stderr);
        assert.equal(await get(c, '/from-other.txt'), 'via the second front-end');
        await put(c, 'from-first.txt', 'via the first');
        const back = await curl([ftpUrl(other.port, '/from-first.txt')]);
        assert.equal(back.stdout, 'via the first');
        const r = await ftplib(other.port, `ftp.delete('from-first.txt'); print('ok')`);
        assert.equal(r.code, 0, r.stderr);
        assert.match((await replies(c, ['SIZE from-first.txt']))[0]!, /^550 /);
      } finally {
        await other.kill();
      }
    });
  });
}
