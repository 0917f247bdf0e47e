// Control characters in file names (issue 15): an ESC sequence in a name is replayed into every
// terminal that lists the directory, a CR or TAB garbles FTP listings and logs. Every C0 control
// character and DEL is refused by the one rule all doors share (src/tracker/names.ts): 553 over
// FTP, 400 over WebDAV, and nothing is created.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { before, describe, test } from 'node:test';
import { startDavServer, type RunningDavServer } from '../../src/dav/server.ts';
import { useCluster } from '../harness/cluster.ts';
import { trackFigures } from './lib/figures.ts';
import { loggedIn } from './lib/ftp.ts';

const fig = trackFigures('security-names');
const BAD = ['\x1b[31mred', 'tab\there', 'bell\x07', 'del\x7f', 'cr\rmid', 'nul\x00', '\x01start', 'unit\x1fsep'];

/** One WebDAV request with Basic auth; resolves with the status. */
function dav(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method, headers: { Authorization: `Basic ${Buffer.from('demo:demo').toString('base64')}`, ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('control characters in file names', () => {
  const c = useCluster({ db: 'sqlite', nodes: 2, mindevcount: 2, auth: false });
  let port: number;
  let d: RunningDavServer;
  before(async () => {
    port = (await c.startFtp()).port;
    d = await startDavServer({ ...c.services, host: '127.0.0.1', port: 0 });
  });
  c.onStop(async () => {
    await d?.close();
  });

  test('FTP: STOR, MKD and RNTO of a name with a control character get 553 and create nothing', async () => {
    const ftp = await loggedIn(port);
    assert.equal((await ftp.stor('/plain.txt', Buffer.from('x'))).final.code, 226);
    const before = await c.namespace();
    for (const name of BAD) {
      fig.fault();
      const shown = JSON.stringify(name);
      const stor = await ftp.stor(`/${name}.txt`, Buffer.from('hello'));
      assert.equal(stor.final.code, 553, `STOR ${shown}: ${stor.final.code} ${stor.final.text}`);
      assert.equal(stor.sent, 0, `STOR ${shown}: refused before the data`);
      assert.match(stor.final.text, /control characters|NUL/);
      const mkd = await ftp.cmd(Buffer.from(`MKD /${name}`, 'latin1'));
      assert.equal(mkd.code, 553, `MKD ${shown}: ${mkd.code} ${mkd.text}`);
      assert.equal((await ftp.cmd('RNFR /plain.txt')).code, 350);
      const rnto = await ftp.cmd(Buffer.from(`RNTO /${name}`, 'latin1'));
      assert.equal(rnto.code, 553, `RNTO ${shown}: ${rnto.code} ${rnto.text}`);
    }
    assert.deepEqual(await c.namespace(), before);
    // Printable names, spaces and non-ASCII included, are still fine.
    assert.equal((await ftp.stor('/café with spaces.txt', Buffer.from('ok'))).final.code, 226);
    await ftp.quit();
  });

  test('WebDAV: PUT, MKCOL and MOVE to such a name get 400 and create nothing', async () => {
    assert.equal(await dav(d.url, 'PUT', '/dav-plain.txt', {}, 'x'), 201);
    const before = await c.namespace();
    for (const name of BAD) {
      fig.fault();
      const path = '/' + encodeURIComponent(name);
      assert.equal(await dav(d.url, 'PUT', `${path}.txt`, {}, 'hello'), 400, `PUT ${JSON.stringify(name)}`);
      assert.equal(await dav(d.url, 'MKCOL', path), 400, `MKCOL ${JSON.stringify(name)}`);
      assert.equal(await dav(d.url, 'MOVE', '/dav-plain.txt', { Destination: new URL(path, d.url).href }), 400, `MOVE to ${JSON.stringify(name)}`);
    }
    assert.deepEqual(await c.namespace(), before);
  });
});
