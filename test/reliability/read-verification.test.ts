// Reads never deliver a damaged copy whole (issue 16, item 1). A flipped byte on disk in every
// copy: curl and lftp end with a short file (or none) and a failure exit, not the full-size bad
// file. One bad copy of two: a small file is checked before it is sent, so every RETR gets the
// right bytes and 226; the bad copy is marked in the database by the first read (`admin file
// info` shows it) and fsck replaces it and clears the mark. A large file (over the 8 MiB
// verify-before-send limit) with one bad copy is cut short rather than completed with wrong
// bytes, and the next read goes to the good copy.
import assert from 'node:assert/strict';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fidPath } from '../../src/storage/layout.ts';
import { curl, ftpUrl, lftp } from '../harness/clients.ts';
import { adminCli } from '../harness/admin-cli.ts';
import { useCluster } from '../harness/cluster.ts';
import type { DaemonProcess } from '../harness/daemons.ts';
import { until } from '../harness/wait.ts';
import { contentStream, newContent, type Content } from './lib/content.ts';
import { trackFigures } from './lib/figures.ts';
import { loggedIn } from './lib/ftp.ts';

const MiB = 1024 * 1024;
const SMALL = 1 * MiB;
/** Over the default verify-before-send limit (8 MiB): streamed, its last chunk held back. */
const LARGE = 10 * MiB;

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null; // absent: the client kept nothing
  }
}

