// The storage client when nodes misbehave: no answer, silence, bodies cut short, an error answer
// while we are still uploading. The misbehaving peers are tiny real servers on ephemeral ports.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { ErrorCodes, isMogError } from '../../src/errors.ts';
import { StorageClient, httpStatusOf, isNoAnswer } from '../../src/storage/client.ts';
import { readAll } from './node.conformance.ts';

function listen(server: net.Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`)));
}

describe('storage client against misbehaving nodes', () => {
  const client = new StorageClient({ connectTimeoutMs: 1000 });
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  after(() => {
    client.close();
    sockets.forEach((s) => s.destroy());
    servers.forEach((s) => s.close());
  });
  async function rawServer(onConnection: (s: net.Socket) => void): Promise<string> {
    const srv = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      onConnection(s);
    });
    servers.push(srv);
    return listen(srv);
  }

  let closedPort: string;
  before(async () => {
    // A port nobody listens on: bind, learn it, release it.
    const srv = net.createServer();
    closedPort = await listen(srv);
    await new Promise((r) => srv.close(r));
  });

  test('connection refused: NODE_UNAVAILABLE without an answer, for every method, quickly', async () => {
    const url = `${closedPort}/dev1/0/000/000/0000000001.fid`;
    const started = Date.now();
    const calls: Array<Promise<unknown>> = [
      client.get(url),
      client.head(url),
      client.delete(url),
      client.usage(closedPort, 1),
      client.put(url, Buffer.from('x')),
    ];
    for (const c of calls) {
      await assert.rejects(c, (e) => isMogError(e, ErrorCodes.NODE_UNAVAILABLE) && isNoAnswer(e) && httpStatusOf(e) === null);
    }
    assert.ok(Date.now() - started < 2000);
  });

  test('a node that accepts but never answers fails within timeoutMs', async () => {
    const base = await rawServer(() => {});
    const url = `${base}/dev1/0/000/000/0000000001.fid`;
    for (const call of [
      () => client.head(url, { timeoutMs: 300 }),
      () => client.get(url, {}, { timeoutMs: 300 }),
      () => client.put(url, Buffer.from('x'), {}, { timeoutMs: 300 }),
    ]) {
      const started = Date.now();
      await assert.rejects(call(), (e) => isNoAnswer(e));
      assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
    }
  });

  test('a GET body cut short makes the stream fail with NODE_UNAVAILABLE', async () => {
    const base = await rawServer((s) => {
      s.once('data', () => {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
        s.write(randomBytes(400));
        setTimeout(() => s.destroy(), 50);
      });
    });
    const got = await client.get(`${base}/dev1/0/000/000/0000000001.fid`);
    assert.equal(got.length, 1000);
    await assert.rejects(readAll(got.stream), (e) => isMogError(e, ErrorCodes.NODE_UNAVAILABLE));
  });

  test('an error answer while the upload is still being sent rejects with its code and stops the stream', async () => {
    const srv = http.createServer((req, res) => {
      res.writeHead(507, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'device_full', message: 'no space left on the device' }));
    });
    servers.push(srv);
    const base = await listen(srv);
    const { stream, result } = client.openPut(`${base}/dev1/0/000/000/0000000001.fid`, { length: 64 * 1024 * 1024 });
    let written = 0;
    const writer = (async () => {
      while (!stream.destroyed && written < 64 * 1024 * 1024) {
        const ok = stream.write(randomBytes(64 * 1024));
        written += 64 * 1024;
        if (!ok) {
          await new Promise<void>((resolve) => {
            const done = () => {
              stream.off('drain', done);
              stream.off('close', done);
              resolve();
            };
            stream.on('drain', done);
            stream.on('close', done);
          });
        }
      }
    })();
    await assert.rejects(result, (e) => isMogError(e, ErrorCodes.DEVICE_FULL) && httpStatusOf(e) === 507);
    await writer;
    assert.ok(stream.destroyed);
    assert.ok(written < 64 * 1024 * 1024, 'the writer was stopped early');
  });

  test('node statuses map to codes: 409/422 checksum, 400 length, 404 on GET, 5xx unavailable', async () => {
    const answers: Record<string, [number, string]> = {
      '/dev1/0/000/000/0000000001.fid': [422, '{"error":"checksum_mismatch"}'],
      '/dev1/0/000/000/0000000002.fid': [409, ''],
      '/dev1/0/000/000/0000000003.fid': [400, '{"error":"length_mismatch","message":"short"}'],
      '/dev1/0/000/000/0000000004.fid': [503, ''],
      '/dev1/0/000/000/0000000005.fid': [418, ''],
    };
    const srv = http.createServer((req, res) => {
      const [status, body] = req.method === 'PUT' ? (answers[req.url!] ?? [201, '']) : req.url!.endsWith('4.fid') ? [503, ''] : [404, ''];
      req.resume();
      req.on('end', () => res.writeHead(status).end(body));
    });
    servers.push(srv);
    const base = await listen(srv);
    const put = (n: number) => client.put(`${base}/dev1/0/000/000/000000000${n}.fid`, Buffer.from('data'));
    await assert.rejects(put(1), (e) => isMogError(e, ErrorCodes.CHECKSUM_MISMATCH));
    await assert.rejects(put(2), (e) => isMogError(e, ErrorCodes.CHECKSUM_MISMATCH));
    await assert.rejects(put(3), (e) => isMogError(e, ErrorCodes.LENGTH_MISMATCH));
    await assert.rejects(put(4), (e) => isMogError(e, ErrorCodes.NODE_UNAVAILABLE) && !isNoAnswer(e));
    await assert.rejects(put(5), (e) => isMogError(e, ErrorCodes.INTERNAL));
    assert.deepEqual(await put(6), { length: 4, checksum: null }, 'a WebDAV server without a JSON answer');
    await assert.rejects(client.get(`${base}/dev1/0/000/000/0000000001.fid`), (e) => isMogError(e, ErrorCodes.NOT_FOUND));
    await assert.rejects(client.get(`${base}/dev1/0/000/000/0000000004.fid`), (e) => isMogError(e, ErrorCodes.NODE_UNAVAILABLE) && httpStatusOf(e) === 503);
  });

  test('bad arguments are refused before any request', () => {
    assert.throws(() => client.openPut('http://127.0.0.1:1/x', { length: -1 }), (e) => isMogError(e, ErrorCodes.INVALID_ARGUMENT));
    assert.throws(() => client.openPut('http://127.0.0.1:1/x', { checksumAlg: 'none', expectChecksum: 'ab' }), (e) => isMogError(e, ErrorCodes.INVALID_ARGUMENT));
    return assert.rejects(client.get('http://127.0.0.1:1/x', { start: 10, end: 5 }), (e) => isMogError(e, ErrorCodes.INVALID_OFFSET));
  });
});
