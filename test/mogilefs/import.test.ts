// `mogftp admin import mogilefs` end to end, on a SQLite and a MariaDB target: a MogileFS
// database (import-fixture.ts: MogileFS's own schema, on MariaDB) with rows and .fid files this
// test writes onto real nodes (two `mogftp storage` processes and nginx standing in for
// mogstored), imported by the real CLI; then every file is read back over FTP and WebDAV with
// curl, byte for byte, the nodes' directories are unchanged, a re-run changes nothing, and
// --dry-run writes nothing.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ImportReport } from '../../src/mogilefs/import/report.ts';
import { fsckFid } from '../../src/jobs/fsck.ts';
import { silentLog } from '../../src/jobs/runner.ts';
import { StorageClient } from '../../src/storage/client.ts';
import { openStore } from '../../src/tracker/open.ts';
import { adminCli } from '../harness/admin-cli.ts';
import { curl } from '../harness/clients.ts';
import { BACKENDS } from '../harness/cluster.ts';
import { startDaemonProcess, type DaemonProcess } from '../harness/daemons.ts';
import { createMysqlTestDb, createSqliteTestDb, type TestDb } from '../harness/db.ts';
import { startNginxNode, startNodeProcess, testStorageKey, testStorageKeyFile, type NodeHandle } from '../harness/nodes.ts';
import { createMogileFsDb, fidRelPath, hashTree, type MogileFsDb } from './import-fixture.ts';

interface FixtureFile {
  fid: number;
  dmid: number;
  key: Buffer;
  classid: number;
  devids: number[];
  data: Buffer | null;
  /** Where mogftp must put it; null: not imported. */
  path: string | null;
}

const k = (s: string) => Buffer.from(s, 'utf8');
const esc = (key: Buffer) => `/.mogilefs-keys/${key.toString('base64url')}.k`;
const bytes = (n: number) => randomBytes(n);

function fixtureFiles(): FixtureFile[] {
  const f = (fid: number, key: Buffer, classid: number, devids: number[], data: Buffer | null, path: string | null, dmid = 1): FixtureFile => ({ fid, dmid, key, classid, devids, data, path });
  const badUtf8 = Buffer.from([0x66, 0xff, 0x2f, 0x67]);
  return [
    f(2, k('photos/2006/a.jpg'), 1, [1, 3], bytes(3_000_000), '/photos/2006/a.jpg'),
    f(3, k('docs/readme.txt'), 2, [2], bytes(100), '/docs/readme.txt'),
    f(5, k('a'), 1, [1, 2], bytes(10), esc(k('a'))), // also a prefix of a/b: escaped
    f(6, k('a/b'), 1, [2, 3], bytes(70_000), '/a/b'),
    f(7, k('x//y'), 0, [1], bytes(5), esc(k('x//y'))),
    f(8, k('dots/../up'), 1, [3], bytes(6), esc(k('dots/../up'))),
    f(9, badUtf8, 1, [1], bytes(7), esc(badUtf8)),
    f(10, k('tab\there'), 1, [2], bytes(8), esc(k('tab\there'))),
    f(11, k(''), 1, [1], bytes(9), esc(k(''))),
    f(12, k('.mogilefs-keys/x'), 1, [3], bytes(11), esc(k('.mogilefs-keys/x'))),
    f(13, k('empty'), 1, [1, 2], Buffer.alloc(0), '/empty'),
    f(14, k('sp ace/ü.txt'), 1, [1, 3], bytes(12), '/sp ace/ü.txt'),
    f(20, k('docs/readme.txt'), 1, [1, 2], bytes(13), '/docs/readme.txt', 2),
    f(21, k('orphan-domain'), 1, [1], bytes(14), null, 9),
    f(23, k('lost/dev99'), 1, [1, 99], bytes(15), '/lost/dev99'),
    f(101, k('last'), 2, [2, 3], bytes(16), '/last'),
  ];
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const urlPath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

async function fillSource(src: MogileFsDb, nodes: NodeHandle[], files: FixtureFile[]): Promise<void> {
  const q = (sql: string, params: unknown[] = []) => src.conn.query(sql, params);
  await q(`INSERT INTO domain VALUES (1, 'testdom'), (2, 'other')`);
  await q(`INSERT INTO class (dmid, classid, classname, mindevcount, replpolicy, hashtype) VALUES
    (1, 1, 'two', 2, 'MultipleHosts()', 1), (1, 2, 'one', 1, NULL, NULL), (2, 1, 'triple', 3, 'MultipleDevices()', NULL)`);
  const hostRows = nodes.map((n, i) => [i + 1, 'alive', n.port, `st${i + 1}`, '127.0.0.1']);
  await q('INSERT INTO host (hostid, status, http_port, hostname, hostip) VALUES ?', [hostRows]);
  // dev1 on st1, dev2 (readonly) on st2, dev3 on st3 (nginx), dev4 on st1 (dead), dev5 on st2 (drain).
  await q(`INSERT INTO device (devid, hostid, status, weight, mb_total, mb_used) VALUES
    (1, 1, 'alive', 100, 1000, 10), (2, 2, 'readonly', 50, 1000, 10), (3, 3, 'alive', 100, 1000, 10), (4, 1, 'dead', 100, NULL, NULL), (5, 2, 'drain', 100, 1000, 10)`);
  const roots = new Map([[1, nodes[0]!.root], [2, nodes[1]!.root], [3, nodes[2]!.root]]);
  for (const f of files) {
    await q('INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (?, ?, ?, ?, ?, ?)', [f.fid, f.dmid, f.key, f.data?.length ?? null, f.classid, f.devids.length]);
    for (const devid of f.devids) {
      await q('INSERT INTO file_on (fid, devid) VALUES (?, ?)', [f.fid, devid]);
      const root = roots.get(devid);
      if (!root || !f.data) continue;
      const p = join(root, fidRelPath(devid, f.fid));
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, f.data, { mode: 0o644 });
    }
  }
  await q('INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (22, 1, ?, NULL, 1, 0)', [k('never-closed')]);
  await q('INSERT INTO checksum (fid, hashtype, checksum) VALUES (2, 1, ?), (3, 2, ?)', [md5(files[0]!.data!), randomBytes(20)]);
  await q('INSERT INTO tempfile (fid, createtime, classid, dmid, dkey) VALUES (120, 0, 1, 1, ?)', [k('uploading')]);
  await q('ALTER TABLE tempfile AUTO_INCREMENT = 150');
}

