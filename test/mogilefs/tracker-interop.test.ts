// The real MogileFS client tools (MogileFS-Utils 2.30 on perl-MogileFS-Client 1.16) against
// `mogftp tracker` run as its own process: mogupload then FTP RETR gives the same bytes,
// mogfetch of an FTP-stored file gives the same bytes, and the other tools (mogfileinfo,
// moglistkeys, mogrename, mogdelete, mogadm) work on the same namespace.
//
// It needs the Perl sources, which the project does not ship. It looks in MOG_SRC_DIR
// (default /tmp/mogilefs-src, what ../shared/mogilefs/up.sh exports), else exports them from
// git mirrors in MOG_MIRROR_DIR (<dir>/mogilefs+perl-MogileFS-Client/repo, <dir>/mogilefs+MogileFS-Utils/repo;
// `git clone --mirror https://github.com/mogilefs/perl-MogileFS-Client <dir>/mogilefs+perl-MogileFS-Client/repo`
// and the same for MogileFS-Utils). Perl dependencies: apt-get install libwww-perl libio-stringy-perl.
// Without them the suite is skipped and says so.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { curl, ftpUrl, run } from '../harness/clients.ts';
import { BACKENDS, sha256, useCluster } from '../harness/cluster.ts';
import { endProcess, Tail, waitForLine } from '../harness/processes.ts';
import { BIN } from '../harness/quickstart-process.ts';

/** Where the client library and the tools are, or why they are not usable. */
function findSources(): { dir: string } | { missing: string } {
  const has = (d: string) => existsSync(join(d, 'perl-MogileFS-Client/lib/MogileFS/Client.pm')) && existsSync(join(d, 'MogileFS-Utils/mogupload'));
  let dir = process.env.MOG_SRC_DIR ?? '/tmp/mogilefs-src';
  if (!has(dir) && process.env.MOG_MIRROR_DIR) {
    dir = mkdtempSync(join(tmpdir(), 'mogftp-mogsrc-'));
    const exported = dir;
    after(() => rmSync(exported, { recursive: true, force: true }));
    for (const repo of ['perl-MogileFS-Client', 'MogileFS-Utils']) {
      const git = join(process.env.MOG_MIRROR_DIR, `mogilefs+${repo}`, 'repo');
      const r = spawnSync('bash', ['-c', `mkdir -p "$2" && git --git-dir="$1" archive HEAD | tar -x -C "$2"`, '_', git, join(dir, repo)]);
      if (r.status !== 0) return { missing: `cannot export ${git}: ${r.stderr}` };
    }
  }
  if (!has(dir)) return { missing: `no MogileFS client sources in ${dir} (set MOG_SRC_DIR, or MOG_MIRROR_DIR to git mirrors; see the header of this file)` };
  const perl = spawnSync('perl', [`-I${dir}/perl-MogileFS-Client/lib`, `-I${dir}/MogileFS-Utils/lib`, '-MMogileFS::Client', '-MMogileFS::Utils', '-MLWP::UserAgent', '-e1']);
  if (perl.status !== 0) return { missing: `the Perl modules do not load (apt-get install libwww-perl libio-stringy-perl): ${perl.stderr}` };
  return { dir };
}

const sources = findSources();

