// Interop with the real MogileFS (issue 20's done-when): a MogileFS 2.73 cluster run from its
// public sources by /work/shared/mogilefs/up.sh (mogilefsd + 3 mogstored on MariaDB) is filled
// with the real `mogupload`, imported by `mogftp admin import mogilefs` into a SQLite and a
// MariaDB target, and EVERY file of its domain (this run's and those earlier runs left) is read
// back over FTP, over WebDAV and with the real `mogfetch` through `mogftp tracker`, with the
// mogstored processes serving the copies: the bytes are those of the .fid files MogileFS wrote,
// and those .fid files are the same before and after the import. `moglistkeys` lists the same
// keys in the same order through both trackers, and `mogfileinfo` gets the same plain mogstored
// URLs. Then writes land on mogstored: an FTP upload, and a `mogupload` through `mogftp tracker`
// followed by an FTP RETR, each with the same bytes.
//
// Runs only where the sources are: fetch github:mogilefs/MogileFS-Server,
// github:mogilefs/perl-MogileFS-Client and github:mogilefs/MogileFS-Utils as git mirrors laid out
// as $MOG_MIRROR_DIR/mogilefs+MogileFS-Server/repo (and so on; default /work/.mirror), with the
// cluster script in $MOGFTP_MOGILEFS_DIR (default /work/shared/mogilefs). The cluster is shared
// and keeps running: this test uses keys of its own and never stops the MogileFS tracker.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { ImportReport } from '../../src/mogilefs/import/report.ts';
import { startMonitor } from '../../src/jobs/monitor.ts';
import { sweepOrphans } from '../../src/jobs/orphans.ts';
import { silentLog } from '../../src/jobs/runner.ts';
import { StorageClient } from '../../src/storage/client.ts';
import { fidPath } from '../../src/storage/layout.ts';
import { openStore } from '../../src/tracker/open.ts';
import { adminCli } from '../harness/admin-cli.ts';
import { curl, run } from '../harness/clients.ts';
import { BACKENDS } from '../harness/cluster.ts';
import { startDaemonProcess } from '../harness/daemons.ts';
import { createMysqlTestDb, createSqliteTestDb } from '../harness/db.ts';
import { until } from '../harness/wait.ts';
import { ANCHOR, ANCHOR_DB_URL, anchorFiles, fidFiles, mog, sha256File, startMogftpTracker, type AnchorFile } from './anchor.ts';

const SCRIPTS = process.env.MOGFTP_MOGILEFS_DIR ?? '/work/shared/mogilefs';
const MIRRORS = process.env.MOG_MIRROR_DIR ?? '/work/.mirror';
const present = existsSync(join(SCRIPTS, 'up.sh')) && ['MogileFS-Server', 'perl-MogileFS-Client', 'MogileFS-Utils'].every((r) => existsSync(join(MIRRORS, `mogilefs+${r}`, 'repo')));
const skip = present
  ? false
  : `the MogileFS sources are not here: fetch github:mogilefs/MogileFS-Server, perl-MogileFS-Client and MogileFS-Utils as git mirrors into $MOG_MIRROR_DIR (${MIRRORS}/mogilefs+<name>/repo) and the cluster script into $MOGFTP_MOGILEFS_DIR (${SCRIPTS})`;

const MOGSTORED_HOSTS = ['st1', 'st2', 'st3'];
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const urlPath = (p: string) => p.split('/').map(encodeURIComponent).join('/');
/** The copies' URLs mogfileinfo prints (its " - URL" lines), sorted. */
const infoUrls = (out: string) => [...out.matchAll(/^ - (\S+)$/gm)].map((m) => m[1]!).sort();

interface Doors {
  ftpPort: number;
  davPort: number;
  tracker: string;
}

