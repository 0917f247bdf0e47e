// Abuse limits and the server's life cycle: 3 PASS tries per connection, login throttling per
// address, connection caps, the idle timeout (never during a transfer), graceful shutdown, the
// PROXY protocol, and no process signal handlers. Plain ftp-srv 4.6.3 has none of these (its
// `timeout` kills transfers, its close() drops everything, it installs process.exit handlers).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { openServices } from '../../src/daemons/services.ts';
import { ensureSelfSignedCert } from '../../src/ftp/self-signed.ts';
import { startFtpServer, type FtpServerOptions, type RunningFtpServer } from '../../src/ftp/server.ts';
import { curl, ftpUrl, run } from '../harness/clients.ts';
import { useCluster } from '../harness/cluster.ts';
import { RawFtp, eventually } from './protocol-raw.ts';

type LogEntry = { level: string; msg: string; fields?: Record<string, unknown> };

function proxyV2(src: string, family: 4 | 6): Buffer {
  const sig = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  const addr =
    family === 4
      ? Buffer.concat([Buffer.from(src.split('.').map(Number)), Buffer.from([127, 0, 0, 1]), Buffer.from([0x15, 0xb3, 0x00, 0x15])])
      : Buffer.concat([ipv6Bytes(src), ipv6Bytes('::1'), Buffer.from([0x15, 0xb3, 0x00, 0x15])]);
  const head = Buffer.from([0x21, family === 4 ? 0x11 : 0x21, 0, 0]);
  head.writeUInt16BE(addr.length, 2);
  return Buffer.concat([sig, head, addr]);
}

