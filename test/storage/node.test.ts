// The storage-node conformance suite against (a) our `mogftp storage` as a real child process
// and (b) nginx with WebDAV; then what only our daemon does: ENOSPC, graceful shutdown, CLI.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { ErrorCodes, isMogError } from '../../src/errors.ts';
import { StorageClient, httpStatusOf } from '../../src/storage/client.ts';
import { fidPath } from '../../src/storage/layout.ts';
import { NGINX, startNginxNode, startNodeProcess } from '../harness/nodes.ts';
import type { NodeHandle } from '../harness/nodes.ts';
import { filesUnder, partialFiles, runNodeConformance, sleep, waitFor } from './node.conformance.ts';

runNodeConformance({
  name: 'mogftp storage',
  caps: {
    checksums: true,
    usage: true,
    strictPaths: true,
    auth: 'signature',
    refusesUnknownDevice: true,
    symlinkSafeWrites: true,
    tempBesideTarget: true,
  },
  start: (opts) => startNodeProcess({ devids: [1], ...opts }),
});

if (existsSync(NGINX)) {
  runNodeConformance({
    name: 'nginx (WebDAV)',
    caps: {
      checksums: false,
      usage: false,
      strictPaths: false,
      auth: 'header',
      refusesUnknownDevice: false,
      symlinkSafeWrites: false,
      tempBesideTarget: false,
    },
    start: (opts) => startNginxNode({ devids: [1], keyFile: opts.keyFile }),
  });
} else {
  test('nginx conformance', (t) => t.skip(`${NGINX} is not installed`));
}

/** Starts a PUT of `total` bytes and sends the first `first` of them; the caller finishes it. */
function partialPut(node: NodeHandle, fid: number, total: number, first: number) {
  const req = http.request({ host: '127.0.0.1', port: node.port, path: fidPath(1, fid), method: 'PUT', agent: false, headers: { 'content-length': total } });
  const answer = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
  answer.catch(() => {});
  req.write(randomBytes(first));
  return { req, answer };
}

function exited(node: NodeHandle): Promise<number | null> {
  const p = node.proc;
  if (p.exitCode !== null) return Promise.resolve(p.exitCode);
  return new Promise((resolve) => p.once('exit', (code) => resolve(code)));
}

