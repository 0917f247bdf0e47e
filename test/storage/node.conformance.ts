// One conformance suite for storage nodes, run against our `mogftp storage` and against nginx
// (WebDAV). What a backend cannot do is declared in its capabilities, and the suite then asserts
// the documented fallback instead of skipping.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import http from 'node:http';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { ErrorCodes, isMogError } from '../../src/errors.ts';
import { NGINX_HEADER, authorizationForTarget, readStorageKeyFile, signUrl, storageKeyFrom, type StorageKey } from '../../src/storage/auth.ts';
import { StorageClient, httpStatusOf } from '../../src/storage/client.ts';
import { IN_PROGRESS_MODE, fidPath } from '../../src/storage/layout.ts';
import { testStorageKeyFile, type NodeHandle } from '../harness/nodes.ts';

export interface BackendCaps {
  /** Computes and reports the body's checksum and verifies Content-Digest (else PutResult.checksum is null and a wrong digest is stored). */
  checksums: boolean;
  /** Serves /dev<N>/usage (else client.usage() is null). */
  usage: boolean;
  /** Answers 400 to every request target outside the replica layout (else: never serves a file outside the root). */
  strictPaths: boolean;
  /**
   * How it checks the storage key: 'signature' (every request signed for its method, path and
   * expiry; the deprecated bearer token also taken) or 'header' (nginx: compares the static
   * header derived from the key, so anything carrying that header passes).
   */
  auth: 'signature' | 'header';
  /** Refuses a PUT to a device directory that does not exist (else creates it). */
  refusesUnknownDevice: boolean;
  /** Refuses to write through a symlink that leads out of the device. */
  symlinkSafeWrites: boolean;
  /**
   * Keeps its partial upload in the target's directory (a temp file, or the replica itself with
   * the in-progress mode), so "nothing left" can be checked in the device directory; GET and
   * HEAD treat an in-progress replica as absent.
   */
  tempBesideTarget: boolean;
}

export interface NodeBackend {
  name: string;
  caps: BackendCaps;
  /** A running node with device directory dev1, checking the key in keyFile (a token only with caps.auth 'signature'). */
  start(opts: { keyFile: string; token?: string }): Promise<NodeHandle>;
}

const SECRET = `top-secret-${randomBytes(6).toString('hex')}`;

