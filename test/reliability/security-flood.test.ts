// Flooding a front-end with commands it is never allowed to answer (issue 15, finding 2): six
// raw connections each send `HELP\r\n` over and over, 6 MB apiece, and never read a reply; the
// same for WebDAV with pipelined requests. Against real `mogftp ftp` and `mogftp dav` processes,
// so their resident memory can be read from /proc. The server must stop reading from such a
// client (backpressure), keep its memory bounded, serve everybody else meanwhile, and drop the
// flooder once it has left its replies unread for the stall timeout.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { curl, ftpUrl } from '../harness/clients.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256File } from '../harness/cluster-files.ts';
import { useCluster } from '../harness/cluster.ts';
import { type DaemonProcess } from '../harness/daemons.ts';
import { until } from '../harness/wait.ts';
import { contentBuffer, contentStream, newContent } from './lib/content.ts';
import { trackFigures } from './lib/figures.ts';
import { loggedIn, RawFtp } from './lib/ftp.ts';

const fig = trackFigures('security-flood');
const FLOODERS = 6;
const FLOOD_BYTES = 6 * 1024 * 1024;
/** Seconds a client may leave its replies unread before the server drops it (set short here). */
const STALL_S = 3;
/** The most the whole flood may add to the server's resident memory (about 17 MB a connection). */
const GROWTH_LIMIT_KB = 100 * 1024;
/**
 * One password check in progress: scrypt at N=2^17, r=8 takes 128 MiB while it runs. WebDAV
 * re-checks the flooders' (valid) credentials when its 10 s login cache runs out, so its bound
 * allows for one; the FTP test logs in before it measures.
 */
const ONE_LOGIN_KB = 130 * 1024;
/** Past this the process is killed at once: the flood is out of control. */
const RUNAWAY_KB = 400 * 1024;

interface Flooder {
  socket: net.Socket;
  closed: boolean;
}

/**
 * Opens `count` connections that each write `unit` repeated to FLOOD_BYTES and never read: no
 * 'data' listener, so the socket stays paused and what the server sends piles up in the kernel.
 */
async function flood(port: number, unit: string, count = FLOODERS): Promise<Flooder[]> {
  const chunk = Buffer.from(unit.repeat(Math.ceil(65536 / unit.length)));
  const flooders: Flooder[] = [];
  for (let i = 0; i < count; i++) {
    const socket = net.connect({ host: '127.0.0.1', port });
    const f: Flooder = { socket, closed: false };
    socket.on('error', () => {});
    socket.once('close', () => (f.closed = true));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    // Bounded: at most FLOOD_BYTES per connection, buffered client-side where the server won't take it.
    for (let sent = 0; sent < FLOOD_BYTES; sent += chunk.length) socket.write(chunk);
    flooders.push(f);
  }
  return flooders;
}

/** Samples the process's VmRSS every 100 ms; kills it (and fails) once it grows past the limit. */
function watchRss(pid: number, kill: () => void): { peakKb: () => number; baseKb: number; stop(): void; over: () => boolean } {
  const read = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  const baseKb = read();
  let peak = baseKb;
  let over = false;
  const started = Date.now();
  const timer = setInterval(() => {
    let now: number;
    try {
      now = read();
    } catch {
      return; // exited
    }
    peak = Math.max(peak, now);
    // Stop a runaway before it takes the machine with it; the assertion below then fails.
    if (!over && peak - baseKb > RUNAWAY_KB) {
      over = true;
      process.stdout.write(`# rss ${Math.round(peak / 1024)} MB (base ${Math.round(baseKb / 1024)} MB) ${Date.now() - started} ms into the flood: killed\n`);
      kill();
    }
  }, 100);
  return { baseKb, peakKb: () => peak, over: () => over, stop: () => clearInterval(timer) };
}

const alive = (p: DaemonProcess) => p.proc.exitCode === null && p.proc.signalCode === null;