for (const backend of BACKENDS) {
  describe(`the real MogileFS tools against mogftp tracker (${backend})`, { skip: 'missing' in sources ? sources.missing : false }, () => {
    const c = useCluster({ db: backend, ftp: true, tmpDir: 'mogftp-interop-', domain: 'testdom' });
    let trackers = '';
    let stop: () => Promise<void> = async () => {};
    const src = 'dir' in sources ? sources.dir : '';
    const env = { ...process.env, PERL5LIB: `${src}/perl-MogileFS-Client/lib:${src}/MogileFS-Utils/lib` };
    const tool = (name: string, args: string[]) => run('perl', [join(src, 'MogileFS-Utils', name), `--trackers=${trackers}`, ...args], { env, timeoutMs: 60_000 });

    before(async () => {
      const proc = spawn(process.execPath, [BIN, 'tracker', '--db', c.dbUrl, '--listen', '127.0.0.1:0', '--storage-key-file', c.keyFile!, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const out = new Tail(16_000);
      out.attach(proc.stdout!);
      out.attach(proc.stderr!);
      trackers = await waitForLine(proc, /mogftp tracker listening on (\S+)/, { timeoutMs: 30_000, what: 'mogftp tracker', diagnostics: () => out.text(), killOnFailure: true });
      stop = () => endProcess(proc, 'SIGTERM', 10_000);
    });
    after(() => stop());

    test('mogupload through mogftp tracker, then FTP RETR: the same bytes', async () => {
      const bytes = randomBytes(2 * 1024 * 1024 + 3);
      const file = join(c.tmpDir, 'up.bin');
      await writeFile(file, bytes);
      const up = await tool('mogupload', ['--domain=testdom', '--key=interop/up.bin', `--file=${file}`]);
      assert.equal(up.code, 0, up.stdout + up.stderr);
      const got = await curl([ftpUrl(c.port, '/interop/up.bin'), '-o', join(c.tmpDir, 'ftp.out')]);
      assert.equal(got.code, 0, got.stderr);
      assert.equal(sha256(await readFile(join(c.tmpDir, 'ftp.out'))), sha256(bytes));
      const info = await tool('mogfileinfo', ['--domain=testdom', '--key=interop/up.bin']);
      assert.equal(info.code, 0, info.stderr);
      assert.match(info.stdout, new RegExp(`length:\\s+${bytes.length}`));
      assert.match(info.stdout, /class:\s+default/);
    });

    test('mogfetch of an FTP-stored file: the same bytes; moglistkeys, mogrename, mogdelete', async () => {
      const bytes = randomBytes(1024 * 1024 + 9);
      await writeFile(join(c.tmpDir, 'f.bin'), bytes);
      const up = await curl(['--ftp-create-dirs', '-T', join(c.tmpDir, 'f.bin'), ftpUrl(c.port, '/from-ftp/f.bin')]);
      assert.equal(up.code, 0, up.stderr);
      const out = join(c.tmpDir, 'fetched.bin');
      const fetched = await tool('mogfetch', ['--domain=testdom', '--key=from-ftp/f.bin', `--file=${out}`]);
      assert.equal(fetched.code, 0, fetched.stdout + fetched.stderr);
      assert.equal(sha256(await readFile(out)), sha256(bytes));
      const keys = await tool('moglistkeys', ['--domain=testdom', '--key_prefix=from-ftp/']);
      assert.equal(keys.code, 0, keys.stderr);
      assert.match(keys.stdout, /^from-ftp\/f\.bin$/m);
      const mv = await tool('mogrename', ['--domain=testdom', '--old_key=from-ftp/f.bin', '--new_key=from-ftp/g.bin']);
      assert.equal(mv.code, 0, mv.stdout + mv.stderr);
      assert.equal((await curl([ftpUrl(c.port, '/from-ftp/g.bin'), '-o', join(c.tmpDir, 'g.out')])).code, 0);
      assert.equal(sha256(await readFile(join(c.tmpDir, 'g.out'))), sha256(bytes));
      const rm = await tool('mogdelete', ['--domain=testdom', '--key=from-ftp/g.bin']);
      assert.equal(rm.code, 0, rm.stdout + rm.stderr);
      assert.notEqual((await curl(['-f', ftpUrl(c.port, '/from-ftp/g.bin')])).code, 0);
    });

    test('moglistkeys pages past 1000 keys, in MogileFS order (a-x and a.y before a/…)', async () => {
      // 1100 keys beside a-x and a.y. Listing reads no bytes, so they are made as metadata only,
      // the importer's way (one transaction, no copies): 1100 FTP uploads took 4 minutes on the
      // shared 2-core machine. many-x and many.y are real FTP uploads.
      const dom = (await c.store.getDomain('testdom'))!;
      const cls = (await c.store.getClass(dom.id, 'default'))!;
      const names = Array.from({ length: 1100 }, (_, i) => `k${String(i).padStart(4, '0')}`);
      await c.store.importFiles(
        names.map((n, i) => ({ fid: 1_000_000 + i, domainId: dom.id, classId: cls.id, length: 0, checksum: null, checksumAlg: cls.checksum, devids: [], names: ['many', n], escapedNames: ['.mogilefs-keys', `many-${n}.k`], mtime: Date.now() })),
        (n) => n,
      );
      await c.store.raiseFidFloor(1_001_100);
      await writeFile(join(c.tmpDir, 'small'), 'small');
      for (const name of ['many-x', 'many.y']) assert.equal((await curl(['-T', join(c.tmpDir, 'small'), ftpUrl(c.port, `/${name}`)])).code, 0);
      const listed = await tool('moglistkeys', ['--domain=testdom', '--key_prefix=many']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(listed.stdout.split('\n').filter((l) => l !== ''), ['many-x', 'many.y', ...names.map((n) => `many/${n}`)]);
      // The whole domain: every key once, in byte order, across the page boundary.
      const all = (await tool('moglistkeys', ['--domain=testdom'])).stdout.split('\n').filter((l) => l !== '');
      assert.ok(all.length > 1102);
      assert.deepEqual(all, [...new Set(all)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    });

    test('mogadm: domains, classes and devices', async () => {
      const add = await tool('mogadm', ['class', 'add', 'testdom', 'three', '--mindevcount=3']);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      const list = await tool('mogadm', ['class', 'list']);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /testdom\s+three\s+3/);
      const devs = await tool('mogadm', ['device', 'list']);
      assert.equal(devs.code, 0, devs.stderr);
      assert.match(devs.stdout, /^host1 \[\d+\]: alive$/m);
      assert.match(devs.stdout, /^\s+dev\d+:\s+alive\s/m);
      // mogftp has no MogileFS server settings: the list is empty, a set is refused.
      const settings = await tool('mogadm', ['settings', 'list']);
      assert.equal(settings.code, 0, settings.stdout + settings.stderr);
      assert.equal(settings.stdout.trim(), '');
      const set = await tool('mogadm', ['settings', 'set', 'memcache_servers', '127.0.0.1:11211']);
      assert.notEqual(set.code, 0);
      assert.match(set.stdout + set.stderr, /not_writable/);
    });
  });
}
