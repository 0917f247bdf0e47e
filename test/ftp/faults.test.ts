// Storage nodes failing around transfers: stopped before a STOR, killed during a STOR and
// during a RETR, and an under-replicated upload topped up by the jobs once its node is back.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { startJobs } from '../../src/jobs/index.ts';
import { curl, ftpUrl, spawnClient } from '../harness/clients.ts';
import { BACKENDS, sha256, useCluster } from '../harness/cluster.ts';
import { sleep, until } from '../harness/wait.ts';

for (const backend of BACKENDS) {
  describe(`storage faults around transfers on ${backend}`, () => {
    const c = useCluster({ db: backend, ftp: true, tmpDir: 'mogftp-faults-' });
    let dir: string;
    before(() => (dir = c.tmpDir));

    test('with one of three nodes down, uploads still land on two live hosts', async () => {
      const down = c.nodes[0]!;
      await down.kill('SIGKILL');
      try {
        for (let i = 0; i < 6; i++) {
          const data = randomBytes(64 * 1024 + i);
          const r = await curl(['-T', '-', ftpUrl(c.port, `/while-down-${i}.bin`)], { input: data });
          assert.equal(r.code, 0, `upload ${i}: ${r.stderr}`);
          const replicas = await c.replicasOnDisk(`/while-down-${i}.bin`);
          assert.equal(replicas.length, 2);
          assert.ok(replicas.every((x) => x.devid !== down.devid && x.sha256 === sha256(data)));
        }
      } finally {
        await down.restart();
        c.services.tracker.invalidateDevices();
      }
    });

    test('a target node killed mid-STOR below the write quorum fails the upload and leaves nothing', async () => {
      const child = spawnClient('curl', ['-sS', '-T', '-', ftpUrl(c.port, '/mid-stor.bin')]);
      child.stdout!.resume();
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
      child.stdin!.on('error', () => {}); // curl may quit before we stop writing
      child.stdin!.write(randomBytes(512 * 1024));
      let reservation = null as null | { fid: number; devids: number[] };
      await until('the upload to be reserved', async () => {
        reservation = (await c.services.store.staleReservations(Date.now() + 1000, 10))[0] ?? null;
        return reservation !== null;
      });
      await sleep(300);
      const victim = c.nodes.find((n) => n.devid === reservation!.devids[0])!;
      await victim.kill('SIGKILL');
      try {
        // Keep sending: the server must refuse the rest, not pretend.
        for (let i = 0; i < 8 && child.stdin!.writable; i++) {
          child.stdin!.write(randomBytes(256 * 1024));
          await sleep(50);
        }
        child.stdin!.end();
        const code = await exited;
        assert.notEqual(code, 0, 'curl reports the failure');
        assert.match(stderr, /45\d|426|Send failure|Upload failed/i, stderr);
        assert.equal(await c.fidOf('/mid-stor.bin'), null, 'nothing is visible');
        await until('the reservation to be released', async () => (await c.services.store.getReservation(reservation!.fid)) === null, 10_000);
      } finally {
        await victim.restart();
        c.services.tracker.invalidateDevices();
      }
    });

    test('the node serving a RETR killed mid-stream: the download continues from another replica', async () => {
      const data = randomBytes(24 * 1024 * 1024);
      await writeFile(join(dir, 'big.bin'), data);
      const up = await curl(['-T', join(dir, 'big.bin'), ftpUrl(c.port, '/retr-failover.bin')]);
      assert.equal(up.code, 0, up.stderr);
      const fid = (await c.fidOf('/retr-failover.bin'))!;
      const first = (await c.services.tracker.replicasFor(fid))[0]!;
      const victim = c.nodes.find((n) => n.devid === first.devid)!;
      const download = curl(['--limit-rate', '8M', ftpUrl(c.port, '/retr-failover.bin'), '-o', join(dir, 'big.out')]);
      await sleep(1000);
      await victim.kill('SIGKILL');
      try {
        const r = await download;
        assert.equal(r.code, 0, r.stderr);
        assert.equal(sha256(await readFile(join(dir, 'big.out'))), sha256(data), 'the same bytes, whole');
      } finally {
        await victim.restart();
        c.services.tracker.invalidateDevices();
      }
    });
  });

  describe(`write quorum below the replica count on ${backend}`, () => {
    const c = useCluster({ db: backend, nodes: 2, mindevcount: 2, writeQuorum: 1, ftp: true });

    test('an upload made while a node is down is acknowledged at quorum and topped up when the node returns', async () => {
      const down = c.nodes[1]!;
      await down.kill('SIGKILL');
      const data = randomBytes(200_000);
      const r = await curl(['-T', '-', ftpUrl(c.port, '/topped-up.bin')], { input: data });
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await c.replicasOnDisk('/topped-up.bin')).length, 1, 'one replica at first');
      const jobs = startJobs(c.services.store, { client: c.services.client, monitorIntervalMs: 500, pollMs: 200, backoffScale: 0.001 });
      try {
        await down.restart();
        await until('the second replica', async () => (await c.replicasOnDisk('/topped-up.bin')).length === 2);
        const replicas = await c.replicasOnDisk('/topped-up.bin');
        assert.ok(replicas.every((x) => x.sha256 === sha256(data)));
        assert.equal(new Set(replicas.map((x) => x.hostId)).size, 2);
        const fid = (await c.fidOf('/topped-up.bin'))!;
        await until('devcount 2 in the store', async () => (await c.services.store.getFile(fid))?.devcount === 2);
      } finally {
        await jobs.stop();
      }
    });
  });
}