export function runNodeConformance(backend: NodeBackend): void {
  const { caps } = backend;
  describe(`storage node conformance: ${backend.name}`, () => {
    let node: NodeHandle;
    let client: StorageClient;
    let key: StorageKey;
    /** raw() as a key holder sends it. */
    const signed = (path: string, opts: Parameters<typeof raw>[2] = {}) => raw(node.url, path, { key, ...opts });
    let nextFid = 1000;
    const url = (fid: number, devid = 1) => node.url + fidPath(devid, fid);
    const diskPath = (fid: number, devid = 1) => join(node.root, fidPath(devid, fid));
    const dev1 = () => join(node.root, 'dev1');

    before(async () => {
      key = readStorageKeyFile(testStorageKeyFile());
      node = await backend.start({ keyFile: testStorageKeyFile() });
      // A file just outside the served root: nothing may ever read or replace it.
      writeFileSync(join(dirname(node.root), 'secret.txt'), SECRET);
      client = new StorageClient({ connectTimeoutMs: 2000, idleTimeoutMs: 10_000, key });
    });
    after(async () => {
      client?.close();
      await node?.stop();
    });

    test('PUT then GET returns the same bytes; the sha256 is reported (or null without checksums)', async () => {
      const fid = nextFid++;
      const body = randomBytes(300_000);
      const r = await client.put(url(fid), body);
      assert.equal(r.length, body.length);
      assert.equal(r.checksum, caps.checksums ? sha256(body) : null);
      const got = await client.get(url(fid));
      assert.equal(got.length, body.length);
      const back = await readAll(got.stream);
      assert.equal(sha256(back), sha256(body));
      assert.deepEqual(readFileSync(diskPath(fid)), body);
    });

    test('md5 and none checksum algorithms', async () => {
      const body = randomBytes(5000);
      const md5 = await client.put(url(nextFid++), body, { checksumAlg: 'md5' });
      assert.equal(md5.checksum, caps.checksums ? createHash('md5').update(body).digest('hex') : null);
      const none = await client.put(url(nextFid++), body, { checksumAlg: 'none' });
      assert.equal(none.checksum, null);
      assert.equal(none.length, body.length);
    });

    test('empty files, with and without a length', async () => {
      const a = nextFid++;
      const b = nextFid++;
      assert.equal((await client.put(url(a), Buffer.alloc(0))).length, 0);
      assert.equal((await client.put(url(b), Readable.from([]))).length, 0);
      for (const fid of [a, b]) {
        const got = await client.get(url(fid));
        assert.equal(got.length, 0);
        assert.equal((await readAll(got.stream)).length, 0);
      }
    });

    test('chunked PUT of unknown length, written in pieces with backpressure', async () => {
      const fid = nextFid++;
      const pieces = Array.from({ length: 40 }, (_, i) => randomBytes(10_000 + i * 1000));
      const whole = Buffer.concat(pieces);
      const { stream, result } = client.openPut(url(fid));
      for (const p of pieces) {
        if (!stream.write(p)) await new Promise((r) => stream.once('drain', r));
      }
      stream.end();
      const r = await result;
      assert.equal(r.length, whole.length);
      assert.equal(r.checksum, caps.checksums ? sha256(whole) : null);
      assert.deepEqual(readFileSync(diskPath(fid)), whole);
    });

    test('Range reads: start, middle, last byte, open-ended; beyond the end is refused', async () => {
      const fid = nextFid++;
      const body = randomBytes(100_000);
      await client.put(url(fid), body);
      const cases: Array<[number | undefined, number | undefined]> = [
        [0, 0],
        [0, 9],
        [40_000, 59_999],
        [99_999, 99_999],
        [12_345, undefined],
        [99_990, undefined],
        [99_000, 200_000], // end past the size is clamped
      ];
      for (const [start, end] of cases) {
        const got = await client.get(url(fid), { start, end });
        const want = body.subarray(start ?? 0, end === undefined ? undefined : end + 1);
        assert.equal(got.length, want.length, `length of ${start}-${end}`);
        assert.deepEqual(await readAll(got.stream), want, `bytes ${start}-${end}`);
      }
      await assert.rejects(client.get(url(fid), { start: 100_000 }), (e) => isMogError(e, ErrorCodes.INVALID_OFFSET));
      const r = await signed(fidPath(1, fid), { headers: { range: 'bytes=100000-' } });
      assert.equal(r.status, 416);
      assert.equal(r.headers['content-range'], 'bytes */100000');
    });

    if (caps.tempBesideTarget) {
      test('a replica still being written is absent to GET and HEAD, then whole; an overwrite replaces it whole', async () => {
        const fid = nextFid++;
        const first = randomBytes(3 * 1024 * 1024);
        const { stream, result } = client.openPut(url(fid));
        stream.write(first.subarray(0, 1024 * 1024));
        await waitFor('a partial file', async () => (await partialFiles(dev1())).length > 0);
        assert.equal(await client.head(url(fid)), null);
        await assert.rejects(client.get(url(fid)), (e) => isMogError(e, ErrorCodes.NOT_FOUND));
        assert.equal((await signed(fidPath(1, fid))).status, 404);
        stream.end(first.subarray(1024 * 1024));
        assert.equal((await result).length, first.length);
        assert.deepEqual(await client.head(url(fid)), { length: first.length });
        assert.deepEqual(await partialFiles(dev1()), []);
        // A second PUT to the same replica (a retried copy) replaces it; readers see old or new.
        const second = randomBytes(100_000);
        await client.put(url(fid), second);
        assert.deepEqual(readFileSync(diskPath(fid)), second);
        assert.deepEqual(await partialFiles(dev1()), []);
      });
    }

    test('HEAD reports the length; null when absent', async () => {
      const fid = nextFid++;
      await client.put(url(fid), randomBytes(4321));
      assert.deepEqual(await client.head(url(fid)), { length: 4321 });
      assert.equal(await client.head(url(nextFid++)), null);
    });

    test('DELETE twice: deleted, then already gone; GET then 404', async () => {
      const fid = nextFid++;
      await client.put(url(fid), randomBytes(100));
      assert.equal(await client.delete(url(fid)), true);
      assert.equal(await client.delete(url(fid)), false);
      assert.equal(existsSync(diskPath(fid)), false);
      await assert.rejects(client.get(url(fid)), (e) => isMogError(e, ErrorCodes.NOT_FOUND));
    });

    test('a PUT whose client disconnects halfway leaves nothing on disk', async () => {
      const fid = nextFid++;
      const before = await filesUnder(dev1());
      const req = http.request({
        host: '127.0.0.1',
        port: node.port,
        path: fidPath(1, fid),
        method: 'PUT',
        agent: false,
        headers: { 'content-length': 4 * 1024 * 1024, ...signedHeaders(key, 'PUT', fidPath(1, fid)) },
      });
      req.on('error', () => {});
      req.write(randomBytes(1024 * 1024));
      if (caps.tempBesideTarget) {
        // Make sure the node really is mid-body, with a partial file open, before we vanish.
        await waitFor('a partial file', async () => (await partialFiles(dev1())).length > 0);
      } else {
        await sleep(300);
      }
      req.destroy();
      if (caps.tempBesideTarget) {
        await waitFor('the temp file to go', async () => (await filesUnder(dev1())).length === before.length);
      } else {
        await sleep(300);
      }
      assert.equal(existsSync(diskPath(fid)), false);
      assert.deepEqual(await filesUnder(dev1()), before);
    });

    test('destroying the client stream aborts the PUT: UPLOAD_ABORTED and nothing kept', async () => {
      const fid = nextFid++;
      const before = await filesUnder(dev1());
      const { stream, result } = client.openPut(url(fid));
      stream.write(randomBytes(512 * 1024));
      await sleep(150);
      stream.destroy();
      await assert.rejects(result, (e) => isMogError(e, ErrorCodes.UPLOAD_ABORTED));
      if (caps.tempBesideTarget) {
        await waitFor('no leftovers', async () => (await filesUnder(dev1())).length === before.length);
      } else {
        await sleep(300);
      }
      assert.equal(existsSync(diskPath(fid)), false);
    });

    test('a short body for the announced length is refused by the client and the node keeps nothing', async () => {
      const fid = nextFid++;
      const { stream, result } = client.openPut(url(fid), { length: 10_000 });
      stream.end(randomBytes(4000));
      await assert.rejects(result, (e) => isMogError(e, ErrorCodes.LENGTH_MISMATCH));
      await sleep(200);
      assert.equal(existsSync(diskPath(fid)), false);
      const tooLong = client.openPut(url(nextFid++), { length: 10 });
      tooLong.stream.end(randomBytes(11));
      await assert.rejects(tooLong.result, (e) => isMogError(e, ErrorCodes.LENGTH_MISMATCH));
    });

    test(`a wrong Content-Digest is ${caps.checksums ? 'refused and leaves nothing' : 'not checked (no checksums): the client must verify'}`, async () => {
      const fid = nextFid++;
      const body = randomBytes(50_000);
      const wrong = sha256(Buffer.from('something else'));
      const put = client.put(url(fid), body, { expectChecksum: wrong });
      if (caps.checksums) {
        await assert.rejects(put, (e) => isMogError(e, ErrorCodes.CHECKSUM_MISMATCH));
        assert.equal(existsSync(diskPath(fid)), false);
        assert.deepEqual(await partialFiles(dev1()), []);
        // The right digest (sha-256 or md5) is accepted.
        assert.equal((await client.put(url(fid), body, { expectChecksum: sha256(body) })).checksum, sha256(body));
        const md5 = createHash('md5').update(body).digest('hex');
        assert.equal((await client.put(url(nextFid++), body, { checksumAlg: 'md5', expectChecksum: md5 })).checksum, md5);
      } else {
        const r = await put;
        assert.equal(r.checksum, null);
        assert.equal(r.length, body.length);
      }
    });

    test(`path traversal ${caps.strictPaths ? 'gets 400' : 'never reaches outside the root'}`, async () => {
      const outside = join(dirname(node.root), 'secret.txt');
      const targets = [
        '/dev1/../../secret.txt',
        '/dev1/../../../../../../../etc/passwd',
        '/dev1/%2e%2e/%2e%2e/secret.txt',
        '/dev1/%2e%2e/%2e%2e/x',
        '/%2e%2e/secret.txt',
        '/dev1/..%2f..%2fsecret.txt',
        '/dev1%2f..%2f..%2fsecret.txt',
        '/dev1/%2e%2e%2f%2e%2e%2fsecret.txt',
        '/dev1/0/000/000/..%2f..%2f..%2f..%2f..%2fsecret.txt',
        '/dev1/0/000/000/0000000001.fid/../../../../../../secret.txt',
        '/dev1/..\\..\\secret.txt',
        '//etc/passwd',
        `http://127.0.0.1:${node.port}/dev1/../../secret.txt`,
        `http://127.0.0.1:${node.port}/dev1/0/000/000/0000000001.fid`,
      ];
      const outsideBefore = await filesUnder(dirname(node.root), node.root);
      for (const path of targets) {
        const got = await signed(path);
        if (caps.strictPaths) assert.equal(got.status, 400, `GET ${path}`);
        assert.ok(!got.body.includes(SECRET) && !got.body.includes('root:x:0:0'), `GET ${path} leaked a file`);
        const put = await signed(path, { method: 'PUT', body: 'overwritten' });
        if (caps.strictPaths) assert.equal(put.status, 400, `PUT ${path}`);
        const del = await signed(path, { method: 'DELETE' });
        if (caps.strictPaths) assert.equal(del.status, 400, `DELETE ${path}`);
      }
      assert.equal(readFileSync(outside, 'utf8'), SECRET);
      assert.deepEqual(await filesUnder(dirname(node.root), node.root), outsideBefore, 'nothing appeared outside the root');
      if (caps.strictPaths) {
        for (const path of ['/dev1/0/000/000/123.fid', '/dev1/1/000/000/0000000123.fid', '/dev1/anything', '/etc/passwd', '/']) {
          assert.equal((await signed(path)).status, 400, path);
        }
      }
    });

    test('symlinks leading out of the root or the device are not followed', async () => {
      // dev9 is a symlink to a directory outside the root; dev1/9/000/777 is one too.
      const fid = 9_000_777_777;
      const outDev = join(dirname(node.root), 'outside-dev');
      const outLeaf = join(dirname(node.root), 'outside-leaf');
      mkdirSync(join(outDev, dirname(fidPath(1, fid).slice('/dev1/'.length))), { recursive: true });
      mkdirSync(outLeaf, { recursive: true });
      const victims = [join(outDev, fidPath(1, fid).slice('/dev1/'.length)), join(outLeaf, '9000777777.fid')];
      for (const v of victims) writeFileSync(v, SECRET);
      symlinkSync(outDev, join(node.root, 'dev9'));
      mkdirSync(join(node.root, 'dev1', '9', '000'), { recursive: true });
      symlinkSync(outLeaf, join(node.root, 'dev1', '9', '000', '777'));
      const paths = [fidPath(9, fid), fidPath(1, fid)];
      for (const p of paths) {
        const got = await signed(p);
        assert.ok(!got.body.includes(SECRET), `GET ${p} followed a symlink out`);
        if (caps.strictPaths) assert.equal(got.status, 400, `GET ${p}`);
      }
      if (!caps.symlinkSafeWrites) return; // nginx's dav PUT follows symlinks: see the harness config.
      for (const p of paths) {
        assert.equal((await signed(p, { method: 'PUT', body: 'overwritten' })).status, 400, `PUT ${p}`);
        assert.equal((await signed(p, { method: 'DELETE' })).status, 400, `DELETE ${p}`);
      }
      for (const v of victims) assert.equal(readFileSync(v, 'utf8'), SECRET);
    });

    test(`unknown device: GET 404, PUT ${caps.refusesUnknownDevice ? 'refused' : 'creates the directory'}`, async () => {
      const got = await signed(fidPath(42, 1));
      assert.equal(got.status, 404);
      await assert.rejects(client.get(node.url + fidPath(42, 1)), (e) => isMogError(e, ErrorCodes.NOT_FOUND));
      const put = client.put(node.url + fidPath(42, 1), Buffer.from('x'));
      if (caps.refusesUnknownDevice) {
        await assert.rejects(put, (e) => isMogError(e, ErrorCodes.NODE_UNAVAILABLE) && httpStatusOf(e) === 404);
        assert.equal(existsSync(join(node.root, 'dev42')), false);
        assert.equal(await client.usage(node.url, 42), null);
      } else {
        assert.equal((await put).length, 1);
        assert.equal(existsSync(join(node.root, fidPath(42, 1))), true);
      }
    });

    test(`usage ${caps.usage ? 'in MogileFS key: value lines' : 'is absent: client.usage() is null'}`, async () => {
      const usage = await client.usage(node.url, 1);
      if (!caps.usage) {
        assert.equal(usage, null);
        return;
      }
      assert.ok(usage);
      assert.ok(usage.totalKb > 0 && usage.usedKb >= 0 && usage.availableKb >= 0);
      assert.ok(usage.usedKb <= usage.totalKb && usage.availableKb <= usage.totalKb);
      assert.ok(Math.abs(usage.time - Date.now()) < 60_000);
      const text = (await signed('/dev1/usage')).body.toString('utf8');
      for (const key of ['available', 'device', 'disk', 'time', 'total', 'use', 'used']) {
        assert.match(text, new RegExp(`^${key}: \\S+$`, 'm'), key);
      }
      assert.match(text, /^use: \d+%$/m);
    });

    test(`the storage key is required (${caps.auth === 'signature' ? 'a signature per request' : 'a static header, as nginx compares it'})`, async () => {
      const other = storageKeyFrom('another-cluster-key-'.padEnd(40, 'x'));
      const stranger = new StorageClient({ key: other });
      const anonymous = new StorageClient();
      try {
        const fid = nextFid++;
        const u = url(fid);
        const path = fidPath(1, fid);
        await client.put(u, Buffer.from('hello'));
        for (const [method, body] of [['GET'], ['HEAD'], ['PUT', 'overwritten'], ['DELETE']] as const) {
          assert.equal((await raw(node.url, path, { method, body })).status, 401, `unsigned ${method}`);
          assert.equal((await raw(node.url, path, { method, body, key: other })).status, 401, `${method} with another cluster's key`);
        }
        assert.equal((await raw(node.url, '/dev1/usage')).status, 401);
        await assert.rejects(anonymous.put(url(nextFid++), Buffer.from('x')), (e) => httpStatusOf(e) === 401 && isMogError(e, ErrorCodes.NODE_UNAVAILABLE));
        await assert.rejects(stranger.head(u), (e) => isMogError(e, ErrorCodes.NODE_UNAVAILABLE) && httpStatusOf(e) === 401);
        await assert.rejects(stranger.delete(u), (e) => isMogError(e, ErrorCodes.NODE_UNAVAILABLE) && httpStatusOf(e) === 401);
        assert.equal(readFileSync(diskPath(fid), 'utf8'), 'hello', 'the replica is unchanged');
        const headerOnly = await raw(node.url, path, { headers: { [NGINX_HEADER]: key.nginxHeader } });
        const signedUrl = new URL(signUrl(key, 'GET', u, 60));
        const viaUrl = await raw(node.url, signedUrl.pathname + signedUrl.search);
        if (caps.auth === 'signature') {
          // The nginx value is derived apart from the signing key: it opens nothing here.
          assert.equal(headerOnly.status, 401);
          assert.equal(viaUrl.status, 200);
          assert.equal(viaUrl.body.toString(), 'hello');
        } else {
          assert.equal(headerOnly.status, 200);
          assert.equal(viaUrl.status, 401, 'nginx cannot check a signed URL');
        }
      } finally {
        stranger.close();
        anonymous.close();
      }
    });

    if (caps.auth === 'signature') {
      test('the deprecated bearer token is still taken beside the key', async () => {
        const secured = await backend.start({ keyFile: testStorageKeyFile(), token: 's3cret token' });
        const withToken = new StorageClient({ token: 's3cret token' });
        try {
          const u = secured.url + fidPath(1, 5);
          assert.equal((await withToken.put(u, Buffer.from('hello'))).length, 5);
          assert.equal((await readAll((await withToken.get(u)).stream)).toString(), 'hello');
          assert.equal((await raw(secured.url, fidPath(1, 5), { headers: { authorization: 'Bearer nope' } })).status, 401);
          assert.equal((await raw(secured.url, fidPath(1, 5))).status, 401);
        } finally {
          withToken.close();
          await secured.stop();
        }
      });
    }

    test('keep-alive: one connection carries PUT, GET, HEAD and DELETE in turn', async () => {
      const c = new StorageClient({ key });
      let connections = 0;
      const agent = c.agent as unknown as { createConnection: (...a: unknown[]) => unknown };
      const create = agent.createConnection.bind(agent);
      agent.createConnection = (...a: unknown[]) => {
        connections++;
        return create(...a);
      };
      try {
        for (let i = 0; i < 10; i++) {
          const u = url(nextFid++);
          await c.put(u, randomBytes(1000));
          await readAll((await c.get(u)).stream);
          await c.head(u);
          await c.delete(u);
        }
        assert.equal(connections, 1);
      } finally {
        c.close();
      }
    });

    test('many concurrent requests', async () => {
      const files = Array.from({ length: 64 }, () => ({ fid: nextFid++, body: randomBytes(20_000 + Math.floor(Math.random() * 50_000)) }));
      const results = await Promise.all(files.map((f) => client.put(url(f.fid), f.body)));
      results.forEach((r, i) => assert.equal(r.length, files[i]!.body.length));
      const backs = await Promise.all(files.map(async (f) => readAll((await client.get(url(f.fid))).stream)));
      backs.forEach((b, i) => assert.ok(b.equals(files[i]!.body)));
    });

    test('MKCOL is harmless', async () => {
      // Level by level, as a WebDAV client must; a second MKCOL may say 405 (exists).
      for (const dir of ['/dev1/3/', '/dev1/3/000/', '/dev1/3/000/000/', '/dev1/3/000/000/']) {
        const r = await signed(dir, { method: 'MKCOL' });
        assert.ok(r.status === 201 || r.status === 405, `MKCOL ${dir} answered ${r.status}`);
      }
      assert.equal((await client.put(url(3_000_000_001), Buffer.from('ok'))).length, 2);
    });
  });
}

// --- helpers --------------------------------------------------------------------------------

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** What our client sends to prove it holds `key`, for a raw request to `target`. */
export function signedHeaders(key: StorageKey, method: string, target: string): Record<string, string> {
  return { authorization: authorizationForTarget(key, method, target), [NGINX_HEADER]: key.nginxHeader };
}

/** A raw HTTP exchange on a fresh connection, sending `path` exactly as given; signed when given a key. */
export function raw(
  baseUrl: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; key?: StorageKey } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const { port, hostname } = new URL(baseUrl);
  const method = opts.method ?? 'GET';
  const headers = { ...(opts.key ? signedHeaders(opts.key, method, path) : {}), ...opts.headers };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Every non-directory under `dir` (relative, sorted), leaving out the subtree `except`. */
export async function filesUnder(dir: string, except?: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    if (d === except) return;
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

/** Files under `dir` that are partial uploads: temp files, or replicas with the in-progress mode. */
export async function partialFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of await filesUnder(dir)) {
    const st = await lstat(join(dir, f)).catch(() => null);
    if (f.endsWith('.tmp') || (st && (st.mode & 0o777) === IN_PROGRESS_MODE)) out.push(f);
  }
  return out;
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
