// Protocol abuse (issue 8, hostile input continued), against `mogftp ftp` processes so their file
// descriptors can be counted: PORT/EPRT aimed at a third party (bounce), brute-forced PASS,
// 2000 PASV on one session, 1000 idle connections, slowloris, and a data connection from an
// address other than the control connection's. Other loopback addresses (127.0.0.x) stand in
// for other hosts. Each: a clear FTP error or a closed connection, the server serves others on,
// nothing leaks.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { useCluster } from '../harness/cluster.ts';
import { type DaemonProcess } from '../harness/daemons.ts';
import { sleep, until } from '../harness/wait.ts';
import { contentStream, newContent } from './lib/content.ts';
import { trackFigures } from './lib/figures.ts';
import { loggedIn, RawFtp } from './lib/ftp.ts';

const fig = trackFigures('abuse');
const IDLE_S = 3;
/**
 * The 1000-idle-connections test's own front-end idles connections out after this long: opening
 * 1000 took 3.4 s on a loaded machine, so with IDLE_S the first were closed before the last were
 * open and the count never reached 1000.
 */
const IDLE_1000_S = 12;

/** A listener on a loopback address, counting the connections it receives. */
async function listener(host: string): Promise<{ port: number; accepted: () => number; data: () => string; close(): Promise<void> }> {
  let accepted = 0;
  let data = '';
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('data', (d) => (data += d.toString()));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    data: () => data,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Opens a plain TCP connection from `localAddress` and waits for the greeting. */
async function rawConnection(port: number, localAddress: string): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1', localAddress });
  s.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    s.once('data', () => resolve());
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed before the greeting')));
  });
  return s;
}

describe('protocol abuse', () => {
  const c = useCluster({ db: 'sqlite', nodes: 2, mindevcount: 2, auth: false });
  let fe: DaemonProcess;
  let file: ReturnType<typeof newContent>;
  before(async () => {
    fe = await c.startFrontendProcess(['--idle-timeout', String(IDLE_S)]);
    file = newContent(300_000);
    const ftp = await loggedIn(fe.port);
    assert.equal((await ftp.stor('/file.bin', contentStream(file.seed, file.size))).final.code, 226);
    fig.up(file.size);
    await ftp.quit();
  });

  async function stillServes(from = '127.0.0.1', on: DaemonProcess = fe): Promise<void> {
    const ftp = await loggedIn(on.port, 'demo', 'demo', { localAddress: from });
    const r = await ftp.retr('/file.bin');
    assert.equal(r.final.code, 226);
    assert.equal(r.sha256, file.sha256);
    fig.down(r.bytes);
    fig.verified();
    await ftp.quit();
  }

  test('PORT and EPRT naming a third party are refused and nothing connects there; to the client itself they work', async () => {
    fig.scenario('PORT/EPRT bounce to a third-party address');
    const victim = await listener('127.0.0.2');
    const own = await listener('127.0.0.1');
    try {
      const ftp = await loggedIn(fe.port);
      const p = victim.port;
      for (const cmd of [`PORT 127,0,0,2,${p >> 8},${p & 255}`, `EPRT |1|127.0.0.2|${p}|`, `EPRT |2|::ffff:127.0.0.2|${p}|`]) {
        const r = await ftp.cmd(cmd);
        assert.ok(r.code >= 500, `${cmd} → ${r.code} ${r.text}`);
        const list = await ftp.cmd('LIST');
        assert.ok(list.code >= 400, `LIST after a refused ${cmd} → ${list.code} ${list.text}`);
        fig.fault();
      }
      await sleep(300);
      assert.equal(victim.accepted(), 0, 'the server never connected to the third party');
      // The same commands naming the client's own address do work (active mode is not just off).
      const o = own.port;
      assert.equal((await ftp.cmd(`PORT 127,0,0,1,${o >> 8},${o & 255}`)).code, 200);
      assert.equal((await ftp.cmd('NLST')).code, 150);
      assert.equal((await ftp.next()).code, 226);
      await until('the listing over the active connection', () => own.data().includes('file.bin'));
      await ftp.quit();
    } finally {
      await victim.close();
      await own.close();
    }
    await stillServes();
  });

  test('a data connection from another address than the control connection is refused; the client gets its file', async () => {
    fig.scenario('foreign data connection to a passive port');
    const ftp = await loggedIn(fe.port);
    const r = await ftp.cmd('EPSV');
    const port = Number(/\|\|\|(\d+)\|/.exec(r.text)![1]);
    // The intruder gets there first, from 127.0.0.5.
    const intruder = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.5' });
    let stolen = 0;
    intruder.on('data', (d) => (stolen += d.length));
    intruder.on('error', () => {});
    const intruderClosed = new Promise((res) => intruder.once('close', res));
    await new Promise((res) => intruder.once('connect', res));
    fig.fault();
    const data = net.connect({ host: '127.0.0.1', port });
    const got: Buffer[] = [];
    data.on('data', (d) => got.push(d));
    const done = new Promise((res) => data.once('close', res));
    await new Promise((res) => data.once('connect', res));
    const prelim = await ftp.cmd('RETR /file.bin');
    assert.equal(prelim.code, 150, `${prelim.code} ${prelim.text}`);
    await done;
    assert.equal((await ftp.next()).code, 226);
    assert.equal(Buffer.concat(got).length, file.size, 'the client got the whole file');
    await Promise.race([intruderClosed, sleep(2000)]);
    assert.equal(stolen, 0, 'the intruder got nothing');
    assert.ok(intruder.destroyed || intruder.readableEnded, 'the intruder was disconnected');
    intruder.destroy();
    await ftp.quit();
  });

  test('2000 PASV on one session keep one listener at a time, and the session still transfers', async () => {
    fig.scenario('2000 PASV/EPSV on one session');
    const ftp = await loggedIn(fe.port);
    await sleep(200);
    const before = fe.fds();
    for (let i = 0; i < 2000; i++) {
      const r = await ftp.cmd(i % 2 ? 'PASV' : 'EPSV');
      assert.ok(r.code === 227 || r.code === 229, `${i}: ${r.code} ${r.text}`);
    }
    fig.fault(2000);
    const during = fe.fds();
    assert.ok(during <= before + 5, `fds ${before} → ${during} after 2000 PASV`);
    const back = await ftp.retr('/file.bin');
    assert.equal(back.sha256, file.sha256);
    fig.down(back.bytes);
    await ftp.quit();
    await until('fds back to where they were', () => fe.fds() <= before + 2, 10_000);
  });

  test('1000 idle connections: others are served meanwhile, and the idle ones are closed by the idle timeout', async () => {
    fig.scenario('1000 idle control connections');
    const idleFe = await c.startFrontendProcess(['--idle-timeout', String(IDLE_1000_S)]);
    const before = idleFe.fds();
    const idle: net.Socket[] = [];
    let closedByServer = 0;
    // 50 at a time (each waits for its greeting), so all are open well within the idle timeout.
    for (let i = 0; i < 1000; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, (_, j) => rawConnection(idleFe.port, `127.0.0.${10 + ((i + j) % 200)}`)));
      for (const s of batch) {
        s.once('close', () => closedByServer++);
        idle.push(s);
      }
    }
    fig.fault(1000);
    // Every one was greeted, so the server accepted it; its descriptor count shows them all once
    // it has caught up. Waited for, not sampled: on a loaded machine it may lag.
    let held = 0;
    await until(
      'the server to hold all 1000 at once',
      () => {
        held = idleFe.fds() - before;
        assert.equal(closedByServer, 0, `${closedByServer} closed by the server within the idle timeout (${held} held)`);
        return held >= 995;
      },
      (IDLE_1000_S - 2) * 1000,
      50,
    );
    await stillServes('127.0.0.1', idleFe);
    await until('the server to close every idle connection', () => closedByServer === 1000, (IDLE_1000_S + 15) * 1000, 250);
    for (const s of idle) s.destroy();
    await until(`fds back near ${before}`, () => idleFe.fds() <= before + 5, 10_000);
    await stillServes('127.0.0.1', idleFe);
    await idleFe.kill();
  });

  test('slowloris connections do not stop others being served', async () => {
    fig.scenario('slowloris: 50 connections sending a byte a second');
    const slow = await Promise.all(Array.from({ length: 50 }, (_, i) => rawConnection(fe.port, `127.0.1.${1 + i}`)));
    let open = true;
    const drip = (async () => {
      for (let t = 0; open && t < 30; t++) {
        for (const s of slow) if (!s.destroyed) s.write('U');
        await sleep(1000);
      }
    })();
    fig.fault(50);
    try {
      await sleep(1500);
      await stillServes();
      await stillServes('127.0.1.1');
    } finally {
      open = false;
      await drip;
      for (const s of slow) s.destroy();
    }
  });

  test(
    'a slowloris connection (a byte a second, never a whole command) is closed by the idle timeout',
    // Only finished commands count as activity: bytes of a line that never ends do not.
    async () => {
      const s = await rawConnection(fe.port, '127.0.2.1');
      let closed = false;
      s.once('close', () => (closed = true));
      const started = Date.now();
      while (!closed && Date.now() - started < (IDLE_S + 4) * 1000) {
        s.write('U');
        await sleep(1000);
      }
      s.destroy();
      assert.ok(closed, `still open after ${Math.round((Date.now() - started) / 1000)} s of a byte a second with --idle-timeout ${IDLE_S}`);
    },
  );
});