async function importJson(dbUrl: string, from: string, extra: string[] = []): Promise<ImportReport> {
  const r = await adminCli(dbUrl, ['import', 'mogilefs', '--from', from, '--json', '--batch', '4', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ImportReport;
}

for (const backend of BACKENDS) {
  describe(`admin import mogilefs (${backend} target)`, () => {
    const files = fixtureFiles();
    const keyFile = testStorageKeyFile();
    let src: MogileFsDb;
    let db: TestDb;
    let nodes: NodeHandle[] = [];
    const daemons: DaemonProcess[] = [];
    const cleanups: Array<() => Promise<unknown>> = [];
    let before0: Awaited<ReturnType<typeof hashTree>>;

    before(async () => {
      nodes = [await startNodeProcess({ keyFile, devids: [1] }), await startNodeProcess({ keyFile, devids: [2, 5] }), await startNginxNode({ keyFile, devids: [3] })];
      src = await createMogileFsDb();
      await fillSource(src, nodes, files);
      db = backend === 'sqlite' ? await createSqliteTestDb() : await createMysqlTestDb();
      const init = await adminCli(db.url, ['init']);
      assert.equal(init.code, 0, init.stderr);
      before0 = await hashTree(nodes.map((n) => n.root));
    });

    after(async () => {
      for (const d of daemons) await d.kill();
      for (const c of cleanups) await c();
      for (const n of nodes) await n.stop();
      await src?.drop();
      await db?.drop();
    });

    test('--dry-run reports what it would do and writes nothing', async () => {
      const r = await importJson(db.url, src.url, ['--dry-run']);
      assert.equal(r.dryRun, true);
      assert.deepEqual(r.hosts, { created: 3, present: 0, updated: 0 });
      assert.equal(r.files.imported, 15);
      const store = await openStore(db.url);
      try {
        assert.deepEqual(await store.listHosts(), []);
        assert.deepEqual(await store.listDomains(), []);
        assert.deepEqual(await store.listFids(0, 10), []);
      } finally {
        await store.close();
      }
    });

    test('imports hosts, devices (devids and states), classes and files with their fids', async () => {
      const r = await importJson(db.url, src.url);
      assert.deepEqual(r.hosts, { created: 3, present: 0, updated: 0 });
      assert.deepEqual(r.devices, { created: 5, present: 0, updated: 0 });
      assert.deepEqual(r.domains, { created: 2, present: 0 });
      assert.deepEqual(r.classes, { created: 3, present: 0 });
      assert.deepEqual(r.files, { imported: 15, present: 0, skipped: 2, bytes: files.filter((f) => f.path).reduce((s, f) => s + f.data!.length, 0), replicas: 22 });
      assert.equal(r.checksums.md5, 1);
      assert.equal(r.fidFloor, 149);
      const skipped = r.skipped.map((s) => `${s.kind} ${s.id}`).sort();
      assert.deepEqual(skipped, ['checksum 3', 'file 21', 'file 22', 'file_on 23/99']);
      assert.ok(r.notes.some((n) => n.includes('MultipleDevices')), r.notes.join('\n'));
      const renamed = new Map(r.renamed.map((x) => [x.keyHex, x.path]));
      for (const f of files.filter((x) => x.path?.startsWith('/.mogilefs-keys/'))) assert.equal(renamed.get(f.key.toString('hex')), f.path, `key ${f.key.toString('hex')}`);
      assert.equal(r.renamed.length, 7);
      const reason = new Map(r.renamed.map((x) => [x.keyHex, x.reason]));
      assert.equal(reason.get(''), 'the key is empty');
      assert.match(reason.get(k('x//y').toString('hex'))!, /empty component/);
      assert.match(reason.get(k('a').toString('hex'))!, /prefix of other keys/);
      assert.equal(reason.get('66ff2f67'), 'the key is not UTF-8');
      assert.match(reason.get(k('.mogilefs-keys/x').toString('hex'))!, /starts with \.mogilefs-keys/);

      const store = await openStore(db.url);
      try {
        const devs = new Map((await store.listDevices()).map((d) => [d.id, [d.hostId, d.status, d.weight]]));
        assert.deepEqual([...devs.entries()].sort(), [[1, [1, 'alive', 100]], [2, [2, 'readonly', 50]], [3, [3, 'alive', 100]], [4, [1, 'dead', 100]], [5, [2, 'drain', 100]]]);
        const f2 = await store.getFile(2);
        assert.equal(f2?.checksumAlg, 'md5');
        assert.equal(f2?.checksum, md5(files[0]!.data!).toString('hex'));
        assert.deepEqual(await store.replicasOf(23), [1]);
        assert.equal(await store.queueDepth('fsck'), 14);
        assert.equal(await store.queueDepth('replicate'), 8); // fid 7, 8, 9, 10, 11, 12, 20, 23: fewer copies than their class wants
      } finally {
        await store.close();
      }
    });

    test('every file reads back over FTP and WebDAV with identical bytes; the nodes are untouched', async () => {
      for (const [user, domain] of [['demo', 'testdom'], ['odemo', 'other']]) {
        const u = await adminCli(db.url, ['user', 'add', user!, '--password', 'pw', '--domain', domain!]);
        assert.equal(u.code, 0, u.stderr);
      }
      const ftp = await startDaemonProcess('ftp', db.url, ['--storage-key-file', keyFile]);
      daemons.push(ftp);
      const davd = await startDaemonProcess('dav', db.url, ['--storage-key-file', keyFile]);
      daemons.push(davd);
      const tmp = await mkdtemp(join(tmpdir(), 'mogimport-read-'));
      cleanups.push(() => rm(tmp, { recursive: true, force: true }));
      for (const f of files.filter((x) => x.path)) {
        const user = f.dmid === 1 ? 'demo' : 'odemo';
        const out = join(tmp, `${f.fid}`);
        const viaFtp = await curl(['--output', `${out}.ftp`, `ftp://${user}:pw@127.0.0.1:${ftp.port}${urlPath(f.path!)}`]);
        assert.equal(viaFtp.code, 0, `FTP ${f.path}: ${viaFtp.stderr}`);
        assert.equal(sha256(await readFile(`${out}.ftp`)), sha256(f.data!), `FTP ${f.path}`);
        const viaDav = await curl(['--fail', '--output', `${out}.dav`, '-u', `${user}:pw`, `http://127.0.0.1:${davd.port}${urlPath(f.path!)}`]);
        assert.equal(viaDav.code, 0, `WebDAV ${f.path}: ${viaDav.stderr}`);
        assert.equal(sha256(await readFile(`${out}.dav`)), sha256(f.data!), `WebDAV ${f.path}`);
      }
      const after0 = await hashTree(nodes.map((n) => n.root));
      assert.deepEqual(after0.files, before0.files);
      assert.equal(after0.digest, before0.digest);
    });

    test('fsck computes and records the checksums MogileFS did not have', async () => {
      const store = await openStore(db.url);
      const client = new StorageClient({ key: testStorageKey() });
      try {
        const ctx = { store, client, log: silentLog, checksumBytesPerSecond: 1_000_000 };
        const byFid = new Map(files.map((f) => [f.fid, f]));
        for (const [fid, alg] of [[6, 'md5'], [3, 'sha256'], [101, 'sha256']] as const) {
          assert.equal((await store.getFile(fid))?.checksum, null);
          await fsckFid(ctx, fid);
          const row = await store.getFile(fid);
          assert.equal(row?.checksumAlg, alg, `fid ${fid}`);
          assert.equal(row?.checksum, createHash(alg).update(byFid.get(fid)!.data!).digest('hex'), `fid ${fid}`);
        }
      } finally {
        client.close();
        await store.close();
      }
    });

    test('a re-run changes nothing; new uploads get fids above every MogileFS fid', async () => {
      const r = await importJson(db.url, src.url);
      assert.deepEqual(r.files, { imported: 0, present: 15, skipped: 2, bytes: 0, replicas: 0 });
      assert.deepEqual(r.hosts, { created: 0, present: 3, updated: 0 });
      assert.deepEqual(r.renamed, []);
      const ftp = daemons[0]!;
      const up = await curl(['-T', '-', `ftp://demo:pw@127.0.0.1:${ftp.port}/after-import.bin`], { input: bytes(1000) });
      assert.equal(up.code, 0, up.stderr);
      const store = await openStore(db.url);
      try {
        const dom = await store.getDomain('testdom');
        const [entry] = await store.walkPath(dom!.id, ['after-import.bin']);
        assert.ok(entry?.fid && entry.fid > 149, `fid ${entry?.fid}`);
      } finally {
        await store.close();
      }
    });
  });
}
