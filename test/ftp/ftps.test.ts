// FTPS (RFC 4217) against plain ftp-srv 4.6.3's defects: the AUTH TLS race (a ClientHello read
// as commands), data TLS sessions that never resume the control session (FileZilla refuses to
// go on), no implicit FTPS listener of its own, AUTH TLS advertised without TLS, no require-tls.
// Clients: Python ssl/ftplib (session reuse, as FileZilla does it), curl, raw sockets.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureSelfSignedCert } from '../../src/ftp/self-signed.ts';
import { startFtpServer, type FtpServerOptions, type RunningFtpServer } from '../../src/ftp/server.ts';
import { curl, ftpUrl, run } from '../harness/clients.ts';
import { useCluster } from '../harness/cluster.ts';
import { selfSignedTls } from '../harness/tls.ts';
import { RawFtp } from './protocol-raw.ts';

/** Python prelude: an FTP_TLS that offers the control session on data connections (FileZilla's way). */
const PY_TLS = `import ftplib, ssl, io, json, socket
class Reusing(ftplib.FTP_TLS):
    offer_session = True
    reused = []
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session if self.offer_session else None)
            self.reused.append(conn.session_reused)
        return conn, size
`;

function py(body: string) {
  return run('python3', ['-c', PY_TLS + body], { timeoutMs: 60_000 });
}

