// Silence, not death: a storage node that accepts connections and then takes no bytes and sends
// none (a "black hole" on loopback, so this runs anywhere; network-partition.test.ts does the
// same with real network namespaces). The storage client must blame only the silent node, and
// only while it is really waiting for it: a healthy node that we stopped feeding (because the
// fan-out waits for the slow one, or because the FTP client reads slowly) is not failing.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { StorageClient, type StorageClientOptions } from '../../src/storage/client.ts';
import { type NodeSpec, useCluster } from '../harness/cluster.ts';
import { contentStream, newContent } from './lib/content.ts';
import { trackFigures } from './lib/figures.ts';
import { loggedIn } from './lib/ftp.ts';

const fig = trackFigures('storage-timeouts');
const MiB = 1024 * 1024;
// Short limits keep the test fast; the defaults (15 s stall, 60 s answer) behave the same, slower.
const LIMITS: StorageClientOptions = { connectTimeoutMs: 2000, idleTimeoutMs: 4000, stallTimeoutMs: 2000 };

/** Accepts connections and never reads or answers. */
async function blackHole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    s.pause();
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('silent storage nodes and the storage client timeouts', () => {
  const c = useCluster<NodeSpec>({ db: 'sqlite', nodes: 2, mindevcount: 3, writeQuorum: 2, auth: false });
  let port: number;
  let hole: Awaited<ReturnType<typeof blackHole>>;
  before(async () => {
    hole = await blackHole();
    const root = await mkdtemp(join(tmpdir(), 'mogftp-hole-'));
    await c.addNode({
      address: '127.0.0.1',
      port: hole.port,
      root,
      stop: async () => {
        await hole.close();
        await rm(root, { recursive: true, force: true });
      },
    });
    port = (await c.startFtp({ client: new StorageClient(LIMITS) })).port;
  });

  test('one silent node of three under a STOR: the upload is acknowledged on the two others, promptly', async () => {
    fig.scenario('silent node (accepts, never reads) under a STOR');
    fig.fault();
    const content = newContent(24 * MiB);
    const ftp = await loggedIn(port);
    const t0 = Date.now();
    const r = await ftp.stor('/past-the-hole.bin', contentStream(content.seed, content.size));
    const ms = Date.now() - t0;
    fig.up(r.sent);
    assert.equal(r.final.code, 226, `${r.final.code} ${r.final.text}`);
    assert.ok(ms < 60_000, `took ${ms} ms`);
    assert.equal(await c.checkStored('/past-the-hole.bin', content, 2), null);
    fig.verified();
    const back = await ftp.retr('/past-the-hole.bin');
    fig.down(back.bytes);
    assert.equal(back.sha256, content.sha256);
    await ftp.quit();
  });

  test('a replica on a node gone silent: the RETR fails over to another replica', async () => {
    fig.scenario('silent node serving a RETR');
    fig.fault();
    const content = newContent(4 * MiB);
    // Stored on the two real nodes, then the first one in read order "goes silent": its host
    // record now points at the black hole.
    const ftp = await loggedIn(port);
    assert.equal((await ftp.stor('/read-past.bin', contentStream(content.seed, content.size))).final.code, 226);
    fig.up(content.size);
    const fid = (await c.fidOf('/read-past.bin'))!;
    c.tracker.invalidateDevices();
    const first = c.node((await c.tracker.replicasFor(fid))[0]!.devid);
    await c.store.updateHost(first.hostId, { httpPort: hole.port });
    c.tracker.invalidateDevices();
    try {
      const r = await ftp.retr('/read-past.bin');
      fig.down(r.bytes);
      assert.equal(r.final.code, 226, `${r.final.code} ${r.final.text}`);
      assert.equal(r.sha256, content.sha256);
      fig.verified();
    } finally {
      await c.store.updateHost(first.hostId, { httpPort: first.port });
      c.tracker.invalidateDevices();
    }
    await ftp.quit();
  });

  test('a client that pauses reading longer than the timeouts still gets the whole file from healthy nodes', async () => {
    fig.scenario('slow reader pausing past the storage timeouts');
    const content = newContent(24 * MiB);
    const ftp = await loggedIn(port);
    assert.equal((await ftp.stor('/slow-reader.bin', contentStream(content.seed, content.size))).final.code, 226);
    fig.up(content.size);
    c.tracker.invalidateDevices();
    const data = await ftp.openData();
    let bytes = 0;
    let pauses = 0;
    const hash = createHash('sha256');
    const closed = new Promise((r) => data.once('close', r));
    data.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
      // Two pauses (one per replica), each longer than the client's stall and idle limits.
      if (bytes > (pauses + 1) * 8 * MiB && pauses < 2) {
        pauses++;
        data.pause();
        setTimeout(() => data.resume(), LIMITS.idleTimeoutMs! + 1500);
      }
    });
    const prelim = await ftp.cmd('RETR /slow-reader.bin');
    assert.equal(prelim.code, 150);
    await closed;
    const final = await ftp.next();
    fig.down(bytes);
    assert.equal(final.code, 226, `${final.code} ${final.text}`);
    assert.equal(pauses, 2);
    assert.equal(hash.digest('hex'), content.sha256);
    fig.verified();
    await ftp.quit();
  });
});