/** Every file reads back over FTP, WebDAV and mogfetch through mogftp tracker, as the bytes MogileFS stored. */
async function readEveryFile(files: AnchorFile[], report: ImportReport, doors: Doors, tmp: string): Promise<void> {
  const out = join(tmp, 'out');
  for (const f of files) {
    const key = f.key.toString('utf8');
    assert.deepEqual(Buffer.from(key, 'utf8'), f.key, 'the interop keys are UTF-8');
    const path = report.renamed.find((r) => r.keyHex === f.key.toString('hex'))?.path ?? `/${key}`;
    const viaFtp = await curl(['--output', out, `ftp://demo:pw@127.0.0.1:${doors.ftpPort}${urlPath(path)}`]);
    assert.equal(viaFtp.code, 0, `FTP ${path}: ${viaFtp.stderr}`);
    assert.equal(await sha256File(out), f.sha256, `FTP ${path}`);
    const viaDav = await curl(['--fail', '--output', out, '-u', 'demo:pw', `http://127.0.0.1:${doors.davPort}${urlPath(path)}`]);
    assert.equal(viaDav.code, 0, `WebDAV ${path}: ${viaDav.stderr}`);
    assert.equal(await sha256File(out), f.sha256, `WebDAV ${path}`);
    await rm(out, { force: true });
    const fetched = await mog('mogfetch', ['--domain=testdom', `--key=${key}`, `--file=${out}`], doors.tracker);
    assert.equal(fetched.code, 0, `mogfetch ${key}: ${fetched.stdout}${fetched.stderr}`);
    assert.equal(await sha256File(out), f.sha256, `mogfetch ${key}`);
  }
}

/** moglistkeys and mogfileinfo answer the same through MogileFS's tracker and through mogftp's. */
async function sameAnswers(t: TestContext, files: AnchorFile[], runKeys: string[], tracker: string): Promise<void> {
  const theirs = await mog('moglistkeys', ['--domain=testdom']);
  const ours = await mog('moglistkeys', ['--domain=testdom'], tracker);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(ours.code, 0, ours.stderr);
  const lines = ours.stdout.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, files.length);
  assert.equal(ours.stdout, theirs.stdout, 'moglistkeys: the same keys in the same order');
  const prefixed = await mog('moglistkeys', ['--domain=testdom', `--key_prefix=${runKeys[0]!.split('/')[0]}/`], tracker);
  assert.equal(prefixed.stdout, (await mog('moglistkeys', ['--domain=testdom', `--key_prefix=${runKeys[0]!.split('/')[0]}/`])).stdout);
  for (const key of runKeys) {
    const a = await mog('mogfileinfo', ['--domain=testdom', `--key=${key}`]);
    const b = await mog('mogfileinfo', ['--domain=testdom', `--key=${key}`], tracker);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(infoUrls(b.stdout), infoUrls(a.stdout), `mogfileinfo ${key}: the same mogstored URLs`);
    for (const u of infoUrls(b.stdout)) assert.match(u, /^http:\/\/127\.0\.0\.[123]:265[012]0\/dev[123]\/0\/\d{3}\/\d{3}\/\d{10}\.fid$/);
  }
  t.diagnostic(`moglistkeys through both trackers: the same ${lines.length} keys in the same order; mogfileinfo: the same URLs for ${runKeys.length} keys`);
}

/** The device monitor on mogstored: its usage file gives the sizes, its test write works; the orphan sweep leaves it alone. */
async function mogstoredAsNodes(dbUrl: string): Promise<void> {
  const store = await openStore(dbUrl);
  const client = new StorageClient();
  try {
    const monitor = startMonitor(store, { client, intervalMs: 3_600_000, log: () => {} });
    await monitor.runOnce();
    await monitor.stop();
    for (const d of await store.listDevices()) {
      const usage = await readFile(join(ANCHOR, `st${d.id}`, `dev${d.id}`, 'usage'), 'utf8');
      const totalKb = Number(/^total:\s*(\d+)/m.exec(usage)?.[1]);
      assert.equal(d.observed, 'writeable', `dev${d.id}`);
      assert.equal(d.mbTotal, Math.round(totalKb / 1024), `dev${d.id} size from mogstored's usage file`);
    }
    // mogstored does not list a device's files: the orphan sweep leaves its devices alone.
    const sweep = await sweepOrphans({ store, client, log: silentLog }, { minAgeMs: 3_600_000, dryRun: true });
    for (const d of sweep.devices) assert.match(d.skipped ?? '', /does not list/, `dev${d.devid}`);
  } finally {
    client.close();
    await store.close();
  }
}

