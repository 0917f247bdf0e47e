// Issue 15, item 1: "storage nodes serve anyone". With nothing but curl and a node's address,
// a stranger could read another user's file (fids are sequential), overwrite it, and delete every
// replica. Now every request must be signed with the cluster storage key: this attacks a real
// cluster (node processes, an FTP front-end) from outside it, with curl and with signed URLs
// bent every way a holder of one might try; then checks the node's refusal to start unkeyed,
// and that FTP and WebDAV replies for storage failures name no node.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startQuickstart } from '../../src/daemons/quickstart.ts';
import { startDavServer } from '../../src/dav/server.ts';
import { signUrl, storageKeyFrom } from '../../src/storage/auth.ts';
import { StorageClient } from '../../src/storage/client.ts';
import { fidPath } from '../../src/storage/layout.ts';
import { resolvePathComponents } from '../../src/tracker/names.ts';
import { curl, run } from '../harness/clients.ts';
import { startNodeProcess, testStorageKey } from '../harness/nodes.ts';
import { useCluster } from '../harness/cluster.ts';
import { BIN } from '../harness/quickstart-process.ts';
import { until } from '../harness/wait.ts';
import { loggedIn } from './lib/ftp.ts';

const VICTIM = '/victim/private.txt';
const CONTENT = Buffer.from(`someone else's private file ${randomBytes(8).toString('hex')}\n`);
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const stored = { size: CONTENT.length, sha256: sha(CONTENT) };

/** curl's status code and body for one request (body to a string; -I for HEAD). */
async function curlStatus(method: string, url: string, opts: { body?: string; headers?: string[] } = {}): Promise<{ code: number; body: string }> {
  const args = ['-o', '-', '-w', '\n%{http_code}', ...(method === 'HEAD' ? ['-I'] : ['-X', method])];
  for (const h of opts.headers ?? []) args.push('-H', h);
  if (opts.body !== undefined) args.push('--data-binary', opts.body);
  const r = await curl([...args, url], { timeoutMs: 30_000 });
  const nl = r.stdout.lastIndexOf('\n');
  return { code: Number(r.stdout.slice(nl + 1)), body: r.stdout.slice(0, nl) };
}

