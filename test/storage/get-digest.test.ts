// Our node's GET with Want-Content-Digest (RFC 9530): the digest of exactly the bytes it sent,
// as a Content-Digest trailer on a chunked 206; without the ask, or for what it cannot hash, the
// answer is as before (Content-Length, no trailer). The client's side: GetResult.digest.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { StorageClient } from '../../src/storage/client.ts';
import { parseContentDigest, parseWantContentDigest } from '../../src/storage/digest.ts';
import { fidPath } from '../../src/storage/layout.ts';
import { startNodeProcess, type NodeHandle } from '../harness/nodes.ts';

/** A raw GET: status, headers, body, trailers. */
function rawGet(node: NodeHandle, path: string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; trailers: NodeJS.Dict<string> }>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: node.port, path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), trailers: res.trailers }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const hex = (alg: string, b: Buffer) => createHash(alg).update(b).digest('hex');

describe('our node: Content-Digest trailer on GET', () => {
  let node: NodeHandle;
  const body = randomBytes(3 * 1024 * 1024 + 17);
  const client = new StorageClient();
  before(async () => {
    node = await startNodeProcess({ devids: [1] });
    await client.put(`${node.url}${fidPath(1, 7)}`, body);
  });
  after(async () => {
    client.close();
    await node.stop();
  });

  test('Want-Content-Digest parses as RFC 9530 says: sha-256 preferred, 0 means not that one, unknown ignored', () => {
    assert.equal(parseWantContentDigest('sha-256=10'), 'sha256');
    assert.equal(parseWantContentDigest('md5=3, sha-256=1'), 'sha256');
    assert.equal(parseWantContentDigest('sha-256=0, md5=5'), 'md5');
    assert.equal(parseWantContentDigest('sha-512=10'), null);
    assert.equal(parseWantContentDigest('sha-256'), null);
    assert.equal(parseWantContentDigest(undefined), null);
  });

  test('a range asked with a digest: chunked 206, the digest of exactly the bytes sent', async () => {
    for (const alg of ['sha256', 'md5'] as const) {
      const got = await rawGet(node, fidPath(1, 7), { range: 'bytes=5-2000000', 'want-content-digest': alg === 'md5' ? 'md5=10' : 'sha-256=10' });
      assert.equal(got.status, 206);
      assert.equal(got.headers['content-length'], undefined);
      assert.equal(got.headers['content-range'], `bytes 5-2000000/${body.length}`);
      assert.deepEqual(got.body, body.subarray(5, 2000001));
      const d = parseContentDigest(got.trailers['content-digest']);
      assert.equal(d?.alg, alg);
      assert.equal(d.bytes.toString('hex'), hex(alg, body.subarray(5, 2000001)));
    }
  });

  test('no ask, or no range: Content-Length and no trailer, as before', async () => {
    const asks: Array<Record<string, string>> = [{ range: 'bytes=0-99' }, { 'want-content-digest': 'sha-256=10' }];
    for (const headers of asks) {
      const got = await rawGet(node, fidPath(1, 7), headers);
      assert.ok(got.headers['content-length'] !== undefined, JSON.stringify(headers));
      assert.equal(got.headers.trailer, undefined);
      assert.deepEqual(got.trailers, {});
    }
  });

  test('the client: GetResult.digest gives the trailer once the body has ended; null when not asked', async () => {
    const url = `${node.url}${fidPath(1, 7)}`;
    const asked = await client.get(url, { start: 0, end: body.length - 1, digest: 'sha256' });
    assert.ok(asked.digest);
    assert.equal(asked.length, body.length);
    const chunks: Buffer[] = [];
    for await (const c of asked.stream as AsyncIterable<Buffer>) chunks.push(c);
    assert.deepEqual(Buffer.concat(chunks), body);
    assert.equal(asked.digest(), hex('sha256', body));
    const plain = await client.get(url, { start: 0, end: body.length - 1 });
    assert.equal(plain.digest, null);
    let plainBytes = 0;
    for await (const c of plain.stream as AsyncIterable<Buffer>) plainBytes += c.length;
    assert.equal(plainBytes, body.length);
  });
});
