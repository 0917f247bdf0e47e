// Interop with the real MogileFS (issue 20's done-when): a MogileFS 2.73 cluster run from its
// public sources by /work/shared/mogilefs/up.sh (mogilefsd + 3 mogstored on MariaDB) is filled
// with the real `mogupload`, imported by `mogftp admin import mogilefs` into a SQLite and a
// MariaDB target, and every file this run uploaded is read back over FTP and WebDAV through
// mogftp, with the mogstored processes serving as its storage nodes; their .fid files are the
// same before and after the import. Then an FTP upload lands on mogstored and reads back.
//
// Runs only where the sources are: fetch github:mogilefs/MogileFS-Server,
// github:mogilefs/perl-MogileFS-Client and github:mogilefs/MogileFS-Utils as git mirrors laid out
// as $MOG_MIRROR_DIR/mogilefs+MogileFS-Server/repo (and so on; default /work/.mirror), with the
// cluster script in $MOGFTP_MOGILEFS_DIR (default /work/shared/mogilefs). The cluster is shared
// and keeps running: this test uses keys of its own and never stops the MogileFS tracker.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
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

const SCRIPTS = process.env.MOGFTP_MOGILEFS_DIR ?? '/work/shared/mogilefs';
const MIRRORS = process.env.MOG_MIRROR_DIR ?? '/work/.mirror';
const ANCHOR = '/tmp/mogilefs-anchor';
const FROM = 'mysql://mogile_anchor:anchorpw@127.0.0.1:3306/mogilefs_anchor';
const present = existsSync(join(SCRIPTS, 'up.sh')) && ['MogileFS-Server', 'perl-MogileFS-Client', 'MogileFS-Utils'].every((r) => existsSync(join(MIRRORS, `mogilefs+${r}`, 'repo')));
const skip = present
  ? false
  : `the MogileFS sources are not here: fetch github:mogilefs/MogileFS-Server, perl-MogileFS-Client and MogileFS-Utils as git mirrors into $MOG_MIRROR_DIR (${MIRRORS}/mogilefs+<name>/repo) and the cluster script into $MOGFTP_MOGILEFS_DIR (${SCRIPTS})`;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const urlPath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

/** A MogileFS tool with the cluster's environment (env.sh: PERL5LIB, PATH). */
function mog(tool: string, args: string[]) {
  const cmd = `. ${ANCHOR}/env.sh && exec ${tool} --trackers=$MOG_TRACKERS "$@"`;
  return run('bash', ['-c', cmd, tool, ...args], { timeoutMs: 60_000 });
}

/** Every .fid file on the three mogstored devices: path → size, mtime and sha256. */
async function fidFiles(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.fid')) {
        const st = await stat(p);
        out.set(p, `${st.size} ${st.mtimeMs} ${sha256(await readFile(p))}`);
      }
    }
  };
  for (const n of [1, 2, 3]) if (existsSync(join(ANCHOR, `st${n}`, `dev${n}`, '0'))) await walk(join(ANCHOR, `st${n}`, `dev${n}`, '0'));
  return out;
}

