// Classes on the directory tree, end to end on SQLite and MariaDB: `admin dir set-class` makes
// FTP STOR, WebDAV PUT and COPY under the directory store the class's copy count; MLST/MLSD
// show the class (x.class); `admin file set-class --recursive` moves existing files and the
// jobs add or trim copies on the nodes' disks to the new count.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startJobs } from '../../src/jobs/index.ts';
import type { FileClass } from '../../src/tracker/types.ts';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { curl, ftplib, ftpUrl, dav } from '../harness/clients.ts';
import { BACKENDS, sha256, useCluster } from '../harness/cluster.ts';
import { adminCli } from '../harness/admin-cli.ts';
import { waitFor } from '../harness/wait.ts';

for (const backend of BACKENDS) {
  describe(`directory classes (${backend})`, () => {
    const c = useCluster({ db: backend, nodes: 3, mindevcount: 2, ftp: true, dav: true, tmpDir: 'mogftp-dirclass-' });
    let archive: FileClass;
    let single: FileClass;
    const bytes = new Map<string, Buffer>();
    let dir: string;

    before(async () => {
      dir = c.tmpDir;
      archive = await c.services.store.createClass(c.domainId, 'archive', { mindevcount: 3 });
      single = await c.services.store.createClass(c.domainId, 'single', { mindevcount: 1 });
    });

    const store = () => c.services.store;
    const classOf = async (path: string) => (await store().getFile((await c.fidOf(path))!))!.classId;
    const onDisk = async (path: string) => {
      const found = await c.replicasOnDisk(path);
      for (const r of found) assert.equal(r.sha256, sha256(bytes.get(path)!), `${path}: every copy on disk is intact`);
      return found.length;
    };
    /** Runs the jobs until every listed file has `want` copies on disk and the queues are empty. */
    const settle = async (paths: string[], want: number) => {
      const jobs = startJobs(store(), { client: c.services.client, monitor: false, pollMs: 25, backoffScale: 0.0005, concurrency: 4 });
      try {
        await waitFor(`${paths.join(', ')} at ${want} copies`, async () => {
          for (const p of paths) {
            const n = await onDisk(p);
            if (n !== want) return `${p} has ${n}`;
            if ((await store().replicasOf((await c.fidOf(p))!)).length !== want) return `${p}: records not at ${want}`;
          }
          return (await store().queueDepth('replicate')) + (await store().queueDepth('delete')) === 0 || 'queues not empty';
        }, 60_000);
      } finally {
        await jobs.stop();
      }
    };

    test('set-class on /archive: FTP STOR, WebDAV PUT and COPY below it get the class and its copies; elsewhere the default', async () => {
      await store().mkdir(c.domainId, 0, 'archive', { mtime: Date.now() });
      const set = await adminCli(c.dbUrl, ['dir', 'set-class', '/archive', 'archive']);
      assert.equal(set.code, 0, set.stderr);
      assert.match(set.stdout, /New files under \/archive \(domain default\) get class archive \(mindevcount 3\)/);
      const listed = await adminCli(c.dbUrl, ['dir', 'list-classes', '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(JSON.parse(listed.stdout), [{ domain: 'default', path: '/archive', class: 'archive' }]);

      for (const p of ['/archive/x/ftp.bin', '/plain.bin', '/archive/x/dav.bin']) bytes.set(p, randomBytes(200_000 + bytes.size));
      for (const p of ['/archive/x/ftp.bin', '/plain.bin']) {
        const file = join(dir, 'up.bin');
        await writeFile(file, bytes.get(p)!);
        const up = await curl(['--ftp-create-dirs', '-sS', '-T', file, ftpUrl(c.port, p)]);
        assert.equal(up.code, 0, up.stderr);
      }
      const put = await dav(c.dav.url, 'PUT', '/archive/x/dav.bin', { body: bytes.get('/archive/x/dav.bin')! });
      assert.equal(put.status, 201);
      // COPY out of /archive: the copy takes its new directory's class, not the source's.
      const copy = await dav(c.dav.url, 'COPY', '/archive/x/dav.bin', { headers: { Destination: `${c.dav.url}/copied.bin` } });
      assert.equal(copy.status, 201);
      bytes.set('/copied.bin', bytes.get('/archive/x/dav.bin')!);

      assert.equal(await classOf('/archive/x/ftp.bin'), archive.id);
      assert.equal(await classOf('/archive/x/dav.bin'), archive.id);
      assert.equal(await classOf('/plain.bin'), c.cls.id);
      assert.equal(await classOf('/copied.bin'), c.cls.id);
      // The upload itself writes the class's count: 3 copies on 3 hosts, 2 for the default.
      assert.equal(await onDisk('/archive/x/ftp.bin'), 3);
      assert.equal(await onDisk('/archive/x/dav.bin'), 3);
      assert.equal(await onDisk('/plain.bin'), 2);
      assert.equal(await onDisk('/copied.bin'), 2);

      const info = await adminCli(c.dbUrl, ['file', 'info', '/archive/x/ftp.bin', '--json']);
      assert.equal(info.code, 0, info.stderr);
      const rec = JSON.parse(info.stdout);
      assert.equal(rec.class, 'archive');
      assert.equal(rec.classSource, 'directory');
      assert.equal(rec.classFrom, '/archive');
      const text = await adminCli(c.dbUrl, ['file', 'info', '/plain.bin']);
      assert.match(text.stdout, /class from: the domain default/);
    });

    test('MLST and MLSD show the class as x.class; FEAT advertises it', async () => {
      const r = await ftplib(
        c.port,
        `print(json.dumps({'feat': ftp.sendcmd('FEAT'), 'file': ftp.sendcmd('MLST /archive/x/ftp.bin'), 'dir': ftp.sendcmd('MLST /archive/x'),
  'root': ftp.sendcmd('MLST /'), 'plain': ftp.sendcmd('MLST /plain.bin'), 'list': {n: f for n, f in ftp.mlsd('/archive/x')}, 'top': {n: f for n, f in ftp.mlsd('/')}}))`,
      );
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.match(out.feat, /MLST [^\n]*x\.class\*;/);
      assert.match(out.file, /;x\.class=archive; \/archive\/x\/ftp\.bin/);
      assert.match(out.dir, /type=dir;.*x\.class=archive; \/archive\/x/, 'a directory shows what files created in it get');
      assert.match(out.root, /x\.class=default; \//);
      assert.match(out.plain, /x\.class=default; \/plain\.bin/);
      assert.equal(out.list['ftp.bin']['x.class'], 'archive');
      assert.equal(out.list['dav.bin']['x.class'], 'archive');
      assert.equal(out.top.archive['x.class'], 'archive');
      assert.equal(out.top['plain.bin']['x.class'], 'default');
    });

    test('an overwrite keeps the old file\'s class; a rename into /archive keeps the file\'s class', async () => {
      const again = randomBytes(1000);
      const put = await dav(c.dav.url, 'PUT', '/copied.bin', { body: again });
      assert.equal(put.status, 204);
      bytes.set('/copied.bin', again);
      assert.equal(await classOf('/copied.bin'), c.cls.id);
      const mv = await dav(c.dav.url, 'MOVE', '/copied.bin', { headers: { Destination: `${c.dav.url}/archive/moved.bin` } });
      assert.equal(mv.status, 201);
      bytes.set('/archive/moved.bin', again);
      assert.equal(await classOf('/archive/moved.bin'), c.cls.id);
      // ... and overwriting it there still keeps its own class (set one with admin file set-class).
      assert.equal((await dav(c.dav.url, 'PUT', '/archive/moved.bin', { body: again })).status, 204);
      assert.equal(await classOf('/archive/moved.bin'), c.cls.id);
      assert.equal(await onDisk('/archive/moved.bin'), 2);
    });

    test('file set-class --recursive moves existing files; the jobs trim to 1 copy, then add back to 3', async () => {
      const tree = ['/archive/x/ftp.bin', '/archive/x/dav.bin', '/archive/moved.bin'];
      const noFlag = await adminCli(c.dbUrl, ['file', 'set-class', '/archive', 'single']);
      assert.notEqual(noFlag.code, 0);
      assert.match(noFlag.stderr, /--recursive/);
      const r = await adminCli(c.dbUrl, ['file', 'set-class', '/archive', 'single', '--recursive']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /3 of 3 files below \/archive moved to class single \(mindevcount 1\)/);
      for (const p of tree) assert.equal(await classOf(p), single.id);
      assert.equal(await classOf('/plain.bin'), c.cls.id, 'outside the tree: unchanged');
      await settle(tree, 1);
      assert.equal(await onDisk('/plain.bin'), 2);

      const one = await adminCli(c.dbUrl, ['file', 'set-class', '/archive/x/ftp.bin', 'archive']);
      assert.equal(one.code, 0, one.stderr);
      assert.match(one.stdout, /now in class archive/);
      await settle(['/archive/x/ftp.bin'], 3);
      const info = JSON.parse((await adminCli(c.dbUrl, ['file', 'info', '/archive/moved.bin', '--json'])).stdout);
      assert.equal(info.class, 'single');
      assert.equal(info.classSource, 'file', 'set on the file: not what the directory passes down');
      assert.equal(info.dirClass, 'archive');
    });

    test('clear-class: new files inherit again; a class set on a directory cannot be removed', async () => {
      await store().createClass(c.domainId, 'spare', { mindevcount: 2 });
      assert.equal((await adminCli(c.dbUrl, ['dir', 'set-class', '/archive/x', 'spare'])).code, 0);
      const refused = await adminCli(c.dbUrl, ['class', 'remove', 'default', 'spare']);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /set on directories/);
      assert.equal((await adminCli(c.dbUrl, ['dir', 'set-class', '/archive/x', '--clear'])).code, 0);
      const removed = await adminCli(c.dbUrl, ['class', 'remove', 'default', 'spare']);
      assert.equal(removed.code, 0, removed.stderr);
      const clear = await adminCli(c.dbUrl, ['dir', 'clear-class', '/archive']);
      assert.equal(clear.code, 0, clear.stderr);
      assert.match(clear.stdout, /new files under it get class default \(the domain default\)/);
      bytes.set('/archive/after.bin', randomBytes(5000));
      assert.equal((await dav(c.dav.url, 'PUT', '/archive/after.bin', { body: bytes.get('/archive/after.bin')! })).status, 201);
      assert.equal(await classOf('/archive/after.bin'), c.cls.id);
      assert.equal(await onDisk('/archive/after.bin'), 2);
      const root = await adminCli(c.dbUrl, ['dir', 'set-class', '/', 'archive']);
      assert.notEqual(root.code, 0);
      assert.match(root.stderr, /class modify default default/);
    });
  });
}