describe('floods that never read their replies', () => {
  const c = useCluster({ db: 'sqlite', nodes: 2, mindevcount: 2, auth: false });
  let tmp: string;
  const file = newContent(1024 * 1024);
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'mogftp-flood-'));
  });
  after(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test(`FTP: ${FLOODERS} connections × 6 MB of HELP, never read: memory stays bounded, others are served, the flooders are dropped`, async () => {
    fig.scenario(`${FLOODERS} × 6 MB HELP flood, replies never read`);
    const fe = await c.startFrontendProcess([], { MOGFTP_REPLY_STALL_TIMEOUT: String(STALL_S) });
    // Logged in before the flood: a login hashes the password with scrypt (128 MiB for a moment),
    // which would otherwise be counted as the flood's.
    const during = await loggedIn(fe.port);
    const rss = watchRss(fe.pid, () => fe.proc.kill('SIGKILL'));
    try {
      const flooders = await flood(fe.port, 'HELP\r\n');
      fig.fault(FLOODERS);
      // A normal client meanwhile stores and reads back a file, and a new connection is greeted.
      const stored = await during.stor('/during-flood.bin', contentStream(file.seed, file.size));
      assert.ok(!rss.over(), `RSS grew past ${RUNAWAY_KB / 1024} MB above its base: killed`);
      assert.equal(stored.final.code, 226, `${stored.final.code} ${stored.final.text}\nserver alive: ${alive(fe)}\n${fe.output()}`);
      fig.up(file.size);
      const read = await during.retr('/during-flood.bin');
      assert.equal(read.final.code, 226);
      assert.equal(read.sha256, file.sha256);
      fig.down(file.size);
      fig.verified();
      const fresh = await RawFtp.connect(fe.port);
      assert.equal(fresh.greeting.code, 220);
      assert.equal((await fresh.cmd('FEAT')).code, 211);
      fresh.socket.destroy();
      // The server stops taking their commands and, once they have left replies unread for the
      // stall timeout, closes them: all six end without the test closing them.
      await until('the server to drop every flooder', () => flooders.every((f) => f.closed) || !alive(fe) || rss.over(), (STALL_S + 60) * 1000, 100);
      assert.ok(alive(fe), `the server died under the flood:\n${fe.output()}`);
      assert.ok(!rss.over(), `RSS grew past ${RUNAWAY_KB / 1024} MB above ${Math.round(rss.baseKb / 1024)} MB: killed`);
      rss.stop();
      const growth = rss.peakKb() - rss.baseKb;
      process.stdout.write(`# ftp flood: rss base ${Math.round(rss.baseKb / 1024)} MB, peak ${Math.round(rss.peakKb() / 1024)} MB, growth ${Math.round(growth / 1024)} MB\n`);
      assert.ok(growth < GROWTH_LIMIT_KB, `RSS grew by ${Math.round(growth / 1024)} MB (limit ${GROWTH_LIMIT_KB / 1024} MB)`);
      assert.match(fe.output(), /client dropped: it does not read its replies/);
      // Afterwards a new client (curl: its own login) stores and reads back.
      const put = await curl(['-T', '-', ftpUrl(fe.port, '/after-flood.bin')], { input: contentBuffer(file.seed, file.size), timeoutMs: 60_000 });
      assert.equal(put.code, 0, put.stderr);
      const got = await curl(['-o', join(tmp, 'ftp.bin'), ftpUrl(fe.port, '/after-flood.bin')], { timeoutMs: 60_000 });
      assert.equal(got.code, 0, got.stderr);
      assert.equal(await sha256File(join(tmp, 'ftp.bin')), file.sha256);
      await during.quit().catch(() => {});
    } finally {
      rss.stop();
      await fe.kill('SIGKILL');
    }
  });

  test(`WebDAV: ${FLOODERS} connections × 6 MB of pipelined requests, never read: memory stays bounded, others are served`, async () => {
    fig.scenario(`${FLOODERS} × 6 MB pipelined WebDAV requests, responses never read`);
    const ftp = await c.startFtp();
    const put = await curl(['-T', '-', ftpUrl(ftp.port, '/dav-file.bin')], { input: contentBuffer(file.seed, file.size), timeoutMs: 60_000 });
    assert.equal(put.code, 0, put.stderr);
    const dav = await c.startDavProcess();
    // One request first, so the login (scrypt, 128 MiB for a moment) is cached and not counted.
    const warm = await curl(['-u', 'demo:demo', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${dav.port}/`], { timeoutMs: 60_000 });
    assert.equal(warm.stdout, '200', warm.stderr);
    const rss = watchRss(dav.pid, () => dav.proc.kill('SIGKILL'));
    try {
      const auth = `Basic ${Buffer.from('demo:demo').toString('base64')}`;
      // Each asks for the whole 1 MB file: a server that answered them all at once would hold many copies.
      const get = `GET /dav-file.bin HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\n\r\n`;
      const propfind = `PROPFIND / HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nDepth: 1\r\nContent-Length: 0\r\n\r\n`;
      const flooders = [...(await flood(dav.port, get, FLOODERS / 2)), ...(await flood(dav.port, propfind, FLOODERS / 2))];
      fig.fault(FLOODERS);
      const got = await curl(['-u', 'demo:demo', '-o', join(tmp, 'dav.bin'), `http://127.0.0.1:${dav.port}/dav-file.bin`], { timeoutMs: 60_000 });
      assert.ok(!rss.over(), `RSS grew past ${RUNAWAY_KB / 1024} MB above its base: killed`);
      assert.equal(got.code, 0, `${got.stderr}\nserver alive: ${alive(dav)}\n${dav.output()}`);
      assert.equal(await sha256File(join(tmp, 'dav.bin')), file.sha256);
      fig.down(file.size);
      fig.verified();
      const body = contentBuffer(file.seed, 4096);
      const up = await curl(['-u', 'demo:demo', '-T', '-', '-w', '%{http_code}', `http://127.0.0.1:${dav.port}/during-dav-flood.bin`], { input: body, timeoutMs: 60_000 });
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stdout, /^20[14]$/);
      // Give the flood time to do its worst: until no flooder's bytes move any more (the server
      // stopped reading them) or they are all closed.
      let last = -1;
      await until(
        'the server to stop reading from the flooders or close them',
        () => {
          const pending = flooders.reduce((n, f) => n + (f.closed ? 0 : f.socket.writableLength), 0);
          const settled = pending === last;
          last = pending;
          return flooders.every((f) => f.closed) || (settled && pending > 0) || !alive(dav) || rss.over();
        },
        120_000,
        2000,
      );
      assert.ok(alive(dav), `the server died under the flood:\n${dav.output()}`);
      assert.ok(!rss.over(), `RSS grew past ${RUNAWAY_KB / 1024} MB above ${Math.round(rss.baseKb / 1024)} MB: killed`);
      // Not every byte went in: the server held back (or closed) rather than read 36 MB of requests.
      const unsent = flooders.filter((f) => !f.closed).reduce((n, f) => n + f.socket.writableLength, 0);
      assert.ok(flooders.some((f) => f.closed) || unsent > 0, 'the server read every flooded byte');
      const growth = rss.peakKb() - rss.baseKb;
      process.stdout.write(`# dav flood: rss base ${Math.round(rss.baseKb / 1024)} MB, peak ${Math.round(rss.peakKb() / 1024)} MB, growth ${Math.round(growth / 1024)} MB\n`);
      const limit = GROWTH_LIMIT_KB + ONE_LOGIN_KB;
      assert.ok(growth < limit, `RSS grew by ${Math.round(growth / 1024)} MB (limit ${limit / 1024} MB: the flood's ${GROWTH_LIMIT_KB / 1024} and one login's)`);
      for (const f of flooders) f.socket.destroy();
      const again = await curl(['-u', 'demo:demo', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${dav.port}/dav-file.bin`], { timeoutMs: 60_000 });
      assert.equal(again.stdout, '200', again.stderr);
    } finally {
      rss.stop();
      await dav.kill('SIGKILL');
    }
  });
});
