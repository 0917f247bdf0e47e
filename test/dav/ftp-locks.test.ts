// A WebDAV lock holds for FTP too: FTP cannot submit a lock token, so every write an active lock
// stands in the way of is refused 450 and changes nothing, until the lock is released (UNLOCK)
// or cleared by the operator (`mogftp admin lock clear`). The lock holder keeps writing over
// WebDAV with its token, and `mogftp admin lock list` shows the lock.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ftplib, dav } from '../harness/clients.ts';
import { BACKENDS, useCluster, type Cluster } from '../harness/cluster.ts';
import { RawFtp } from '../ftp/protocol-raw.ts';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'mogftp.js');

function admin(dbUrl: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.MOGFTP_DEBUG;
  delete env.MOGFTP_CONFIG;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'admin', '--db', dbUrl, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const LOCKINFO =
  '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>' +
  '<D:locktype><D:write/></D:locktype><D:owner>editor on a laptop</D:owner></D:lockinfo>';

async function lock(c: Cluster, path: string, depth: '0' | 'infinity'): Promise<string> {
  const r = await dav(c.dav.url, 'LOCK', path, { body: LOCKINFO, headers: { Depth: depth, Timeout: 'Second-600', 'Content-Type': 'application/xml' } });
  assert.ok(r.status === 200 || r.status === 201, `LOCK ${path}: ${r.status} ${r.text}`);
  const token = /^<(.+)>$/.exec(String(r.headers['lock-token']))?.[1];
  assert.ok(token, 'the LOCK answer names its token');
  return token;
}

/**
 * Runs FTP commands in one session; each line of `calls` is a Python expression, and its result
 * is the reply code (the first three characters of the final reply or of the error).
 */
async function ftpCodes(c: Cluster, calls: Record<string, string>): Promise<Record<string, string>> {
  const body = [
    'def code(f):',
    '    try:',
    '        return str(f())[:3]',
    '    except ftplib.all_errors as e:',
    '        return str(e)[:3]',
    'out = {}',
    ...Object.entries(calls).map(([k, expr]) => `out[${JSON.stringify(k)}] = code(lambda: ${expr})`),
    'print(json.dumps(out))',
  ].join('\n');
  const r = await ftplib(c.port, body);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, string>;
}

async function dataSocket(port: number): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1' });
  s.on('error', () => {}); // the server may cut it when it refuses the upload
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  return s;
}

const stor = (path: string, data: string) => `ftp.storbinary('STOR ${path}', io.BytesIO(b'${data}'))`;