describe('brute-forced PASS', () => {
  const c = useCluster({ db: 'sqlite', nodes: 1, mindevcount: 1, auth: false });
  let fe: DaemonProcess;
  before(async () => {
    fe = await c.startFrontendProcess(); // default limits: 10 failures a minute, then 5 minutes out
  });

  test('wrong passwords from one address: at most 3 per connection, then the address is refused, even with the right one; others are not', async () => {
    fig.scenario('PASS brute force from one address');
    const attacker = '127.0.3.1';
    let failures = 0;
    let refused = '';
    for (let conn = 0; conn < 10 && !refused; conn++) {
      const ftp = await RawFtp.connect(fe.port, { localAddress: attacker });
      for (let i = 0; i < 5; i++) {
        const r = await ftp.login('demo', `guess-${conn}-${i}`).catch(() => null);
        if (!r) break; // closed after too many tries
        if (r.code === 421) {
          refused = `${r.code} ${r.text}`;
          break;
        }
        assert.equal(r.code, 530);
        failures++;
      }
      assert.ok(ftp.closed || refused, `connection ${conn} allowed more than 3 tries`);
      ftp.destroy();
    }
    fig.fault(failures);
    assert.ok(failures <= 10, `${failures} guesses were checked before the address was refused`);
    // The right password from the banned address is refused too.
    const late = await RawFtp.connect(fe.port, { localAddress: attacker }).catch(() => null);
    if (late) {
      const r = await late.login('demo', 'demo').catch(() => null);
      assert.ok(!r || r.code !== 230, `banned address logged in: ${r?.code} ${r?.text}`);
      late.destroy();
    }
    // Other addresses are served.
    const ok = await loggedIn(fe.port, 'demo', 'demo', { localAddress: '127.0.3.2' });
    assert.equal((await ok.cmd('PWD')).code, 257);
    await ok.quit();
  });
});