describe('storage nodes serve only holders of the cluster storage key', () => {
  const c = useCluster({ db: 'sqlite', nodes: 2, mindevcount: 2, writeQuorum: 2, auth: true });
  let ftpPort: number;
  let fid: number;
  /** The victim's replica URL on each node. */
  let urls: string[];

  before(async () => {
    ftpPort = (await c.startFtp()).port;
    const ftp = await loggedIn(ftpPort);
    assert.equal((await ftp.cmd('MKD /victim')).code, 257);
    const up = await ftp.stor(VICTIM, CONTENT);
    assert.equal(up.final.code, 226, up.final.text);
    await ftp.quit();
    fid = (await c.fidOf(VICTIM))!;
    urls = c.nodes.map((n) => `http://127.0.0.1:${n.port}${fidPath(n.devid, fid)}`);
    assert.equal(await c.checkStored(VICTIM, stored), null);
  });

  test('curl without a credential: GET, HEAD, PUT, DELETE and usage all get 401, and the file is unchanged', async () => {
    for (const url of urls) {
      const got = await curlStatus('GET', url);
      assert.equal(got.code, 401, `GET ${url}`);
      assert.ok(!got.body.includes(CONTENT.toString()), 'the 401 carries none of the file');
      assert.equal((await curlStatus('HEAD', url)).code, 401, `HEAD ${url}`);
      assert.equal((await curlStatus('PUT', url, { body: 'overwritten by a stranger' })).code, 401, `PUT ${url}`);
      assert.equal((await curlStatus('DELETE', url)).code, 401, `DELETE ${url}`);
      // Guessing at the old bearer scheme, or at the nginx header, gets nowhere either.
      assert.equal((await curlStatus('DELETE', url, { headers: ['Authorization: Bearer change-me-token'] })).code, 401);
      assert.equal((await curlStatus('DELETE', url, { headers: ['Authorization: MogSig 99999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'] })).code, 401);
      assert.equal((await curlStatus('DELETE', url, { headers: [`X-Mogftp-Node-Key: ${testStorageKey().nginxHeader}`] })).code, 401);
      const dev = new URL(url).pathname.split('/')[1];
      assert.equal((await curlStatus('GET', `${new URL(url).origin}/${dev}/usage`)).code, 401);
    }
    // The next fid too (sequential ids): no one can plant a file where the next upload goes.
    const next = `http://127.0.0.1:${c.nodes[0]!.port}${fidPath(c.nodes[0]!.devid, fid + 1)}`;
    assert.equal((await curlStatus('PUT', next, { body: 'planted' })).code, 401);
    assert.equal(await c.checkStored(VICTIM, stored), null, 'every replica is still there, byte for byte');
    const ftp = await loggedIn(ftpPort);
    const back = await ftp.retr(VICTIM);
    assert.equal(back.final.code, 226, back.final.text);
    assert.equal(back.sha256, stored.sha256);
    await ftp.quit();
  });

  test('signed URLs: good for their one method and path until they expire; forged, swapped or stale ones get 401', async () => {
    const key = testStorageKey();
    const url = urls[0]!;
    const get = signUrl(key, 'GET', url, 60);
    const got = await curlStatus('GET', get);
    assert.equal(got.code, 200);
    assert.equal(got.body, CONTENT.toString());
    assert.equal((await curlStatus('HEAD', get)).code, 200, 'a GET URL also answers HEAD');

    // Method swapped: a URL to read cannot write or delete.
    assert.equal((await curlStatus('PUT', get, { body: 'overwritten' })).code, 401);
    assert.equal((await curlStatus('DELETE', get)).code, 401);
    // A URL to write one new path: it writes that path, nothing else, and deletes nothing.
    const spare = `${new URL(url).origin}${fidPath(c.nodes[0]!.devid, 900_000_001)}`;
    const put = signUrl(key, 'PUT', spare, 60);
    assert.equal((await curlStatus('PUT', put, { body: 'granted' })).code, 201);
    assert.equal((await curlStatus('DELETE', put)).code, 401, 'PUT URL used to DELETE');
    assert.equal((await curlStatus('GET', put)).code, 401, 'PUT URL used to GET');
    // Path swapped: the PUT URL's credential on the victim's path.
    const swapped = new URL(url);
    swapped.search = new URL(put).search;
    assert.equal((await curlStatus('PUT', swapped.toString(), { body: 'overwritten' })).code, 401, 'PUT URL moved to another path');
    assert.equal((await curlStatus('GET', swapped.toString())).code, 401);
    // Forged: another key; an expiry pushed later under the same signature; a stale URL.
    const foreign = signUrl(storageKeyFrom('not-this-cluster-key-'.padEnd(48, 'z')), 'DELETE', url, 60);
    assert.equal((await curlStatus('DELETE', foreign)).code, 401, 'signed with another key');
    const extended = new URL(signUrl(key, 'GET', url, 60));
    extended.searchParams.set('mogexp', String(Number(extended.searchParams.get('mogexp')) + 3600));
    assert.equal((await curlStatus('GET', extended.toString())).code, 401, 'expiry changed after signing');
    const stale = signUrl(key, 'DELETE', url, 30, Date.now() - 60_000);
    assert.equal((await curlStatus('DELETE', stale)).code, 401, 'expired 30 s ago');

    // A valid URL works until its expiry and not after it.
    const brief = signUrl(key, 'GET', url, 3); // whole seconds: 2 to 3 s from now
    const expires = Number(new URL(brief).searchParams.get('mogexp')) * 1000;
    assert.equal((await curlStatus('GET', brief)).code, 200);
    await until('the signed URL to expire', () => Date.now() > expires + 50, 10_000, 50);
    assert.equal((await curlStatus('GET', brief)).code, 401, 'the same URL after its expiry');

    // The holder of a DELETE URL for the spare path may delete it; the victim is untouched.
    assert.equal((await curlStatus('DELETE', signUrl(key, 'DELETE', spare, 60))).code, 204);
    assert.equal(await c.checkStored(VICTIM, stored), null);
  });

  test('the node refuses to start without a key off loopback; --insecure-no-auth is allowed on loopback only', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mogftp-unkeyed-'));
    // The caller's own MOGFTP_* settings (a key file) must not decide this test.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MOGFTP_')));
    try {
      for (const [args, why] of [
        [['--listen', '0.0.0.0:0'], /needs the cluster storage key: --key-file FILE/],
        [['--listen', '[::]:0'], /needs the cluster storage key/],
        [['--listen', '0.0.0.0:0', '--insecure-no-auth'], /--insecure-no-auth is only allowed on a loopback address .*not 0\.0\.0\.0/],
        [['--listen', '[::]:0', '--insecure-no-auth'], /only allowed on a loopback address/],
      ] as const) {
        const r = await run(process.execPath, [BIN, 'storage', '--root', root, ...args], { env, timeoutMs: 30_000 });
        assert.equal(r.code, 1, `storage ${args.join(' ')} should refuse to start; it printed: ${r.stdout}${r.stderr}`);
        assert.doesNotMatch(r.stdout, /listening on/);
        assert.match(r.stderr, why);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    // On loopback, --insecure-no-auth runs an open node (the harness starts unkeyed nodes so).
    const open = await startNodeProcess({ devids: [1] });
    try {
      assert.match(open.proc.spawnargs.join(' '), /--insecure-no-auth/);
      const u = `${open.url}${fidPath(1, 5)}`;
      assert.equal((await curlStatus('PUT', u, { body: 'open' })).code, 201);
      const got = await curlStatus('GET', u);
      assert.equal(got.code, 200);
      assert.equal(got.body, 'open');
      assert.match(open.diagnostics(), /insecure-no-auth: anyone who can connect/);
    } finally {
      await open.stop();
    }
  });

  test('storage failures reach FTP and WebDAV clients as generic replies, with no node address', async () => {
    const addresses = c.nodes.flatMap((n) => [`127.0.0.1:${n.port}`, `:${n.port}`, `/dev${n.devid}/`]);
    const leaks = (text: string) => addresses.filter((a) => text.includes(a)).concat(/https?:\/\//.test(text) ? ['a URL'] : []);

    // A front-end holding the wrong key: every node answers 401 ("storage node answered 401 to PUT http://...").
    const stranger = new StorageClient({ key: storageKeyFrom('a-front-end-with-the-wrong-key'.padEnd(40, 'q')) });
    c.deferCleanup(async () => stranger.close());
    const wrongKeyFtp = await c.startFtp({ client: stranger });
    let ftp = await loggedIn(wrongKeyFtp.port);
    const refused = await ftp.stor('/refused.bin', randomBytes(64 * 1024));
    assert.equal(refused.final.code, 451, refused.final.text);
    assert.deepEqual(leaks(refused.final.lines.join('\n')), [], refused.final.lines.join('\n'));
    const unread = await ftp.retr(VICTIM);
    assert.match(String(unread.final.code), /^4\d\d$/);
    assert.deepEqual(leaks([...unread.prelim.lines, ...unread.final.lines].join('\n')), [], unread.final.lines.join('\n'));
    await ftp.quit();

    const dav = await startDavServer({ store: c.services.store, tracker: c.tracker, client: stranger, host: '127.0.0.1', port: 0 });
    c.deferCleanup(() => dav.close());
    const davPut = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${dav.url}/refused-dav.bin`, { method: 'PUT', auth: 'demo:demo', agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end(randomBytes(64 * 1024));
    });
    assert.equal(davPut.status, 503, davPut.body);
    assert.deepEqual(leaks(davPut.body), [], davPut.body);

    // Every node down during a STOR (connections refused): 451, and still no address.
    for (const n of c.nodes) await n.kill!('SIGKILL');
    ftp = await loggedIn(ftpPort);
    const down = await ftp.stor('/while-down.bin', randomBytes(256 * 1024));
    assert.equal(down.final.code, 451, down.final.text);
    assert.match(down.final.text, /try again/i);
    assert.deepEqual(leaks([...down.prelim.lines, ...down.final.lines].join('\n')), [], down.final.lines.join('\n'));
    const gone = await ftp.retr(VICTIM);
    assert.match(String(gone.final.code), /^4\d\d$/);
    assert.deepEqual(leaks([...gone.prelim.lines, ...gone.final.lines].join('\n')), [], gone.final.lines.join('\n'));
    await ftp.quit();
  });

  test('the quickstart makes its key once (0600, in a 0700 data directory) and its nodes refuse strangers', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'mogftp-qs-key-'));
    const dataDir = join(parent, 'data');
    const opts = { dataDir, host: '127.0.0.1', port: 0, pasvPorts: [0, 0] as [number, number], logLevel: 'silent' as const, tls: false, davPort: false as const };
    try {
      let qs = await startQuickstart(opts);
      const keyFile = join(dataDir, 'storage.key');
      let key = '';
      try {
        assert.equal(statSync(keyFile).mode & 0o777, 0o600);
        assert.equal(statSync(dataDir).mode & 0o777, 0o700);
        key = readFileSync(keyFile, 'utf8');
        const ftp = await loggedIn(qs.ftp.port);
        assert.equal((await ftp.stor('/mine.txt', CONTENT)).final.code, 226, 'its own front-end signs');
        await ftp.quit();
        const domain = (await qs.services.store.getDomain('default'))!;
        const fidOf = (await qs.services.store.resolvePath(domain.id, resolvePathComponents([], '/mine.txt')))?.fid;
        assert.ok(fidOf);
        const devices = await qs.services.store.listDevices();
        let replicas = 0;
        for (const d of devices) {
          const host = (await qs.services.store.listHosts()).find((h) => h.id === d.hostId)!;
          const u: string = `http://127.0.0.1:${host.httpPort}${fidPath(d.id, fidOf!)}`;
          const got = await curlStatus('GET', u);
          assert.equal(got.code, 401, `GET ${u}`);
          assert.equal((await curlStatus('DELETE', u)).code, 401, `DELETE ${u}`);
          if ((await curlStatus('GET', signUrl(storageKeyFrom(key), 'GET', u, 60))).code === 200) replicas++;
        }
        assert.equal(replicas, 2, 'both replicas are there, for the key holder only');
      } finally {
        await qs.stop();
      }
      qs = await startQuickstart(opts);
      try {
        assert.equal(readFileSync(keyFile, 'utf8'), key, 'a second run keeps the key');
        const ftp = await loggedIn(qs.ftp.port);
        const back = await ftp.retr('/mine.txt');
        assert.equal(back.sha256, stored.sha256);
        await ftp.quit();
      } finally {
        await qs.stop();
      }
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
