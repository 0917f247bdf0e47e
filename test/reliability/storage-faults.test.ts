// Storage nodes failing under transfers (issue 8, faults 1, 2, 8 and 10), beyond what
// test/ftp/faults.test.ts covers: a node SIGKILLed mid-STOR with the write quorum still met,
// several downloads at once losing their node, damaged replicas on disk, and a device marked dead
// while uploads run. Each: no acknowledged byte lost, no wrong byte served, the service goes on.
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fidPath } from '../../src/storage/layout.ts';
import { curl, ftpUrl } from '../harness/clients.ts';
import { useCluster } from '../harness/cluster.ts';
import { sleep, until } from '../harness/wait.ts';
import { contentStream, gated, newContent, sha256, type Content } from './lib/content.ts';
import { trackFigures } from './lib/figures.ts';
import { loggedIn } from './lib/ftp.ts';

const fig = trackFigures('storage-faults');
const MiB = 1024 * 1024;

/** Yields `content`, pausing once after `pauseAt` bytes until `gate` resolves. */

describe('storage node faults (mindevcount 3, write quorum 2, 3 nodes)', () => {
  const c = useCluster({ db: 'mysql', nodes: 3, mindevcount: 3, writeQuorum: 2, auth: false });
  let port: number;
  let dir: string;
  const damaged = new Map<string, Content>();
  before(async () => {
    port = (await c.startFtp()).port;
    dir = await mkdtemp(join(tmpdir(), 'mogftp-rel-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a node SIGKILLed mid-STOR with the quorum still met: 226, readable at once, topped up to 3 by the jobs', async () => {
    fig.scenario('node SIGKILLed mid-STOR, quorum met');
    const content = newContent(12 * MiB);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reachedPause!: () => void;
    const paused = new Promise<void>((r) => (reachedPause = r));
    const ftp = await loggedIn(port);
    const upload = ftp.stor('/quorum-met.bin', gated(content, 4 * MiB, gate, reachedPause));
    await paused;
    // Bytes have reached every node (their temp files grow) before the kill.
    const victim = c.nodes[1]!;
    await until('bytes on the victim node', async () => (await c.filesOnDisk()).temps.some((t) => t.startsWith(victim.devDir)));
    await victim.kill!('SIGKILL');
    fig.fault();
    release();
    const r = await upload;
    fig.up(r.sent);
    assert.equal(r.final.code, 226, `${r.final.code} ${r.final.text}`);
    await ftp.quit();

    const fid = (await c.fidOf('/quorum-met.bin'))!;
    assert.ok(fid, 'the file is visible');
    assert.deepEqual((await c.store.replicasOf(fid)).sort(), c.nodes.filter((n) => n !== victim).map((n) => n.devid).sort());
    assert.equal(await c.checkStored('/quorum-met.bin', content, 2), null);

    const reader = await loggedIn(port);
    const down = await reader.retr('/quorum-met.bin');
    fig.down(down.bytes);
    assert.equal(down.final.code, 226);
    assert.equal(down.sha256, content.sha256, 'the same bytes while one replica is missing');
    await reader.quit();

    await victim.restart!();
    c.tracker.invalidateDevices();
    const jobs = c.startJobs();
    try {
      await until('the third replica', async () => (await c.store.replicasOf(fid)).length === 3, 60_000);
      await c.drained();
      assert.equal(await c.checkStored('/quorum-met.bin', content, 3), null);
      fig.verified();
      assert.equal((await c.store.getFile(fid))?.devcount, 3);
      // The killed node's half-written temp file does not stay behind once it writes there again.
      await until('no orphan or temp file on any node', async () => (await c.orphans()).length === 0, 10_000);
    } finally {
      await jobs.stop();
    }
  });

  test('several downloads at once lose the node they read from: each continues from another replica, same bytes', async () => {
    fig.scenario('node SIGKILLed under 6 concurrent RETRs');
    const files = [newContent(10 * MiB + 3), newContent(9 * MiB + 11)];
    for (const [i, f] of files.entries()) {
      const ftp = await loggedIn(port);
      const r = await ftp.stor(`/many-${i}.bin`, contentStream(f.seed, f.size));
      fig.up(r.sent);
      assert.equal(r.final.code, 226);
      await ftp.quit();
    }
    const fid0 = (await c.fidOf('/many-0.bin'))!;
    c.tracker.invalidateDevices();
    const first = (await c.tracker.replicasFor(fid0))[0]!;
    const victim = c.node(first.devid);
    const downloads = Array.from({ length: 6 }, (_, i) =>
      curl(['--limit-rate', '3M', ftpUrl(port, `/many-${i % 2}.bin`), '-o', join(dir, `many-${i}.out`)]),
    );
    await sleep(1200);
    await victim.kill!('SIGKILL');
    fig.fault();
    try {
      const results = await Promise.all(downloads);
      for (const [i, r] of results.entries()) {
        assert.equal(r.code, 0, `download ${i}: ${r.stderr}`);
        const got = sha256(await readFile(join(dir, `many-${i}.out`)));
        fig.down(files[i % 2]!.size);
        if (got !== files[i % 2]!.sha256) fig.wrong();
        assert.equal(got, files[i % 2]!.sha256, `download ${i}: the same bytes, whole`);
      }
      fig.verified(6);
    } finally {
      await victim.restart!();
      c.tracker.invalidateDevices();
    }
  });

  test('a truncated replica is never served: the read fails over to a whole one', async () => {
    fig.scenario('truncated replica on disk');
    const content = newContent(3 * MiB + 5);
    const ftp = await loggedIn(port);
    assert.equal((await ftp.stor('/truncated.bin', contentStream(content.seed, content.size))).final.code, 226);
    fig.up(content.size);
    const fid = (await c.fidOf('/truncated.bin'))!;
    c.tracker.invalidateDevices();
    // Every replica but the last in read order: the first cut at 1 MiB, any other cut to nothing.
    const targets = await c.tracker.replicasFor(fid);
    assert.ok(targets.length >= 2, 'two replicas at least');
    for (const [i, target] of targets.slice(0, -1).entries()) {
      const node = c.node(target.devid);
      await truncate(join(node.root, fidPath(node.devid, fid)), i === 0 ? 1 * MiB : 0);
      fig.fault();
    }
    const fsckBefore = await c.store.queueDepth('fsck');
    const r = await ftp.retr('/truncated.bin');
    fig.down(r.bytes);
    assert.equal(r.final.code, 226, `${r.final.code} ${r.final.text}`);
    assert.equal(r.sha256, content.sha256, 'the whole file, from the replica that is whole');
    fig.verified();
    await ftp.quit();
    assert.ok((await c.store.queueDepth('fsck')) > fsckBefore, 'the short copies were reported for fsck');
    damaged.set('/truncated.bin', content);
  });

  test('a flipped byte is never served as a good transfer (426), and the fid is queued for fsck', async () => {
    fig.scenario('flipped byte in a replica');
    const content = newContent(2 * MiB);
    const ftp = await loggedIn(port);
    assert.equal((await ftp.stor('/flipped.bin', contentStream(content.seed, content.size))).final.code, 226);
    fig.up(content.size);
    const fid = (await c.fidOf('/flipped.bin'))!;
    c.tracker.invalidateDevices();
    // Damage every replica but one, each at another offset: whichever is read first is bad.
    const targets = await c.tracker.replicasFor(fid);
    for (const [i, target] of targets.slice(0, -1).entries()) {
      const node = c.node(target.devid);
      const fh = await open(join(node.root, fidPath(node.devid, fid)), 'r+');
      const at = 1000 + i * 777_777;
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, at);
      b[0] = b[0]! ^ 0x20;
      await fh.write(b, 0, 1, at);
      await fh.close();
      fig.fault();
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      const r = await ftp.retr('/flipped.bin');
      fig.down(r.bytes);
      if (r.final.code === 226) {
        if (r.sha256 !== content.sha256) fig.wrong(r.bytes);
        assert.equal(r.sha256, content.sha256, 'a 226 only ever comes with the right bytes');
      } else assert.equal(r.final.code, 426, `${r.final.code} ${r.final.text}`);
    }
    await ftp.quit();
    const queued = await c.store.claim('fsck', 'reliability-observer', { limit: 100, leaseMs: 1, now: Date.now() });
    assert.ok(queued.some((q) => q.fid === fid), 'the bad replica was reported for fsck');
    damaged.set('/flipped.bin', content);
  });

  test(
    'a resumed download (REST) from a replica with a flipped byte is not served as a good transfer',
    async () => {
      const content = newContent(1 * MiB);
      const ftp = await loggedIn(port);
      assert.equal((await ftp.stor('/resumed.bin', contentStream(content.seed, content.size))).final.code, 226);
      const fid = (await c.fidOf('/resumed.bin'))!;
      c.tracker.invalidateDevices();
      for (const target of await c.tracker.replicasFor(fid)) {
        const node = c.node(target.devid);
        const fh = await open(join(node.root, fidPath(node.devid, fid)), 'r+');
        await fh.write(Buffer.from([0x55]), 0, 1, 500_000);
        await fh.close();
      }
      assert.equal((await ftp.cmd('REST 1000')).code, 350);
      const r = await ftp.retr('/resumed.bin');
      assert.equal((await ftp.cmd('DELE /resumed.bin')).code, 250);
      await ftp.quit();
      assert.notEqual(r.final.code, 226, 'damaged bytes after a REST came with 226');
    },
  );

  test('fsck, fed by those reads, repairs both files: every copy whole again, mindevcount copies', async () => {
    fig.scenario('fsck repairs the damaged replicas');
    assert.equal(damaged.size, 2);
    const jobs = c.startJobs();
    try {
      for (const [path, content] of damaged) {
        const fid = (await c.fidOf(path))!;
        await until(`${path} repaired`, async () => {
          const onDisk = await c.replicasOnDisk(fid);
          return onDisk.length === 3 && onDisk.every((x) => x.sha256 === content.sha256) && (await c.checkStored(path, content, 3)) === null;
        }, 60_000, 250);
        const ftp = await loggedIn(port);
        const r = await ftp.retr(path);
        fig.down(r.bytes);
        assert.equal(r.final.code, 226);
        assert.equal(r.sha256, content.sha256);
        await ftp.quit();
        fig.verified();
      }
      await c.drained();
    } finally {
      await jobs.stop();
    }
  });
});

describe('a device marked dead while uploads run (mindevcount 2, 3 nodes)', () => {
  const c = useCluster({ db: 'sqlite', nodes: 3, mindevcount: 2, auth: false });
  let port: number;
  before(async () => {
    port = (await c.startFtp()).port;
  });

  test('every file acknowledged before, during and after ends at mindevcount on live devices', async () => {
    fig.scenario('device marked dead under 6 concurrent uploaders');
    const jobs = c.startJobs();
    const stored = new Map<string, Content>();
    const dead = c.nodes[0]!;
    let markDead!: () => void;
    const marked = new Promise<void>((r) => (markDead = r));
    const worker = async (w: number) => {
      const ftp = await loggedIn(port);
      for (let i = 0; i < 6; i++) {
        const content = newContent(256 * 1024 + ((w * 7 + i) % 5) * 700_000);
        const path = `/dead-${w}-${i}.bin`;
        // The middle uploads straddle the moment the device dies.
        const body = i === 2 ? gated(content, 128 * 1024, marked) : contentStream(content.seed, content.size);
        const r = await ftp.stor(path, body);
        fig.up(r.sent);
        assert.equal(r.final.code, 226, `${path}: ${r.final.code} ${r.final.text}`);
        stored.set(path, content);
      }
      await ftp.quit();
    };
    const workers = Array.from({ length: 6 }, (_, w) => worker(w));
    await until('some uploads to be under way', async () => stored.size >= 6);
    await c.store.updateDevice(dead.devid, { status: 'dead' });
    fig.fault();
    markDead();
    await Promise.all(workers);
    await until(
      'no replica left on the dead device',
      async () => (await c.store.fidsOnDevice(dead.devid, 0, 10)).length === 0,
      60_000,
    );
    await c.drained();
    await jobs.stop();
    c.nodes.splice(c.nodes.indexOf(dead), 1); // its bytes no longer count
    for (const [path, content] of stored) {
      assert.equal(await c.checkStored(path, content, 2), null);
      const fid = (await c.fidOf(path))!;
      assert.equal((await c.store.replicasOf(fid)).length, 2, `${path}: exactly mindevcount replicas`);
      fig.verified();
    }
    const ftp = await loggedIn(port);
    for (const [path, content] of [...stored].slice(0, 6)) {
      const r = await ftp.retr(path);
      fig.down(r.bytes);
      assert.equal(r.sha256, content.sha256);
    }
    await ftp.quit();
  });
});

