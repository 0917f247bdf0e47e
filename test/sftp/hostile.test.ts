// The hostile inputs of the FTP suite, against SFTP: traversal out of the home, NUL and overlong
// names, malformed packets, handle and connection floods, out-of-order writes, links. The
// clients are OpenSSH's sftp and the ssh2 package's client (the raw subsystem for what no
// well-behaved client sends); after each, the server still serves.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import ssh2 from 'ssh2';
import type { ClientChannel, SFTPWrapper } from 'ssh2';
import { dav } from '../harness/clients.ts';
import { useCluster } from '../harness/cluster.ts';
import { sftpBatch, startTestSftp, type TestSftp } from './lib.ts';

function connect(port: number, password = 'demo'): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const conn = new ssh2.Client();
    conn.once('ready', () => resolve(conn)).on('error', reject).once('close', () => reject(new Error('closed before ready')));
    conn.connect({ host: '127.0.0.1', port, username: 'demo', password, readyTimeout: 10_000 });
  });
}

function sftpOf(conn: ssh2.Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => conn.sftp((err, s) => (err ? reject(err) : resolve(s))));
}

function rawSubsystem(conn: ssh2.Client): Promise<ClientChannel> {
  return new Promise((resolve, reject) => conn.subsys('sftp', (err, ch) => (err ? reject(err) : resolve(ch))));
}

/** One SFTP packet: length, type, then the fields already encoded. */
function packet(type: number, ...fields: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from([type]), ...fields]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
const str = (s: string | Buffer) => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s)]);

/** Collects the reply packets of a raw channel; next() waits for the next one. */
function replies(ch: ClientChannel): { next(): Promise<Buffer>; ended: Promise<void> } {
  let buf = Buffer.alloc(0);
  const waiting: Array<(b: Buffer) => void> = [];
  const ready: Buffer[] = [];
  ch.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const p = buf.subarray(4, 4 + buf.readUInt32BE(0));
      buf = buf.subarray(4 + p.length);
      const w = waiting.shift();
      if (w) w(p);
      else ready.push(p);
    }
  });
  const ended = new Promise<void>((resolve) => ch.once('close', () => resolve()));
  return { next: () => (ready.length ? Promise.resolve(ready.shift()!) : new Promise((r) => waiting.push(r))), ended };
}