describe('import of a real MogileFS cluster (mogupload, mogstored as nodes)', { skip }, () => {
  const runId = randomBytes(4).toString('hex');
  const files = new Map<string, Buffer>([
    [`interop-${runId}/photos/2006/a.jpg`, randomBytes(1_500_000)],
    [`interop-${runId}/docs/readme.txt`, Buffer.from('hello from MogileFS\n')],
    [`interop-${runId}/empty`, Buffer.alloc(0)],
    [`interop-${runId}/sp ace/ü.txt`, randomBytes(1000)],
    [`interop-${runId}//double-slash`, randomBytes(300)], // not a path: lands escaped
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
    test(`into a ${backend} target: every file reads back over FTP and WebDAV; the mogstored files are unchanged`, async (t) => {
      const db = backend === 'sqlite' ? await createSqliteTestDb() : await createMysqlTestDb();
      const daemons: Array<{ kill(): Promise<void> }> = [];
      try {
        assert.equal((await adminCli(db.url, ['init'])).code, 0);
        const beforeFids = await fidFiles();
        const imp = await adminCli(db.url, ['import', 'mogilefs', '--from', FROM, '--json']);
        assert.equal(imp.code, 0, imp.stderr);
        const report = JSON.parse(imp.stdout) as ImportReport;
        t.diagnostic(`import: ${JSON.stringify({ hosts: report.hosts, devices: report.devices, files: report.files, fidFloor: report.fidFloor, renamed: report.renamed.length, skipped: report.skipped.length })}`);
        assert.equal(report.hosts.created, 3);
        assert.ok(report.files.imported >= files.size);
        const escapedKey = [...files.keys()].find((k) => k.includes('//'))!;
        const renamed = report.renamed.find((r) => r.key === escapedKey);
        assert.ok(renamed, 'the // key is in the report');

        assert.equal((await adminCli(db.url, ['user', 'add', 'demo', '--password', 'pw', '--domain', 'testdom'])).code, 0);
        const ftp = await startDaemonProcess('ftp', db.url);
        daemons.push(ftp);
        const dav = await startDaemonProcess('dav', db.url);
        daemons.push(dav);
        for (const [key, data] of files) {
          const path: string = key === escapedKey ? renamed!.path : `/${key}`;
          const out = join(tmp, `${backend}-out`);
          const viaFtp = await curl(['--output', out, `ftp://demo:pw@127.0.0.1:${ftp.port}${urlPath(path)}`]);
          assert.equal(viaFtp.code, 0, `FTP ${path}: ${viaFtp.stderr}`);
          assert.equal(sha256(await readFile(out)), sha256(data), `FTP ${path}`);
          const viaDav = await curl(['--fail', '--output', out, '-u', 'demo:pw', `http://127.0.0.1:${dav.port}${urlPath(path)}`]);
          assert.equal(viaDav.code, 0, `WebDAV ${path}: ${viaDav.stderr}`);
          assert.equal(sha256(await readFile(out)), sha256(data), `WebDAV ${path}`);
        }
        // Every .fid that was there before the import is there after it, unchanged (other users
        // of the shared cluster may have added files meanwhile: those are not compared).
        const afterFids = await fidFiles();
        for (const [p, sig] of beforeFids) assert.equal(afterFids.get(p), sig, p);
        t.diagnostic(`${beforeFids.size} .fid files on mogstored unchanged; ${files.size} keys read back over FTP and WebDAV`);

        // The device monitor on mogstored: its usage file gives the sizes, its test write works.
        const monStore = await openStore(db.url);
        const client = new StorageClient();
        try {
          const monitor = startMonitor(monStore, { client, intervalMs: 3_600_000, log: () => {} });
          await monitor.runOnce();
          await monitor.stop();
          for (const d of await monStore.listDevices()) {
            const usage = await readFile(join(ANCHOR, `st${d.id}`, `dev${d.id}`, 'usage'), 'utf8');
            const totalKb = Number(/^total:\s*(\d+)/m.exec(usage)?.[1]);
            assert.equal(d.observed, 'writeable', `dev${d.id}`);
            assert.equal(d.mbTotal, Math.round(totalKb / 1024), `dev${d.id} size from mogstored's usage file`);
          }
          // mogstored does not list a device's files: the orphan sweep leaves its devices alone.
          const sweep = await sweepOrphans({ store: monStore, client, log: silentLog }, { minAgeMs: 3_600_000, dryRun: true });
          for (const d of sweep.devices) assert.match(d.skipped ?? '', /does not list/, `dev${d.devid}`);
        } finally {
          client.close();
          await monStore.close();
        }

        // mogstored as a node for writes too: an FTP upload goes to two mogstored devices. The
        // MogileFS tracker keeps running here (the cluster is shared), so it keeps handing out
        // fids above the imported ones: this target's counter jumps far ahead so that the
        // upload's .fid never lands on a file the live tracker creates meanwhile.
        const store = await openStore(db.url);
        try {
          await store.raiseFidFloor(report.fidFloor + 100_000_000);
        } finally {
          await store.close();
        }
        const up = randomBytes(200_000);
        await writeFile(join(tmp, 'up'), up);
        const stor = await curl(['-T', join(tmp, 'up'), `ftp://demo:pw@127.0.0.1:${ftp.port}/interop-${runId}-${backend}-uploaded.bin`]);
        assert.equal(stor.code, 0, stor.stderr);
        const back = await curl(['--output', join(tmp, 'back'), `ftp://demo:pw@127.0.0.1:${ftp.port}/interop-${runId}-${backend}-uploaded.bin`]);
        assert.equal(back.code, 0, back.stderr);
        assert.equal(sha256(await readFile(join(tmp, 'back'))), sha256(up));
        // The upload's copies leave the shared cluster's mogstored (MogileFS never knew them).
        const check = await openStore(db.url);
        try {
          const [entry] = await check.walkPath((await check.getDomain('testdom'))!.id, [`interop-${runId}-${backend}-uploaded.bin`]);
          const devids = await check.replicasOf(entry!.fid!);
          assert.equal(devids.length, 2);
          for (const devid of devids) {
            const dev = (await check.getDevice(devid))!;
            const url = `http://${dev.hostAddress}:${dev.hostPort}${fidPath(devid, entry!.fid!)}`;
            assert.equal((await curl(['--fail', '-X', 'DELETE', url])).code, 0, `DELETE ${url}`);
          }
        } finally {
          await check.close();
        }
      } finally {
        for (const d of daemons) await d.kill();
        await db.drop();
      }
    });
  }
});