/** Deletes a file's copies from mogstored (MogileFS never knew them); asserts where they are first. */
async function removeCopies(dbUrl: string, path: string[], copies: number): Promise<void> {
  const store = await openStore(dbUrl);
  try {
    const walked = await store.walkPath((await store.getDomain('testdom'))!.id, path);
    const fid = walked.length === path.length ? (walked[walked.length - 1]!.fid ?? 0) : 0;
    assert.ok(fid > 0, `/${path.join('/')} is a file`);
    const devids = await store.replicasOf(fid);
    assert.equal(devids.length, copies, `/${path.join('/')}: copies`);
    for (const devid of devids) {
      const dev = (await store.getDevice(devid))!;
      assert.ok(MOGSTORED_HOSTS.includes(dev.hostName), `dev${devid} is a mogstored device`);
      const url = `http://${dev.hostAddress}:${dev.hostPort}${fidPath(devid, fid)}`;
      assert.equal((await curl(['--fail', '-X', 'DELETE', url])).code, 0, `DELETE ${url}`);
    }
  } finally {
    await store.close();
  }
}

describe('import of a real MogileFS cluster (mogupload, mogstored as nodes, mogfetch through mogftp tracker)', { skip }, () => {
  const runId = randomBytes(4).toString('hex');
  // Lower-case keys without [\]^_`: the cluster's dkey column has MariaDB's case-insensitive
  // collation, which orders such keys as bytes, as mogftp does (see docs/tracker-protocol.md).
  const files = new Map<string, Buffer>([
    [`interop-${runId}/photos/2006/a.jpg`, randomBytes(1_500_000)],
    [`interop-${runId}/docs/readme.txt`, Buffer.from('hello from MogileFS\n')],
    [`interop-${runId}/empty`, Buffer.alloc(0)],
    [`interop-${runId}/sp ace/ü.txt`, randomBytes(1000)],
    [`interop-${runId}//double-slash`, randomBytes(300)], // not a path: lands escaped
    [`interop-${runId}/a/b`, randomBytes(11)], // the directory a comes before a-c in the tree,
    [`interop-${runId}/a-c`, randomBytes(10)], // but a-c before a/b in MogileFS's order
  ]);
  let tmp: string;

  before(async () => {
    const up = await run('bash', [join(SCRIPTS, 'up.sh')], { env: { ...process.env, MOG_MIRROR_DIR: MIRRORS }, timeoutMs: 600_000 });
    assert.equal(up.code, 0, `up.sh: ${up.stderr}`);
    tmp = await mkdtemp(join(tmpdir(), 'mogimport-interop-'));
    for (const [key, data] of files) {
      const f = join(tmp, 'upload');
      await writeFile(f, data);
      const r = await mog('mogupload', ['--domain=testdom', '--class=two', `--key=${key}`, `--file=${f}`]);
      assert.equal(r.code, 0, `mogupload ${key}: ${r.stderr}`);
    }
    // MogileFS acknowledges after one copy; its tracker makes the second. Wait for it, so the
    // tracker's own replication does not change the nodes while the import runs.
    for (const key of files.keys()) {
      await until(`MogileFS replicated ${key}`, async () => /devcount:\s+2/.test((await mog('mogfileinfo', ['--domain=testdom', `--key=${key}`])).stdout), 60_000, 500);
    }
  });

  after(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  for (const backend of BACKENDS) {
    test(`into a ${backend} target: every file reads back over FTP, WebDAV and mogfetch through mogftp tracker; the mogstored files are unchanged`, async (t) => {
      const db = backend === 'sqlite' ? await createSqliteTestDb() : await createMysqlTestDb();
      const daemons: Array<{ kill(): Promise<void> }> = [];
      try {
        assert.equal((await adminCli(db.url, ['init'])).code, 0);
        const beforeFids = await fidFiles();
        const imp = await adminCli(db.url, ['import', 'mogilefs', '--from', ANCHOR_DB_URL, '--json']);
        assert.equal(imp.code, 0, imp.stderr);
        const report = JSON.parse(imp.stdout) as ImportReport;
        t.diagnostic(`import: ${JSON.stringify({ hosts: report.hosts, devices: report.devices, files: report.files, fidFloor: report.fidFloor, renamed: report.renamed.length, skipped: report.skipped.length })}`);
        assert.equal(report.hosts.created, 3);
        const all = await anchorFiles('testdom');
        assert.equal(report.files.imported, all.length, 'every file of the cluster imported');
        for (const [key, data] of files) assert.equal(all.find((f) => f.key.equals(Buffer.from(key)))?.sha256, sha256(data), `${key} as uploaded`);
        assert.ok(report.renamed.some((r) => r.key === `interop-${runId}//double-slash`), 'the // key is in the report');

        assert.equal((await adminCli(db.url, ['user', 'add', 'demo', '--password', 'pw', '--domain', 'testdom'])).code, 0);
        const ftp = await startDaemonProcess('ftp', db.url);
        daemons.push(ftp);
        const dav = await startDaemonProcess('dav', db.url);
        daemons.push(dav);
        const tracker = await startMogftpTracker(db.url, MOGSTORED_HOSTS);
        daemons.push({ kill: tracker.stop });
        await readEveryFile(all, report, { ftpPort: ftp.port, davPort: dav.port, tracker: tracker.address }, tmp);
        t.diagnostic(`${all.length} files read back over FTP, WebDAV and mogfetch through mogftp tracker, as on mogstored`);
        await sameAnswers(t, all, [...files.keys()], tracker.address);

        // Every .fid that was there before the import is there after it, unchanged.
        const afterFids = await fidFiles();
        for (const [p, sig] of beforeFids) assert.equal(afterFids.get(p), sig, p);
        t.diagnostic(`${beforeFids.size} .fid files on mogstored unchanged`);
        await mogstoredAsNodes(db.url);

        // mogstored as a node for writes too. The MogileFS tracker keeps running here (the
        // cluster is shared), so it keeps handing out fids above the imported ones: this
        // target's counter jumps far ahead so that a new .fid never lands on one it creates.
        const store = await openStore(db.url);
        try {
          await store.raiseFidFloor(report.fidFloor + 100_000_000);
        } finally {
          await store.close();
        }
        // An FTP upload: two mogstored devices, read back.
        const up = randomBytes(200_000);
        await writeFile(join(tmp, 'up'), up);
        const ftpName = `interop-${runId}-${backend}-uploaded.bin`;
        assert.equal((await curl(['-T', join(tmp, 'up'), `ftp://demo:pw@127.0.0.1:${ftp.port}/${ftpName}`])).code, 0);
        const back = await curl(['--output', join(tmp, 'back'), `ftp://demo:pw@127.0.0.1:${ftp.port}/${ftpName}`]);
        assert.equal(back.code, 0, back.stderr);
        assert.equal(sha256(await readFile(join(tmp, 'back'))), sha256(up));
        await removeCopies(db.url, [ftpName], 2);

        // mogupload through mogftp tracker: create_open hands out plain mogstored URLs, the tool
        // PUTs to mogstored, create_close reads the copy back; then FTP RETR gives the same bytes.
        const mogUp = randomBytes(1_000_003);
        await writeFile(join(tmp, 'mogup'), mogUp);
        const mogKey = `interop-${runId}-${backend}/mogupload.bin`;
        const uploaded = await mog('mogupload', ['--domain=testdom', '--class=two', `--key=${mogKey}`, `--file=${join(tmp, 'mogup')}`], tracker.address);
        assert.equal(uploaded.code, 0, uploaded.stdout + uploaded.stderr);
        const retr = await curl(['--output', join(tmp, 'retr'), `ftp://demo:pw@127.0.0.1:${ftp.port}/${mogKey}`]);
        assert.equal(retr.code, 0, retr.stderr);
        assert.equal(sha256(await readFile(join(tmp, 'retr'))), sha256(mogUp), 'mogupload through mogftp tracker, then FTP RETR');
        const info = await mog('mogfileinfo', ['--domain=testdom', `--key=${mogKey}`], tracker.address);
        assert.match(info.stdout, new RegExp(`length:\\s+${mogUp.length}`));
        assert.match(info.stdout, /class:\s+two/);
        assert.equal(infoUrls(info.stdout).length, 1, 'acknowledged after one copy (no mogftp jobs run here)');
        assert.doesNotMatch(info.stdout, /\?/, 'plain URLs for mogstored');
        await removeCopies(db.url, mogKey.split('/'), 1);
        t.diagnostic('FTP upload and mogupload through mogftp tracker landed on mogstored and read back over FTP');
      } finally {
        for (const d of daemons) await d.kill();
        await db.drop();
      }
    });
  }
});
