// The node's failure answers and the client's reading of them go through the tokens of
// src/storage/failures.ts: each refusal names its token, and the client maps the tokens it
// cares about back to error codes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, isMogError } from '../../src/errors.ts';
import { storageKeyFrom } from '../../src/storage/auth.ts';
import { StorageClient } from '../../src/storage/client.ts';
import { NodeFailure } from '../../src/storage/failures.ts';
import { fidPath } from '../../src/storage/layout.ts';
import { startStorageNode, type StorageNode } from '../../src/storage/node.ts';

async function answer(url: string, init: RequestInit = {}): Promise<{ status: number; error: unknown }> {
  const res = await fetch(url, init);
  const body = (await res.json()) as { error?: unknown; message?: unknown };
  assert.equal(typeof body.message, 'string');
  return { status: res.status, error: body.error };
}

describe('storage node failure tokens', () => {
  const root = mkdtempSync(join(tmpdir(), 'mogftp-failures-'));
  const key = storageKeyFrom('k'.repeat(40));
  let open: StorageNode;
  let keyed: StorageNode;
  const client = new StorageClient();
  before(async () => {
    mkdirSync(join(root, 'dev1'));
    open = await startStorageNode({ root, insecureNoAuth: true });
    keyed = await startStorageNode({ root, key });
  });
  after(async () => {
    client.close();
    await open.close();
    await keyed.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('each refusal names its token', async () => {
    const fid = `${open.url}${fidPath(1, 7)}`;
    assert.deepEqual(await answer(`${open.url}/nowhere`), { status: 400, error: NodeFailure.BAD_PATH });
    assert.deepEqual(await answer(`${open.url}${fidPath(2, 7)}`), { status: 404, error: NodeFailure.UNKNOWN_DEVICE });
    assert.deepEqual(await answer(fid), { status: 404, error: NodeFailure.NOT_FOUND });
    assert.deepEqual(await answer(fid, { method: 'PUT', body: 'x', headers: { 'x-checksum-alg': 'sha1' } }), { status: 400, error: NodeFailure.BAD_REQUEST });
    assert.deepEqual(await answer(`${open.url}/dev1/?list&limit=0`), { status: 400, error: NodeFailure.BAD_LIST });
    assert.deepEqual(await answer(fid, { method: 'POST' }), { status: 405, error: NodeFailure.METHOD_NOT_ALLOWED });
    assert.deepEqual(await answer(`${keyed.url}${fidPath(1, 7)}`), { status: 401, error: NodeFailure.UNAUTHORIZED });
  });

  test('a body that does not match its digest is checksum_mismatch, read back as CHECKSUM_MISMATCH', async () => {
    const url = `${open.url}${fidPath(1, 8)}`;
    const wrong = '0'.repeat(64);
    assert.deepEqual(
      await answer(url, { method: 'PUT', body: 'hello', headers: { 'content-digest': `sha-256=:${Buffer.from(wrong, 'hex').toString('base64')}:` } }),
      { status: 422, error: NodeFailure.CHECKSUM_MISMATCH },
    );
    await assert.rejects(client.put(url, Buffer.from('hello'), { expectChecksum: wrong }), (e) => isMogError(e, ErrorCodes.CHECKSUM_MISMATCH));
  });

  test('the client reads length_mismatch as LENGTH_MISMATCH, other 400 tokens as INTERNAL', async () => {
    let token: string = NodeFailure.LENGTH_MISMATCH;
    const fake = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: token, message: 'refused' }));
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}${fidPath(1, 9)}`;
      await assert.rejects(client.put(url, Buffer.from('abc')), (e) => isMogError(e, ErrorCodes.LENGTH_MISMATCH));
      token = NodeFailure.BAD_REQUEST;
      await assert.rejects(client.put(url, Buffer.from('abc')), (e) => isMogError(e, ErrorCodes.INTERNAL));
    } finally {
      fake.close();
    }
  });
});
