// What the FTP front-end writes to its log when a command fails: every unexpected 451 is logged
// with its error and stack (ftp-srv's bunyan-style calls included), the client's reply names no
// internal address, and clients that merely went away stay out of the error log.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startDavServer } from '../../src/dav/server.ts';
import { startFtpServer, bunyanArgs, type RunningFtpServer } from '../../src/ftp/server.ts';
import { useCluster } from '../harness/cluster.ts';
import { RawFtp, writeData } from './protocol-raw.ts';

interface LogEntry {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

describe('FTP logging', () => {
  const cluster = useCluster({ db: 'sqlite', nodes: 2 });
  let ftp: RunningFtpServer;
  const logs: LogEntry[] = [];

  before(async () => {
    ftp = await startFtpServer({
      ...cluster.services,
      host: '127.0.0.1',
      port: 0,
      pasvPorts: [0, 0],
      log: (level, msg, fields = {}) => logs.push({ level, msg, fields }),
    });
  });
  cluster.onStop(async () => {
    await ftp?.close();
  });

  test('bunyan-style arguments keep the error, its stack and the fields', () => {
    const err = Object.assign(new Error('boom'), { code: 'EBOOM' });
    const a = bunyanArgs([{ err, id: 7 }, 'command failed']);
    assert.equal(a.msg, 'command failed');
    assert.equal(a.fields.error, 'boom');
    assert.match(String(a.fields.errorStack), /Error: boom\n\s+at /);
    assert.equal(a.fields.errorCode, 'EBOOM');
    assert.equal(a.fields.id, 7);
    const b = bunyanArgs(['Satisfy Parameters Error', { error: 'write after end' }]);
    assert.deepEqual(b, { msg: 'Satisfy Parameters Error', fields: { error: 'write after end' } });
    assert.equal(bunyanArgs([err]).fields.error, 'boom');
  });

  test('a STOR that no node can take: 451 without addresses, logged at error with the cause and stack', async () => {
    for (const node of cluster.nodes) await node.stop();
    const c = await RawFtp.login(ftp.port);
    try {
      const port = await c.epsv();
      c.send('STOR lost.bin\r\n');
      await writeData(port, Buffer.alloc(64 * 1024, 1)).catch(() => {});
      let reply = await c.next();
      if (reply?.code === 150 || reply?.code === 125) reply = await c.next();
      assert.equal(reply?.code, 451, `reply: ${reply?.text}`);
      assert.doesNotMatch(reply!.text, /127\.0\.0\.1|http:\/\//, 'the reply names no node');
      const failed = logs.find((l) => l.level === 'error' && l.msg === 'command failed');
      assert.ok(failed, `no "command failed" error in the log: ${JSON.stringify(logs.map((l) => [l.level, l.msg]))}`);
      assert.ok(typeof failed.fields.error === 'string' && failed.fields.error.length > 0, 'the error is logged');
      assert.match(String(failed.fields.errorStack), /\n\s+at /, 'with its stack');
      assert.match(String(failed.fields.error), /127\.0\.0\.1|device|node/i, 'the log keeps the detail the reply leaves out');
    } finally {
      c.close();
    }
  });

  test('WebDAV: a PUT no node can take is 503 without addresses, and its cause is in the log', async () => {
    const davLogs: LogEntry[] = [];
    const dav = await startDavServer({
      store: cluster.services.store,
      tracker: cluster.services.tracker,
      client: cluster.services.client,
      host: '127.0.0.1',
      port: 0,
      log: (level, msg, fields = {}) => davLogs.push({ level, msg, fields }),
    });
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: dav.port, method: 'PUT', path: '/lost-dav.bin', auth: 'demo:demo' },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => (text += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on('error', reject);
        req.end(Buffer.alloc(64 * 1024, 2));
      });
      assert.ok(status >= 500, `status ${status}`);
      assert.doesNotMatch(body, /127\.0\.0\.1|http:\/\//, 'the reply names no node');
      const failed = davLogs.find((l) => l.msg === 'request failed' && typeof l.fields.cause === 'string');
      assert.ok(failed, `no cause logged: ${JSON.stringify(davLogs)}`);
      assert.match(String(failed.fields.cause), /127\.0\.0\.1|device|node/i);
      assert.match(String(failed.fields.stack), /\n\s+at /);
    } finally {
      await dav.close();
    }
  });
});
