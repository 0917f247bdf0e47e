// `mogftp admin import mogilefs` end to end, on a SQLite and a MariaDB target: a MogileFS
// database (import-fixture.ts: MogileFS's own schema, on MariaDB) with rows and .fid files this
// test writes onto real nodes (two `mogftp storage` processes and nginx standing in for
// mogstored), imported by the real CLI; then every file is read back over FTP and WebDAV with
// curl, byte for byte, the nodes' directories are unchanged, a re-run changes nothing, and
// --dry-run writes nothing.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { bytes, createMogileFsDb, fidRelPath, fillSource, fixtureFiles, hashTree, k, md5, type MogileFsDb } from './import-fixture.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const urlPath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

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
        for (const [fid, alg] of [[3, 'sha256'], [101, 'sha256']] as const) {
          assert.equal((await store.getFile(fid))?.checksum, null);
          await fsckFid(ctx, fid);
          const row = await store.getFile(fid);
          assert.equal(row?.checksumAlg, alg, `fid ${fid}`);
          assert.equal(row?.checksum, createHash(alg).update(byFid.get(fid)!.data!).digest('hex'), `fid ${fid}`);
        }
        // The read rate is bounded: fid 6's two copies of 70 000 bytes at 100 000 bytes/s take 1.4 s.
        const t0 = Date.now();
        await fsckFid({ ...ctx, checksumBytesPerSecond: 100_000 }, 6);
        const took = Date.now() - t0;
        assert.ok(took >= 1300, `took ${took} ms`);
        assert.equal((await store.getFile(6))?.checksum, createHash('md5').update(byFid.get(6)!.data!).digest('hex'));
        // Copies that disagree: nothing is recorded, and the finding says so.
        const other = Buffer.from(byFid.get(14)!.data!);
        other[0] = other[0]! ^ 0xff;
        await writeFile(join(nodes[2]!.root, fidRelPath(3, 14)), other);
        await fsckFid(ctx, 14);
        assert.equal((await store.getFile(14))?.checksum, null);
        const events = await store.listFsckEvents({ fid: 14, limit: 10 });
        assert.ok(events.some((e) => e.code === 'NSUM' && /digests differ/.test(e.detail)), JSON.stringify(events));
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