function out(r: { code: number | null; stdout: string; stderr: string }): any {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describe('FTPS', () => {
  const c = useCluster({ db: 'sqlite', tmpDir: 'mogftp-ftps-' });
  let dir: string;
  let tls: { tlsCert: string; tlsKey: string };
  const servers: RunningFtpServer[] = [];
  const start = async (extra: Partial<FtpServerOptions> = {}) => {
    const s = await startFtpServer({ ...c.services, host: '127.0.0.1', port: 0, pasvPorts: [0, 0], ...tls, ...extra });
    servers.push(s);
    return s;
  };
  before(async () => {
    dir = c.tmpDir;
    tls = await selfSignedTls(dir);
    await writeFile(join(dir, 'payload.txt'), 'secret payload\n');
  });
  c.onStop(async () => {
    for (const s of servers) await s.close({ graceMs: 0 });
  });

  test('FEAT offers AUTH TLS, PBSZ and PROT only with TLS; PBSZ/PROT need AUTH first; AUTH without TLS is 502', async () => {
    const s = await start();
    const { ftp } = await RawFtp.open(s.port);
    const feats = (await ftp.cmd('FEAT'))!.lines.map((l) => l.trim());
    for (const f of ['AUTH TLS', 'PBSZ', 'PROT']) assert.ok(feats.includes(f), feats.join(' | '));
    assert.equal((await ftp.cmd('PBSZ 0'))?.code, 503);
    assert.equal((await ftp.cmd('PROT P'))?.code, 503);
    assert.equal((await ftp.cmd('AUTH KERBEROS'))?.code, 504);
    ftp.close();
    const plain = await startFtpServer({ ...c.services, host: '127.0.0.1', port: 0 });
    servers.push(plain);
    const { ftp: p } = await RawFtp.open(plain.port);
    assert.equal((await p.cmd('AUTH TLS'))?.code, 502);
    assert.equal((await p.cmd('NOOP'))?.code, 200);
    p.close();
  });

  test('AUTH TLS with the ClientHello in the same packet is never read as commands (20 of 20)', async () => {
    const s = await start();
    const r = await run('python3', [
      '-c',
      `import socket, ssl, json
def session():
    s = socket.create_connection(('127.0.0.1', ${s.port}), timeout=20)
    def raw_reply():
        lines = []
        while True:
            line = b''
            while not line.endswith(b'\\n'):
                b = s.recv(1)
                if not b: raise EOFError('closed')
                line += b
            lines.append(line.decode().rstrip())
            if len(line) > 3 and line[3:4] == b' ': return lines
    raw_reply()
    ctx = ssl._create_unverified_context()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_side=False)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    s.sendall(b'AUTH TLS\\r\\n' + out.read())
    auth = raw_reply()[-1]
    def pump():
        d = out.read()
        if d: s.sendall(d)
        chunk = s.recv(65536)
        if not chunk: raise EOFError('closed during TLS')
        inc.write(chunk)
    while True:
        try:
            obj.do_handshake(); break
        except ssl.SSLWantReadError:
            pump()
    def cmd(line):
        obj.write(line.encode() + b'\\r\\n'); s.sendall(out.read())
        buf = b''
        while True:
            try:
                buf += obj.read(65536)
            except ssl.SSLWantReadError:
                pump(); continue
            lines = buf.decode().split('\\r\\n')
            done = [l for l in lines if len(l) > 3 and l[3] == ' ']
            if done: return done[-1]
    res = [auth[:3], cmd('USER demo')[:3], cmd('PASS demo')[:3], cmd('PWD')]
    s.close()
    return res
print(json.dumps([session() for _ in range(20)]))`,
    ]);
    const sessions = out(r) as string[][];
    assert.equal(sessions.length, 20);
    for (const sess of sessions) assert.deepEqual(sess, ['234', '331', '230', '257 "/" is the current directory']);
  });

  for (const [label, cap] of [['TLS 1.3', ''], ['TLS 1.2', 'ctx.maximum_version = ssl.TLSVersion.TLSv1_2']] as const) {
    test(`data connections resume the control session (${label}), as FileZilla requires`, async () => {
      const s = await start();
      const res = out(
        await py(`ctx = ssl._create_unverified_context()
${cap}
f = Reusing(context=ctx); f.connect('127.0.0.1', ${s.port}, timeout=30); f.login('demo', 'demo'); f.prot_p()
f.storbinary('STOR reuse.bin', io.BytesIO(b'r' * 300000))
b = io.BytesIO(); f.retrbinary('RETR reuse.bin', b.write)
names = f.nlst()
print(json.dumps({'reused': f.reused, 'size': len(b.getvalue()), 'version': f.sock.version(), 'listed': 'reuse.bin' in names}))`),
      );
      assert.deepEqual(res.reused, [true, true, true]);
      assert.equal(res.size, 300000);
      assert.equal(res.listed, true);
      assert.equal(res.version, label === 'TLS 1.3' ? 'TLSv1.3' : 'TLSv1.2');
    });
  }

  test('with require-reuse, a data connection that does not resume is refused and one that does works', async () => {
    const s = await start({ requireTlsSessionReuse: true });
    const res = out(
      await py(`ctx = ssl._create_unverified_context()
f = Reusing(context=ctx); f.connect('127.0.0.1', ${s.port}, timeout=30); f.login('demo', 'demo'); f.prot_p()
f.offer_session = False
try:
    f.nlst(); fresh = 'listed'
except (ftplib.error_temp, ftplib.error_perm) as e:
    fresh = str(e)
except Exception as e:
    # The data connection died under the client: the server's verdict follows on the control connection.
    f.sock.settimeout(10)
    fresh = 'no error reply after ' + type(e).__name__
    try:
        f.getresp()
    except ftplib.Error as late:
        fresh = str(late)
f.offer_session = True
names = f.nlst()
print(json.dumps({'fresh': fresh, 'resumed': 'ok' if isinstance(names, list) else names}))`),
    );
    assert.match(res.fresh, /^426 .*session reuse is required/i);
    assert.equal(res.resumed, 'ok');
  });

  test('implicit FTPS on its own port: curl ftps:// up and down; data is protected without PROT', async () => {
    const s = await start({ ftpsPort: 0 });
    assert.ok(s.ftpsPort);
    const url = `ftps://demo:demo@127.0.0.1:${s.ftpsPort}/implicit.txt`;
    const up = await curl(['-k', '-T', join(dir, 'payload.txt'), url]);
    assert.equal(up.code, 0, up.stderr);
    const down = await curl(['-k', url]);
    assert.equal(down.stdout, 'secret payload\n', down.stderr);
    const res = out(
      await py(`class Implicit(Reusing):
    def connect(self, host, port, timeout=30):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = self.context.wrap_socket(socket.create_connection((host, port), timeout), server_hostname=host)
        self.af = self.sock.family
        self.file = self.sock.makefile('r', encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome
f = Implicit(context=ssl._create_unverified_context()); f.connect('127.0.0.1', ${s.ftpsPort}); f.login('demo', 'demo')
f._prot_p = True   # no PBSZ/PROT sent: implicit FTPS protects data by default
print(json.dumps({'names': f.nlst(), 'reused': f.reused}))`),
    );
    assert.ok(res.names.includes('implicit.txt'));
    assert.deepEqual(res.reused, [true]);
  });

  test('require-tls: no login before AUTH TLS, no PROT C, no clear data connection; curl --ssl-reqd works', async () => {
    const s = await start({ requireTls: true });
    const { ftp } = await RawFtp.open(s.port);
    assert.equal((await ftp.cmd('USER demo'))?.code, 530);
    assert.equal((await ftp.cmd('PASS demo'))?.code, 530);
    await ftp.startTls();
    assert.equal((await ftp.cmd('USER demo'))?.code, 331);
    assert.equal((await ftp.cmd('PASS demo'))?.code, 230);
    assert.equal((await ftp.cmd('EPSV'))?.code, 521);
    assert.equal((await ftp.cmd('PBSZ 0'))?.code, 200);
    assert.equal((await ftp.cmd('PROT C'))?.code, 536);
    assert.equal((await ftp.cmd('PASV'))?.code, 521);
    assert.equal((await ftp.cmd('PROT P'))?.code, 200);
    assert.equal((await ftp.cmd('EPSV'))?.code, 229);
    ftp.close();

    const clear = await curl([ftpUrl(s.port, '/')]);
    assert.notEqual(clear.code, 0);
    const secure = await curl(['--ssl-reqd', '-k', '-T', join(dir, 'payload.txt'), ftpUrl(s.port, '/required.txt')]);
    assert.equal(secure.code, 0, secure.stderr);
    const controlOnly = await curl(['-v', '--ftp-ssl-control', '-k', ftpUrl(s.port, '/required.txt')]);
    assert.notEqual(controlOnly.code, 0, `a clear-text data connection is refused: ${controlOnly.stderr}`);
    const back = await curl(['--ssl-reqd', '-k', ftpUrl(s.port, '/required.txt')]);
    assert.equal(back.stdout, 'secret payload\n', back.stderr);
  });
});