describe('mogftp storage daemon', () => {
  test('ENOSPC mid-upload answers 507 and leaves nothing', async (t) => {
    const node = await startNodeProcess();
    const dev = join(node.root, 'dev7');
    mkdirSync(dev);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dev]).status === 0;
    const client = new StorageClient();
    try {
      if (!mounted) {
        t.skip('needs permission to mount a small tmpfs');
        return;
      }
      const url = node.url + fidPath(7, 1);
      await assert.rejects(client.put(url, randomBytes(1024 * 1024)), (e) => isMogError(e, ErrorCodes.DEVICE_FULL));
      // Without a length too (chunked), and the device still takes a small file afterwards.
      await assert.rejects(client.put(url, Readable.from([randomBytes(1024 * 1024)])), (e) => isMogError(e, ErrorCodes.DEVICE_FULL));
      assert.deepEqual(await filesUnder(dev), []);
      assert.equal((await client.put(url, Buffer.from('fits'))).length, 4);
    } finally {
      client.close();
      if (mounted) spawnSync('umount', ['-l', dev]);
      await node.stop();
    }
  });

  test('SIGTERM: stops accepting, lets an in-flight upload finish, then exits 0', async () => {
    const node = await startNodeProcess({ devids: [1], graceSeconds: 5 });
    try {
      const { req, answer } = partialPut(node, 1, 200_000, 100_000);
      await waitFor('the upload to start', async () => (await filesUnder(join(node.root, 'dev1'))).length > 0);
      const exit = exited(node);
      node.proc.kill('SIGTERM');
      await sleep(300);
      await assert.rejects(
        new Promise((resolve, reject) => http.get(`${node.url}/dev1/usage`, resolve).on('error', reject)),
        /ECONNREFUSED/,
        'a stopping node accepts no new connection',
      );
      req.end(randomBytes(100_000));
      assert.equal(await answer, 201);
      assert.equal(await exit, 0);
      assert.equal(existsSync(join(node.root, fidPath(1, 1))), true);
    } finally {
      await node.stop();
    }
  });

  test('SIGTERM: an upload still running after the grace period is cut off and its temp file removed', async () => {
    const node = await startNodeProcess({ devids: [1], graceSeconds: 1 });
    try {
      const { answer } = partialPut(node, 2, 1_000_000, 100_000);
      await waitFor('the upload to start', async () => (await filesUnder(join(node.root, 'dev1'))).length > 0);
      const started = Date.now();
      const exit = exited(node);
      node.proc.kill('SIGTERM');
      assert.equal(await exit, 0);
      assert.ok(Date.now() - started < 4500, `took ${Date.now() - started} ms to exit`);
      await assert.rejects(answer);
      assert.deepEqual(await filesUnder(join(node.root, 'dev1')), []);
    } finally {
      await node.stop();
    }
  });

  test('a download abandoned midway leaves no request behind (shutdown is immediate)', async () => {
    const node = await startNodeProcess({ devids: [1], graceSeconds: 5 });
    const client = new StorageClient();
    try {
      const url = node.url + fidPath(1, 4);
      await client.put(url, randomBytes(32 * 1024 * 1024));
      await new Promise<void>((resolve, reject) => {
        http.get(url, { agent: false }, (res) => {
          res.once('data', () => {
            res.destroy();
            resolve();
          });
        }).on('error', reject);
      });
      await sleep(200);
      const started = Date.now();
      const exit = exited(node);
      node.proc.kill('SIGTERM');
      assert.equal(await exit, 0);
      assert.ok(Date.now() - started < 2000, `shutdown waited ${Date.now() - started} ms for an abandoned download`);
    } finally {
      client.close();
      await node.stop();
    }
  });

  test('devices come and go at runtime: a new one is served at once, a removed one is never re-created', async () => {
    const node = await startNodeProcess({ devids: [1] });
    const client = new StorageClient();
    try {
      await client.put(node.url + fidPath(1, 5), Buffer.from('one'));
      node.addDevice(8);
      assert.equal((await client.put(node.url + fidPath(8, 5), Buffer.from('eight'))).length, 5);
      rmSync(join(node.root, 'dev1'), { recursive: true });
      await assert.rejects(client.put(node.url + fidPath(1, 6), Buffer.from('x')), (e) => httpStatusOf(e) === 404);
      assert.equal(existsSync(join(node.root, 'dev1')), false);
    } finally {
      client.close();
      await node.stop();
    }
  });

  test('harness restart() brings the node back on the same port and root', async () => {
    const node = await startNodeProcess({ devids: [1] });
    const client = new StorageClient();
    try {
      const url = node.url + fidPath(1, 3);
      await client.put(url, Buffer.from('kept'));
      const port = node.port;
      await node.kill();
      await assert.rejects(client.head(url), (e) => isMogError(e, ErrorCodes.NODE_UNAVAILABLE));
      await node.restart();
      assert.equal(node.port, port);
      assert.deepEqual(await client.head(url), { length: 4 });
    } finally {
      client.close();
      await node.stop();
    }
  });

  test('SIGKILL mid-PUT: the partial replica and temp file are never served and go with the next PUT after the restart', async () => {
    const node = await startNodeProcess({ devids: [1] });
    const client = new StorageClient();
    const dev = join(node.root, 'dev1');
    try {
      await client.put(node.url + fidPath(1, 10), Buffer.from('whole'));
      // fid 11 is new (written under its final name); fid 10 exists (rewritten through a temp file).
      const fresh = partialPut(node, 11, 1_000_000, 200_000);
      const again = partialPut(node, 10, 1_000_000, 200_000);
      await waitFor('both partial files', async () => (await partialFiles(dev)).length === 2);
      await node.kill();
      await Promise.allSettled([fresh.answer, again.answer]);
      assert.equal((await partialFiles(dev)).length, 2, 'SIGKILL leaves its partial files behind');
      await sleep(20); // the restarted node sweeps only files older than its start
      await node.restart();
      assert.equal(await client.head(node.url + fidPath(1, 11)), null, 'a partial replica is absent');
      assert.deepEqual(await client.head(node.url + fidPath(1, 10)), { length: 5 }, 'the old copy is intact');
      await client.put(node.url + fidPath(1, 12), Buffer.from('next'));
      await waitFor('the sweep', async () => (await partialFiles(dev)).length === 0);
      assert.deepEqual(await filesUnder(dev), [fidPath(1, 10), fidPath(1, 12)].map((p) => p.slice('/dev1/'.length)));
    } finally {
      client.close();
      await node.stop();
    }
  });

  test('CLI: refuses a missing root or a bad --listen with a one-line error', async () => {
    const run = promisify(execFile);
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'mogftp.js');
    const dir = mkdtempSync(join(tmpdir(), 'mogftp-cli-'));
    writeFileSync(join(dir, 'short.key'), 'too-short\n', { mode: 0o600 });
    try {
      for (const [args, pattern] of [
        [['--root', join(dir, 'nope'), '--listen', '127.0.0.1:0', '--insecure-no-auth'], /storage root .* is not a usable directory/],
        [['--root', dir, '--listen', 'nonsense'], /listen .*Bad listen address "nonsense": expected HOST:PORT/],
        [['--root', dir, '--listen', '127.0.0.1:0'], /needs the cluster storage key: --key-file FILE/],
        [['--root', dir, '--listen', '0.0.0.0:0', '--insecure-no-auth'], /--insecure-no-auth is only allowed on a loopback address/],
        [['--root', dir, '--listen', '127.0.0.1:0', '--key-file', join(dir, 'absent.key')], /cannot read the storage key file .*absent\.key/],
        [['--root', dir, '--listen', '127.0.0.1:0', '--key-file', join(dir, 'short.key')], /at least 32 characters/],
        [['--root', dir, '--listen', '127.0.0.1:0', '--key-file', join(dir, 'short.key'), '--insecure-no-auth'], /exclude each other/],
      ] as const) {
        const r = await run(process.execPath, [bin, 'storage', ...args]).then(
          () => null,
          (e: { code: number; stderr: string }) => e,
        );
        assert.ok(r, `${args.join(' ')} should fail`);
        assert.equal(r.code, 1);
        assert.match(r.stderr, pattern);
        assert.equal(r.stderr.trim().split('\n').length, 1);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