function ipv6Bytes(text: string): Buffer {
  const [h, t] = text.split('::');
  const head = h ? h.split(':') : [];
  const tail = t ? t.split(':') : [];
  const groups = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

/** A raw upload: EPSV, STOR, then the caller drives the data socket. */
async function startUpload(ftp: RawFtp, name: string) {
  const data = connect({ port: await ftp.epsv(), host: '127.0.0.1' });
  data.on('error', () => {});
  await new Promise((r) => data.once('connect', r));
  const r = await ftp.cmd(`STOR ${name}`);
  assert.equal(r?.code, 150, r?.text);
  return data;
}

describe('FTP limits and life cycle', () => {
  const c = useCluster({ db: 'sqlite' });
  const servers: RunningFtpServer[] = [];
  const start = async (extra: Partial<FtpServerOptions> = {}) => {
    const s = await startFtpServer({ ...c.services, host: '127.0.0.1', port: 0, pasvPorts: [0, 0], ...extra });
    servers.push(s);
    return s;
  };
  c.onStop(async () => {
    for (const s of servers) await s.close({ graceMs: 0 });
  });

  test('a connection gets at most 3 PASS tries (ftplib)', async () => {
    const s = await start();
    const r = await run('python3', [
      '-c',
      `import ftplib, json
ftp = ftplib.FTP(); ftp.connect('127.0.0.1', ${s.port}, timeout=30)
out = []
for i in range(4):
    try:
        ftp.login('demo', 'wrong'); out.append('ok')
    except ftplib.error_perm as e:
        out.append(str(e)[:3])
    except (EOFError, ConnectionError) as e:
        out.append('closed')
print(json.dumps(out))`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), ['530', '530', '530', 'closed']);
  });

  test('too many failed logins from one address refuse it for a while; other addresses still log in', async () => {
    const s = await start({ loginThrottle: { limit: 4, windowMs: 60_000, banMs: 60_000 } });
    for (let i = 0; i < 4; i++) {
      const bad = await curl([ftpUrl(s.port, '/', 'demo', 'wrong')]);
      assert.notEqual(bad.code, 0);
    }
    const { ftp, greeting } = await RawFtp.open(s.port);
    assert.equal(greeting?.code, 421, greeting?.text);
    assert.match(greeting!.text, /failed logins/);
    await ftp.closed;
    // Even the right password is refused from the banned address...
    const good = await curl(['-v', ftpUrl(s.port, '/')]);
    assert.notEqual(good.code, 0);
    assert.match(good.stderr, /< 421 Too many failed logins/);
    // ...but another address is fine.
    const other = await curl(['--interface', '127.0.0.2', ftpUrl(s.port, '/')]);
    assert.equal(other.code, 0, other.stderr);
    // The ban is in the database, so every front-end on it (the servers of the tests below too)
    // would refuse 127.0.0.1: lift it, as `mogftp admin login clear` does.
    assert.equal(await c.services.store.clearLoginAttempts('127.0.0.1'), true);
  });

  test('connection caps, total and per address, answer 421', async () => {
    const s = await start({ maxConnections: 3, maxConnectionsPerAddress: 2 });
    const a1 = await RawFtp.open(s.port);
    const a2 = await RawFtp.open(s.port);
    assert.equal(a1.greeting?.code, 220);
    assert.equal(a2.greeting?.code, 220);
    const a3 = await RawFtp.open(s.port);
    assert.equal(a3.greeting?.code, 421);
    assert.match(a3.greeting!.text, /from your address/);
    const b1 = await RawFtp.open(s.port, { localAddress: '127.0.0.2' });
    assert.equal(b1.greeting?.code, 220);
    const c1 = await RawFtp.open(s.port, { localAddress: '127.0.0.3' });
    assert.equal(c1.greeting?.code, 421);
    assert.match(c1.greeting!.text, /Too many connections \(3\)/);
    a1.ftp.close();
    await eventually(async () => {
      const again = await RawFtp.open(s.port, { localAddress: '127.0.0.3' });
      again.ftp.close();
      return again.greeting?.code === 220;
    }, 10_000, 'a slot freed');
    for (const x of [a2, b1]) x.ftp.close();
  });

  test('an over-long command line gets exactly one 500, then the connection closes; nothing after it runs, other sessions go on', async () => {
    const s = await start();
    const other = await RawFtp.login(s.port);
    const pause = () => new Promise((r) => setTimeout(r, 100));
    const cases: Array<{ why: string; send: (ftp: RawFtp) => Promise<void>; before: number[] }> = [
      // Arrives in several reads: the first ones end without a newline.
      { why: '100 000 bytes in one write', before: [], send: async (ftp) => ftp.send(`MKD ${'x'.repeat(100_000)}\r\nMKD after-1\r\n`) },
      // Arrives whole, newline included.
      { why: 'a 9000-byte line in one write', before: [], send: async (ftp) => ftp.send(`NOOP ${'x'.repeat(9000)}\r\nMKD after-2\r\n`) },
      {
        why: 'a line split across writes',
        before: [],
        send: async (ftp) => {
          ftp.send(`MKD ${'x'.repeat(9000)}`);
          await pause();
          ftp.send('x'.repeat(9000));
          await pause();
          ftp.send('\r\nMKD after-3\r\n');
        },
      },
      { why: 'behind pipelined commands', before: [200, 257], send: async (ftp) => ftp.send(`NOOP\r\nPWD\r\n${'y'.repeat(20_000)}\r\nMKD after-4\r\n`) },
    ];
    for (const { why, send, before } of cases) {
      const ftp = await RawFtp.login(s.port);
      await send(ftp);
      const codes: number[] = [];
      const texts: string[] = [];
      for (;;) {
        const r = await ftp.next(5000).catch(() => assert.fail(`${why}: still open 5 s after ${JSON.stringify(texts)}`));
        if (!r) break;
        codes.push(r.code);
        texts.push(r.text);
      }
      assert.deepEqual(codes, [...before, 500], `${why}: ${JSON.stringify(texts)}`);
      assert.match(texts.at(-1)!, /too long/i, why);
      await ftp.closed;
    }
    for (let i = 1; i <= cases.length; i++) assert.equal(await c.services.store.resolvePath(c.domainId, [`after-${i}`]), null, `MKD after-${i} ran`);
    // The server and its other sessions carry on.
    assert.equal((await other.cmd('NOOP'))?.code, 200);
    const fresh = await RawFtp.login(s.port);
    assert.equal((await fresh.cmd('PWD'))?.code, 257);
    fresh.close();
    other.close();
  });

  test('over implicit FTPS the 421 arrives after the handshake (curl sees it)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mogftp-limits-tls-'));
    try {
      const made = await ensureSelfSignedCert(dir);
      assert.ok(made.pair);
      const s = await start({ tlsCert: made.pair.cert, tlsKey: made.pair.key, ftpsPort: 0, maxConnectionsPerAddress: 1 });
      const first = tlsConnect({ port: s.ftpsPort!, host: '127.0.0.1', rejectUnauthorized: false });
      first.on('error', () => {});
      await new Promise((r) => first.once('data', r));
      const second = await curl(['-v', '-k', `ftps://demo:demo@127.0.0.1:${s.ftpsPort}/`]);
      assert.notEqual(second.code, 0);
      assert.match(second.stderr, /< 421 Too many connections from your address/);
      first.destroy();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the idle timeout closes idle connections with 421 but never fires during a transfer', async () => {
    const s = await start({ idleTimeoutMs: 1000 });
    const idle = await RawFtp.login(s.port);
    const slow = await RawFtp.login(s.port);
    const data = await startUpload(slow, 'slow.bin');
    const chunks = 12;
    for (let i = 0; i < chunks; i++) {
      data.write(randomBytes(1024));
      await new Promise((r) => setTimeout(r, 300));
    }
    data.end();
    const done = await slow.next();
    assert.equal(done?.code, 226, done?.text);
    const entry = await c.services.store.resolvePath(c.domainId, ['slow.bin']);
    assert.equal(entry?.size, chunks * 1024);
    // The idle one was closed long ago.
    const bye = await idle.next(1000);
    assert.equal(bye?.code, 421);
    assert.match(bye!.text, /[Ii]dle/);
    await idle.closed;
    // And now the slow one is idle too.
    assert.equal((await slow.next(15_000))?.code, 421);
  });

  test('graceful shutdown: stops accepting, closes idle sessions, lets a running upload finish', async () => {
    const s = await start();
    const idle = await RawFtp.login(s.port);
    const up = await RawFtp.login(s.port);
    const data = await startUpload(up, 'graceful.bin');
    const payload = randomBytes(64 * 1024);
    data.write(payload.subarray(0, 1024));
    const closing = s.close({ graceMs: 30_000 });
    assert.equal((await idle.next())?.code, 421);
    await idle.closed;
    await eventually(
      () =>
        new Promise<boolean>((resolve) => {
          const probe = connect({ port: s.port, host: '127.0.0.1' });
          probe.once('connect', () => (probe.destroy(), resolve(false)));
          probe.once('error', () => resolve(true));
        }),
      5000,
      'listener closed',
    );
    for (let off = 1024; off < payload.length; off += 8192) {
      data.write(payload.subarray(off, off + 8192));
      await new Promise((r) => setTimeout(r, 50));
    }
    data.end();
    assert.equal((await up.next())?.code, 226);
    await closing;
    const entry = await c.services.store.resolvePath(c.domainId, ['graceful.bin']);
    assert.equal(entry?.size, payload.length);
  });

  test('graceful shutdown: after the grace time a running upload is aborted and nothing is stored', async () => {
    const s = await start();
    const up = await RawFtp.login(s.port);
    const data = await startUpload(up, 'aborted.bin');
    data.write(randomBytes(4096));
    await s.close({ graceMs: 300 });
    const replies = [];
    for (let r = await up.next(); r; r = await up.next()) replies.push(r.code);
    assert.equal(replies[0], 426, replies.join(','));
    assert.equal(await c.fidOf('/aborted.bin'), null);
    data.destroy();
  });

  test('PROXY protocol v1 and v2: the real client address is used for logs, PORT checks and throttling', async () => {
    const logs: LogEntry[] = [];
    const s = await start({ proxyProtocol: true, loginThrottle: { limit: 2, windowMs: 60_000, banMs: 60_000 }, log: (level, msg, fields) => logs.push({ level, msg, fields }) });
    const v1 = await RawFtp.login(s.port, 'demo', 'demo', { preamble: 'PROXY TCP4 192.0.2.9 127.0.0.1 5555 21\r\n' });
    assert.match((await v1.cmd('STAT'))!.text, /Connected from 192\.0\.2\.9/);
    assert.match((await v1.cmd('PORT 127,0,0,1,200,10'))!.text, /^500 .*192\.0\.2\.9/);
    assert.equal((await v1.cmd('EPRT |1|192.0.2.9|51210|'))?.code, 200);
    // Passive data connections still come through from where the control connection did.
    const port = await v1.epsv();
    const listing = new Promise<string>((resolve) => {
      const d = connect({ port, host: '127.0.0.1' });
      let text = '';
      d.on('data', (b) => (text += b));
      d.on('close', () => resolve(text));
    });
    assert.equal((await v1.cmd('NLST'))?.code, 150);
    assert.equal((await v1.next())?.code, 226);
    await listing;
    v1.close();
    assert.ok(logs.some((l) => l.msg === 'login' && l.fields?.ip === '192.0.2.9'), JSON.stringify(logs.filter((l) => l.msg === 'login')));

    const v2 = await RawFtp.login(s.port, 'demo', 'demo', { preamble: proxyV2('198.51.100.20', 4) });
    assert.match((await v2.cmd('STAT'))!.text, /Connected from 198\.51\.100\.20/);
    v2.close();
    const v2six = await RawFtp.login(s.port, 'demo', 'demo', { preamble: proxyV2('2001:db8::7', 6) });
    assert.match((await v2six.cmd('STAT'))!.text, /Connected from 2001:db8:0:0:0:0:0:7/);
    v2six.close();

    // Two failures from the proxied 203.0.113.5 ban it, not the proxy's own address.
    const bad = await RawFtp.open(s.port, { preamble: 'PROXY TCP4 203.0.113.5 127.0.0.1 5555 21\r\n' });
    await bad.ftp.cmd('USER demo');
    await bad.ftp.cmd('PASS wrong');
    await bad.ftp.cmd('USER demo');
    await bad.ftp.cmd('PASS wrong');
    await bad.ftp.closed;
    const banned = await RawFtp.open(s.port, { preamble: 'PROXY TCP4 203.0.113.5 127.0.0.1 5556 21\r\n' });
    assert.equal(banned.greeting?.code, 421);
    const fine = await RawFtp.open(s.port, { preamble: 'PROXY TCP4 203.0.113.6 127.0.0.1 5557 21\r\n' });
    assert.equal(fine.greeting?.code, 220);
    fine.ftp.close();

    // Without a header, a PROXY-enabled listener says nothing and closes.
    const { ftp: none, greeting } = await RawFtp.open(s.port, { preamble: 'USER demo\r\n' }).catch(() => ({ ftp: null, greeting: null }));
    assert.equal(greeting, null);
    none?.close();
    // Off by default: a PROXY line is then just an unknown command.
    const plain = await start();
    const p = await RawFtp.open(plain.port);
    assert.ok([500, 502].includes((await p.ftp.cmd('PROXY TCP4 192.0.2.9 127.0.0.1 5555 21'))!.code));
    assert.match((await p.ftp.cmd('STAT'))!.text, /^530|Connected from 127\.0\.0\.1/);
    p.ftp.close();
  });

  test('a login while the database is unreachable is told to come back (421), and is not a failed login', async () => {
    const other = await openServices({ dbUrl: c.dbUrl });
    const s = await startFtpServer({ ...other, host: '127.0.0.1', port: 0, pasvPorts: [0, 0], loginThrottle: { limit: 1, windowMs: 60_000, banMs: 60_000 } });
    servers.push(s);
    await other.store.close();
    const { ftp } = await RawFtp.open(s.port);
    assert.equal((await ftp.cmd('USER demo'))?.code, 331);
    const r = await ftp.cmd('PASS demo');
    assert.equal(r?.code, 421, r?.text);
    assert.match(r!.text, /try again later/);
    await ftp.closed;
    // With a limit of 1, a counted failure would have banned the address.
    const again = await RawFtp.open(s.port);
    assert.equal(again.greeting?.code, 220);
    again.ftp.close();
  });

  test('starting a server installs no process signal handlers', async () => {
    const before = ['SIGTERM', 'SIGINT', 'SIGQUIT'].map((sig) => process.listenerCount(sig));
    await start();
    assert.deepEqual(['SIGTERM', 'SIGINT', 'SIGQUIT'].map((sig) => process.listenerCount(sig)), before);
  });
});