for (const backend of BACKENDS) {
  describe(`WebDAV locks hold for FTP (${backend})`, () => {
    const c = useCluster({ db: backend, ftp: true, dav: true });

    test('a lock on a file refuses FTP STOR, APPE, DELE, RNFR/RNTO, MFMT and SITE CHMOD with 450; UNLOCK lets FTP write again', async () => {
      assert.equal((await dav(c.dav.url, 'PUT', '/a.txt', { body: 'original' })).status, 201);
      const fidBefore = await c.fidOf('/a.txt');
      const token = await lock(c, '/a.txt', '0');

      const refused = await ftpCodes(c, {
        stor: stor('/a.txt', 'from ftp'),
        appe: `ftp.storbinary('APPE /a.txt', io.BytesIO(b'more'))`,
        dele: `ftp.delete('/a.txt')`,
        rename: `ftp.rename('/a.txt', '/b.txt')`,
        renameOnto: `(ftp.storbinary('STOR /c.txt', io.BytesIO(b'c')), ftp.rename('/c.txt', '/a.txt'))[1]`,
        mfmt: `ftp.sendcmd('MFMT 20200101000000 /a.txt')`,
        chmod: `ftp.sendcmd('SITE CHMOD 600 /a.txt')`,
      });
      assert.deepEqual(refused, { stor: '450', appe: '450', dele: '450', rename: '450', renameOnto: '450', mfmt: '450', chmod: '450' });
      // Unchanged: the same version, the same bytes, still there under its name.
      assert.equal(await c.fidOf('/a.txt'), fidBefore);
      assert.equal(await c.fidOf('/b.txt'), null);
      assert.equal((await dav(c.dav.url, 'GET', '/a.txt')).text, 'original');

      // The lock shows in `admin lock list`.
      const listed = await admin(c.dbUrl, ['lock', 'list', '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      const locks = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
      assert.equal(locks.length, 1);
      assert.deepEqual(
        { ...locks[0], expiresAt: undefined },
        { domain: 'default', token, path: '/a.txt', owner: 'editor on a laptop', principal: 'demo', depth: '0', scope: 'exclusive', expiresAt: undefined },
      );
      assert.ok(Date.parse(String(locks[0]!.expiresAt)) > Date.now());

      // WebDAV works exactly as before: without the token 423, with it the write goes through.
      assert.equal((await dav(c.dav.url, 'PUT', '/a.txt', { body: 'no token' })).status, 423);
      assert.equal((await dav(c.dav.url, 'PUT', '/a.txt', { body: 'by the holder', headers: { If: `(<${token}>)` } })).status, 204);
      assert.equal((await dav(c.dav.url, 'GET', '/a.txt')).text, 'by the holder');

      const unlock = await dav(c.dav.url, 'UNLOCK', '/a.txt', { headers: { 'Lock-Token': `<${token}>` } });
      assert.equal(unlock.status, 204);
      const after = await ftpCodes(c, { stor: stor('/a.txt', 'from ftp'), mfmt: `ftp.sendcmd('MFMT 20200101000000 /a.txt')` });
      assert.deepEqual(after, { stor: '226', mfmt: '213' });
      assert.equal((await dav(c.dav.url, 'GET', '/a.txt')).text, 'from ftp');
    });

    test('a depth-infinity lock on a directory refuses FTP writes below it; admin lock clear lifts it', async () => {
      assert.equal((await dav(c.dav.url, 'MKCOL', '/dir')).status, 201);
      assert.equal((await dav(c.dav.url, 'MKCOL', '/dir/sub')).status, 201);
      assert.equal((await dav(c.dav.url, 'PUT', '/dir/sub/f.txt', { body: 'deep' })).status, 201);
      // A depth-0 lock below /other does not stop removing a file elsewhere, but RMD of a
      // directory with a lock inside it is refused.
      assert.equal((await dav(c.dav.url, 'MKCOL', '/other')).status, 201);
      assert.equal((await dav(c.dav.url, 'PUT', '/other/inner.txt', { body: 'inner' })).status, 201);
      assert.equal((await dav(c.dav.url, 'PUT', '/loose.txt', { body: 'loose' })).status, 201);
      await lock(c, '/other/inner.txt', '0');
      const token = await lock(c, '/dir', 'infinity');

      const refused = await ftpCodes(c, {
        storNew: stor('/dir/x', 'new'),
        storDeep: stor('/dir/sub/f.txt', 'over'),
        mkd: `ftp.mkd('/dir/new')`,
        rmd: `ftp.rmd('/dir/sub')`,
        renameDir: `ftp.rename('/dir', '/moved')`,
        renameInto: `ftp.rename('/loose.txt', '/dir/loose.txt')`,
        renameOther: `ftp.rename('/other', '/other2')`,
        deleLoose: `ftp.delete('/loose.txt')`,
      });
      assert.deepEqual(refused, {
        storNew: '450',
        storDeep: '450',
        mkd: '450',
        rmd: '450',
        renameDir: '450',
        renameInto: '450',
        renameOther: '450',
        deleLoose: '250',
      });
      assert.equal(await c.fidOf('/dir/x'), null);
      assert.equal((await dav(c.dav.url, 'GET', '/dir/sub/f.txt')).text, 'deep');
      assert.equal((await dav(c.dav.url, 'PROPFIND', '/other/', { headers: { Depth: '0' } })).status, 207);

      // The lock holder still writes over WebDAV.
      assert.equal((await dav(c.dav.url, 'PUT', '/dir/by-holder.txt', { body: 'h', headers: { If: `(<${token}>)` } })).status, 201);

      const cleared = await admin(c.dbUrl, ['lock', 'clear', '--path', '/dir/']);
      assert.equal(cleared.code, 0, cleared.stderr);
      assert.match(cleared.stdout, /Removed 1 lock on \/dir in domain default/);
      const free = await ftpCodes(c, { stor: stor('/dir/x', 'new'), rmd: `ftp.rmd('/dir/sub')` });
      // RMD of a non-empty directory is refused as before (550), no longer for the lock.
      assert.deepEqual(free, { stor: '226', rmd: '550' });

      const all = await admin(c.dbUrl, ['lock', 'clear', '--all']);
      assert.equal(all.code, 0, all.stderr);
      assert.match(all.stdout, /Removed 1 lock\b/);
      assert.deepEqual(await ftpCodes(c, { renameOther: `ftp.rename('/other', '/other2')` }), { renameOther: '250' });
      const none = await admin(c.dbUrl, ['lock', 'list', '--json']);
      assert.deepEqual(JSON.parse(none.stdout), []);
      const unknown = await admin(c.dbUrl, ['lock', 'clear', token]);
      assert.notEqual(unknown.code, 0);
      assert.match(unknown.stderr, /No lock has the token/);
    });

    test('an FTP upload is refused when a lock is taken while its bytes stream in, and before 150 when the lock was there first', async () => {
      assert.equal((await dav(c.dav.url, 'PUT', '/mid.txt', { body: 'original' })).status, 201);
      assert.equal((await dav(c.dav.url, 'MKCOL', '/middir')).status, 201);
      const fidBefore = await c.fidOf('/mid.txt');
      const ftp = await RawFtp.login(c.port);
      try {
        assert.equal((await ftp.cmd('TYPE I'))?.code, 200);
        // The lock is taken after the server said 150 and the first bytes went out.
        for (const [path, lockPath, depth] of [['/mid.txt', '/mid.txt', '0'], ['/middir/new.txt', '/middir', 'infinity']] as const) {
          const port = await ftp.epsv();
          ftp.send(`STOR ${path}\r\n`);
          const data = await dataSocket(port);
          assert.equal((await ftp.next())?.code, 150, path);
          data.write('part one, ');
          const token = await lock(c, lockPath, depth);
          data.end('part two');
          const r = await ftp.next();
          assert.equal(r?.code, 450, `${path}: ${r?.text}`);
          assert.match(r?.text ?? '', /locked by a WebDAV client/);
          assert.equal((await dav(c.dav.url, 'UNLOCK', lockPath, { headers: { 'Lock-Token': `<${token}>` } })).status, 204);
        }
        assert.equal(await c.fidOf('/mid.txt'), fidBefore);
        assert.equal((await dav(c.dav.url, 'GET', '/mid.txt')).text, 'original');
        assert.equal(await c.fidOf('/middir/new.txt'), null);

        // A lock that was there before the STOR: refused before 150 (RFC 959 gives 450 as a
        // reply to STOR itself, not after the transfer), so the client sends no byte.
        const token = await lock(c, '/mid.txt', '0');
        const port = await ftp.epsv();
        ftp.send('STOR /mid.txt\r\n');
        const data = await dataSocket(port);
        const first = await ftp.next();
        data.destroy();
        assert.equal(first?.code, 450, first?.text);
        assert.equal((await dav(c.dav.url, 'GET', '/mid.txt')).text, 'original');
        assert.equal((await dav(c.dav.url, 'UNLOCK', '/mid.txt', { headers: { 'Lock-Token': `<${token}>` } })).status, 204);
      } finally {
        ftp.close();
      }
    });
  });
}