describe('hostile inputs against the SFTP door', () => {
  const c = useCluster({ db: 'sqlite', dav: true, tmpDir: 'mogftp-sftp-hostile-' });
  let t: TestSftp;
  before(async () => {
    t = await startTestSftp(c, join(c.tmpDir, 'keys'), { maxPerAddress: 4, session: { maxHandles: 8, readdirPage: 128, reorderBytes: 1024 * 1024 } });
  });
  after(() => t?.server.close());

  test('paths cannot climb out of the home; links are refused', async () => {
    const r = await sftpBatch(t, ['cd ../../../..', 'pwd', '-get ../../../../etc/passwd /dev/null', '-ln -s /etc/passwd /x', '-ln /etc/passwd /y', 'ls -la /', ''].join('\n'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Remote working directory: \/\n/);
    assert.match(r.stderr, /etc\/passwd.*(not found|No such file)/);
    assert.match(r.stderr, /Operation unsupported|not supported/i);
  });

  test('NUL and overlong names are refused; the session goes on', async () => {
    const conn = await connect(t.port);
    try {
      const sftp = await sftpOf(conn);
      const fails = (p: string) => new Promise<Error | undefined>((resolve) => sftp.mkdir(p, (err) => resolve(err ?? undefined)));
      assert.ok(await fails('/bad\0name'), 'a NUL in a name must fail');
      assert.ok(await fails('/' + 'x'.repeat(300)), 'a 300-byte name must fail');
      assert.ok(await fails('/' + Array(300).fill('d').join('/')), 'a path 300 deep must fail');
      assert.equal(await fails('/fine'), undefined);
    } finally {
      conn.end();
    }
  });

  test('out-of-order WRITEs are put in order; a gap at CLOSE stores nothing', async () => {
    const conn = await connect(t.port);
    try {
      const ch = await rawSubsystem(conn);
      const rx = replies(ch);
      ch.write(packet(1, u32(3)));
      assert.equal((await rx.next())[0], 2, 'VERSION');
      const open = async (id: number, path: string) => {
        ch.write(packet(3, u32(id), str(path), u32(0x02 | 0x08 | 0x10), u32(0)));
        const h = await rx.next();
        assert.equal(h[0], 102, 'HANDLE');
        return h.subarray(9, 9 + h.readUInt32BE(5));
      };
      const status = async () => {
        const s = await rx.next();
        assert.equal(s[0], 101);
        return s.readUInt32BE(5);
      };
      const h = await open(1, '/ordered.txt');
      ch.write(packet(6, u32(2), str(h), u64(5), str('world')));
      ch.write(packet(6, u32(3), str(h), u64(0), str('hello')));
      assert.deepEqual([await status(), await status()], [0, 0]);
      ch.write(packet(4, u32(4), str(h)));
      assert.equal(await status(), 0, 'CLOSE commits');
      const got = await dav(c.dav.url, 'GET', '/ordered.txt');
      assert.equal(got.text, 'helloworld');
      const g = await open(5, '/gap.txt');
      ch.write(packet(6, u32(6), str(g), u64(10), str('late')));
      ch.write(packet(4, u32(7), str(g)));
      assert.equal(await status(), 0, 'the parked WRITE is answered at once (a client waiting for it must not hang)');
      assert.notEqual(await status(), 0, 'CLOSE with a gap fails');
      assert.equal((await dav(c.dav.url, 'GET', '/gap.txt')).status, 404);
      // Early WRITEs beyond the session's reorder budget (1 MiB here) are refused at once, and the handle with them.
      const b = await open(20, '/budget.bin');
      const chunk = Buffer.alloc(250_000, 7);
      for (let i = 0; i < 5; i++) ch.write(packet(6, u32(21 + i), str(b), u64(1 + i * chunk.length), str(chunk)));
      const answers = [];
      for (let i = 0; i < 5; i++) {
        const a = await rx.next();
        answers.push([a[0], a.readUInt32BE(1), a.readUInt32BE(5)]);
      }
      assert.deepEqual(answers.slice(0, 4), [21, 22, 23, 24].map((id) => [101, id, 0]), 'four early WRITEs are parked');
      assert.deepEqual([answers[4]![1], answers[4]![2] !== 0], [25, true], 'the fifth early WRITE is over budget');
      ch.write(packet(4, u32(26), str(b)));
      assert.notEqual(await status(), 0, 'the CLOSE fails');
      assert.equal((await dav(c.dav.url, 'GET', '/budget.bin')).status, 404);
      // A packet longer than any SFTP packet may be: the channel is closed, not the server.
      ch.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1]));
      await rx.ended;
    } finally {
      conn.end();
    }
    const again = await sftpBatch(t, 'ls /\n');
    assert.equal(again.code, 0, again.stderr);
  });

  test('writes inside a file: a resume at its end and an append commit; a rewrite that stops short, a backwards write or a gap stores nothing', async () => {
    const conn = await connect(t.port);
    try {
      const sftp = await sftpOf(conn);
      const call = <T>(f: (cb: (err: Error | undefined | null, v?: T) => void) => void) =>
        new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v as T))));
      /** Opens `path` with `flags`, makes the WRITEs (position, text) and CLOSEs; what failed, by step. */
      const session = async (flags: string, writes: Array<[number, string]>, size?: number) => {
        const h = await call<Buffer>((cb) => sftp.open('/rw.txt', flags as 'r+', cb));
        const failed: string[] = [];
        for (const [pos, text] of writes) {
          const b = Buffer.from(text);
          await call((cb) => sftp.write(h, b, 0, b.length, pos, cb)).catch((err: Error) => failed.push(`write@${pos}: ${err.message}`));
        }
        if (size !== undefined) await call((cb) => sftp.fsetstat(h, { size }, cb));
        await call((cb) => sftp.close(h, cb)).catch((err: Error) => failed.push(`close: ${err.message}`));
        return failed;
      };
      const content = async () => (await dav(c.dav.url, 'GET', '/rw.txt')).text;
      assert.deepEqual(await session('w', [[0, 'a'.repeat(100)]]), []);
      // r+ (no CREAT, no TRUNC): a run over bytes 50-59 only would drop bytes 60-99.
      const short = await session('r+', [[50, 'x'.repeat(10)]]);
      assert.equal(short.length, 1);
      assert.match(short[0]!, /close: .*end at byte 60 of the 100-byte file.*not supported.*unchanged/);
      assert.equal(await content(), 'a'.repeat(100));
      // Going backwards fails that WRITE and the CLOSE.
      const back = await session('r+', [[0, 'b'.repeat(100)], [10, 'c']]);
      assert.equal(back.length, 2, back.join('; '));
      assert.match(back[0]!, /write@10: Cannot write at byte 10/);
      assert.equal(await content(), 'a'.repeat(100));
      // A WRITE past the end leaves a gap.
      assert.match((await session('r+', [[120, 'g']])).join('; '), /close: .*gap before byte 120 \(the file had 100 bytes\)/);
      assert.equal(await content(), 'a'.repeat(100));
      // A resume at the end (reput, curl -C -) and an APPEND commit; so does a run from inside the file past its end.
      assert.deepEqual(await session('r+', [[100, 'r'.repeat(20)]]), []);
      assert.deepEqual(await session('a', [[0, 'ppp']]), []);
      assert.equal(await content(), 'a'.repeat(100) + 'r'.repeat(20) + 'ppp');
      assert.deepEqual(await session('r+', [[110, 'z'.repeat(30)]]), []);
      assert.equal(await content(), 'a'.repeat(100) + 'r'.repeat(10) + 'z'.repeat(30));
      // ftruncate to where the writes end says the shorter file is meant.
      assert.deepEqual(await session('r+', [[0, 'short']], 5), []);
      assert.equal(await content(), 'short');
    } finally {
      conn.end();
    }
  });

  test('open handles and connections are capped', async () => {
    const conn = await connect(t.port);
    try {
      const sftp = await sftpOf(conn);
      const results = await Promise.all(
        Array.from({ length: 12 }, () => new Promise<boolean>((resolve) => sftp.opendir('/', (err) => resolve(!err)))),
      );
      assert.equal(results.filter(Boolean).length, 8, 'eight handles, then refusals');
      const extra = await Promise.allSettled([1, 2, 3, 4].map(() => connect(t.port)));
      const made = extra.filter((r) => r.status === 'fulfilled');
      assert.equal(made.length, 3, 'four connections per address: this one and three more');
      for (const r of made) (r as PromiseFulfilledResult<ssh2.Client>).value.end();
    } finally {
      conn.end();
    }
  });

  test('a wrong password over and over closes the connection; shells and forwarding are refused', async () => {
    await assert.rejects(connect(t.port, 'wrong'));
    const conn = await connect(t.port);
    try {
      const shell = await new Promise<Error | undefined>((resolve) => conn.exec('id', (err) => resolve(err ?? undefined)));
      assert.ok(shell, 'exec must be refused');
      const fwd = await new Promise<Error | undefined>((resolve) => conn.forwardOut('127.0.0.1', 1, '127.0.0.1', t.port, (err) => resolve(err ?? undefined)));
      assert.ok(fwd, 'port forwarding must be refused');
    } finally {
      conn.end();
    }
  });

  test('a connection that does not log in in time, or goes idle, is closed', async () => {
    const quick = await startTestSftp(c, join(c.tmpDir, 'keys'), { loginMs: 800, idleMs: 1000 });
    try {
      const { connect: tcp } = await import('node:net');
      const sock = tcp(quick.port, '127.0.0.1');
      sock.on('data', () => {});
      const t0 = Date.now();
      await new Promise<void>((resolve) => sock.on('close', () => resolve()));
      assert.ok(Date.now() - t0 < 5000, 'closed for not logging in');
      const conn = await connect(quick.port);
      const closed = new Promise<number>((resolve) => conn.on('close', () => resolve(Date.now())));
      await sftpOf(conn);
      const idleFrom = Date.now();
      assert.ok((await closed) - idleFrom < 5000, 'closed when idle');
    } finally {
      await quick.server.close();
    }
  });
});