for (const db of ['mysql', 'sqlite'] as const) {
  const fig = trackFigures(`read-verification-${db}`);

  describe(`damaged copies are never delivered whole (${db}, 2 nodes, mindevcount 2)`, () => {
    const c = useCluster({ db, nodes: 2, mindevcount: 2, auth: false, tmpDir: 'mogftp-readverify-' });
    let port: number;
    let dir: string;
    let dav: DaemonProcess;
    before(async () => {
      port = (await c.startFtp()).port;
      dav = await c.startDavProcess();
      dir = c.tmpDir;
    });

    async function store(path: string, content: Content): Promise<number> {
      const ftp = await loggedIn(port);
      assert.equal((await ftp.stor(path, contentStream(content.seed, content.size))).final.code, 226);
      await ftp.quit();
      fig.up(content.size);
      return (await c.fidOf(path))!;
    }

    /** Flips one byte of the copy on `devid` (the file on the node's disk). */
    async function flip(fid: number, devid: number, at: number): Promise<void> {
      const node = c.node(devid);
      const fh = await open(join(node.root, fidPath(devid, fid)), 'r+');
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, at);
      b[0] = b[0]! ^ 0x20;
      await fh.write(b, 0, 1, at);
      await fh.close();
      fig.fault();
    }

    /** The devices in the order this front-end reads them: the first is damaged so the first read meets it. */
    async function readOrder(fid: number): Promise<number[]> {
      c.tracker.invalidateDevices();
      return (await c.tracker.replicasFor(fid)).map((t) => t.devid);
    }

    for (const size of [SMALL, LARGE]) {
      test(`every copy bad, ${size / MiB} MiB: curl (FTP and WebDAV), lftp get and lftp mirror do not end with a full-size file`, async () => {
        fig.scenario(`every copy with a flipped byte, ${size / MiB} MiB: curl (FTP, WebDAV), lftp get, lftp mirror`);
        const content = newContent(size);
        const folder = `/allbad-${size}`;
        const mk = await loggedIn(port);
        assert.equal((await mk.cmd(`MKD ${folder}`)).code, 257);
        await mk.quit();
        const path = `${folder}/file.bin`;
        const fid = await store(path, content);
        for (const devid of await readOrder(fid)) await flip(fid, devid, size - 10);

        const viaCurl = join(dir, `curl-${size}.bin`);
        const r = await curl(['-o', viaCurl, ftpUrl(port, path)]);
        const got = await sizeOf(viaCurl);
        fig.down(got ?? 0);
        assert.notEqual(r.code, 0, `curl exit 0: ${r.stderr}`);
        assert.ok(got === null || got < size, `curl kept ${got} of ${size} bytes`);
        if (got === size) fig.wrong(size);

        const viaLftp = join(dir, `lftp-${size}.bin`);
        const l = await lftp(port, `get ${path} -o ${viaLftp}`, { timeoutMs: 120_000 });
        const lgot = await sizeOf(viaLftp);
        fig.down(lgot ?? 0);
        assert.notEqual(l.code, 0, `lftp exit 0: ${l.stdout} ${l.stderr}`);
        assert.ok(lgot === null || lgot < size, `lftp kept ${lgot} of ${size} bytes`);
        if (lgot === size) fig.wrong(size);

        // WebDAV: the connection is cut before the last bytes.
        const viaDav = join(dir, `dav-${size}.bin`);
        const d = await curl(['-u', 'demo:demo', '-o', viaDav, `${dav.url}${path}`]);
        const dgot = await sizeOf(viaDav);
        fig.down(dgot ?? 0);
        assert.notEqual(d.code, 0, `curl over WebDAV exit 0: ${d.stderr}`);
        assert.ok(dgot === null || dgot < size, `curl over WebDAV kept ${dgot} of ${size} bytes`);
        if (dgot === size) fig.wrong(size);

        // `lftp mirror` kept the full-size bad file and exited 0 before (issue 16).
        const mirrored = join(dir, `mirror-${size}`);
        const m = await lftp(port, `mirror ${folder} ${mirrored}`, { timeoutMs: 120_000 });
        const mgot = await sizeOf(join(mirrored, 'file.bin'));
        fig.down(mgot ?? 0);
        assert.notEqual(m.code, 0, `lftp mirror exit 0: ${m.stdout} ${m.stderr}`);
        assert.ok(mgot === null || mgot < size, `lftp mirror kept ${mgot} of ${size} bytes`);
        if (mgot === size) fig.wrong(size);
      });
    }

    test('one of two copies bad, small file: 6 RETRs all right with 226; the copy is marked, shown, then repaired by fsck', async () => {
      fig.scenario('one bad copy of two, 1 MiB, 6 RETRs, then fsck');
      const content = newContent(SMALL);
      const path = '/onebad-small.bin';
      const fid = await store(path, content);
      const [bad, good] = (await readOrder(fid)) as [number, number];
      await flip(fid, bad, 12_345);

      const ftp = await loggedIn(port);
      for (let i = 0; i < 6; i++) {
        const r = await ftp.retr(path);
        fig.down(r.bytes);
        if (r.final.code === 226 && r.sha256 !== content.sha256) fig.wrong(r.bytes);
        assert.equal(r.final.code, 226, `RETR ${i + 1}: ${r.final.code} ${r.final.text}`);
        assert.equal(r.sha256, content.sha256, `RETR ${i + 1}: wrong bytes`);
        if (i === 0) {
          const marks = await c.store.badReplicasOf(fid);
          assert.deepEqual(marks.map((m) => m.devid), [bad], 'the first read marked the damaged copy');
          assert.match(marks[0]!.reason, /sha256 mismatch/);
        }
      }
      await ftp.quit();
      assert.deepEqual((await readOrder(fid))[0], good, 'reads put the marked copy last');

      const info = await adminCli(c.dbUrl, ['file', 'info', path]);
      assert.equal(info.code, 0, info.stderr);
      assert.match(info.stdout, new RegExp(`device ${bad} [^\\n]*\\n\\s+BAD: sha256 mismatch`), info.stdout);
      const json = JSON.parse((await adminCli(c.dbUrl, ['file', 'info', path, '--json'])).stdout) as { replicas: { devid: number; bad: { reason: string } | null }[] };
      assert.deepEqual(json.replicas.map((r) => [r.devid, r.bad?.reason ?? null]).sort(), [[bad, 'sha256 mismatch'], [good, null]].sort());

      // fsck (queued by the read) drops the bad copy, replication writes a good one, the mark goes.
      const jobs = c.startJobs();
      try {
        await until('the damaged copy replaced and its mark cleared', async () => {
          const onDisk = await c.replicasOnDisk(fid);
          return (
            onDisk.length === 2 &&
            onDisk.every((x) => x.sha256 === content.sha256) &&
            (await c.store.badReplicasOf(fid)).length === 0 &&
            (await c.checkStored(path, content, 2)) === null
          );
        }, 60_000, 250);
        await c.drained();
      } finally {
        await jobs.stop();
      }
      const events = await c.store.listFsckEvents({ fid, limit: 100 });
      assert.ok(events.some((e) => e.code === 'GONE' && e.devid === bad), JSON.stringify(events));
      fig.verified();
    });

    test('a node that is down marks nothing: only evidence about the bytes does', async () => {
      fig.scenario('node down during reads: no copy marked bad');
      const content = newContent(SMALL);
      const path = '/node-down.bin';
      const fid = await store(path, content);
      const [first] = (await readOrder(fid)) as [number, number];
      const victim = c.node(first);
      await victim.kill!('SIGKILL');
      fig.fault();
      try {
        const ftp = await loggedIn(port);
        const r = await ftp.retr(path);
        fig.down(r.bytes);
        await ftp.quit();
        assert.equal(r.final.code, 226, `${r.final.code} ${r.final.text}`);
        assert.equal(r.sha256, content.sha256);
        assert.deepEqual(await c.store.badReplicasOf(fid), [], 'a refused connection marked a copy bad');
      } finally {
        await victim.restart!();
        c.tracker.invalidateDevices();
      }
    });

    test('one of two copies bad, large file (over the limit): never completed with wrong bytes; the next read is right', async () => {
      fig.scenario(`one bad copy of two, ${LARGE / MiB} MiB (streamed, last chunk held back)`);
      const content = newContent(LARGE);
      const path = '/onebad-large.bin';
      const fid = await store(path, content);
      const [bad] = (await readOrder(fid)) as [number, number];
      await flip(fid, bad, LARGE - 100);

      const ftp = await loggedIn(port);
      const first = await ftp.retr(path);
      fig.down(first.bytes);
      if (first.final.code === 226) {
        if (first.sha256 !== content.sha256) fig.wrong(first.bytes);
        assert.equal(first.sha256, content.sha256, 'a 226 came with wrong bytes');
      } else {
        assert.ok(first.bytes < LARGE, `a failed read delivered all ${first.bytes} bytes`);
        assert.match(String(first.final.code), /^4[25]/, `${first.final.code} ${first.final.text}`);
      }
      assert.deepEqual((await c.store.badReplicasOf(fid)).map((m) => m.devid), [bad], 'the read marked the damaged copy');
      for (let i = 0; i < 2; i++) {
        const r = await ftp.retr(path);
        fig.down(r.bytes);
        assert.equal(r.final.code, 226, `${r.final.code} ${r.final.text}`);
        assert.equal(r.sha256, content.sha256);
      }
      await ftp.quit();
    });
  });
}
