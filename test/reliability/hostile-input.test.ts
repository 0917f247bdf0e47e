// Hostile input (issue 8): path traversal in every spelling through every path-taking command,
// NUL/CR in arguments, huge names, paths and command lines, invalid UTF-8, commands before
// login, a read-only user trying every write, one user reaching for another's home. Each gets a
// clear FTP error; the namespace outside the user's home is byte-for-byte what it was (and the
// read-only user changes nothing at all); a benign client keeps working throughout.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { useCluster } from '../harness/cluster.ts';
import { sleep } from '../harness/wait.ts';
import { contentStream, newContent, sha256 } from './lib/content.ts';
import { trackFigures } from './lib/figures.ts';
import { loggedIn, RawFtp, type Reply } from './lib/ftp.ts';

const fig = trackFigures('hostile-input');

const SECRET = 'bob only';
const PLAN = 'top secret plan';

/** Paths that would reach /homes/bob/secret.txt or /topsecret/plan.txt if anything leaked. */
const TRAVERSALS = [
  '../bob/secret.txt',
  '../../homes/bob/secret.txt',
  '/../bob/secret.txt',
  '/../../topsecret/plan.txt',
  '../../../../../../../../topsecret/plan.txt',
  './../.././../topsecret/plan.txt',
  '..\\bob\\secret.txt',
  '..\\..\\topsecret\\plan.txt',
  '%2e%2e/%2e%2e/topsecret/plan.txt',
  '..%2fbob%2fsecret.txt',
  '%2e%2e%2f%2e%2e%2ftopsecret%2fplan.txt',
  '....//....//topsecret/plan.txt',
  '/homes/bob/secret.txt',
  '//homes/bob/secret.txt',
  '/topsecret/plan.txt',
  '~bob/secret.txt',
  '~/../bob/secret.txt',
  'C:\\topsecret\\plan.txt',
  'file:///topsecret/plan.txt',
  '/homes/alice/../bob/secret.txt',
];

/** A listing line naming something that only exists outside alice's home. */
function showsOutside(line: string): boolean {
  const name = line.split(/ +|; /).pop()!;
  return ['secret.txt', 'plan.txt', 'bob', 'topsecret', 'homes', 'alice'].includes(name);
}

function isError(r: Reply): boolean {
  return r.code >= 400 && r.code < 600;
}

describe('hostile input', () => {
  const c = useCluster({ db: 'sqlite', nodes: 2, mindevcount: 2, auth: false });
  let port: number;
  let benign: { stop(): Promise<{ ok: number; failed: string[] }> };
  before(async () => {
    port = (await c.startFtp()).port;
    const admin = await loggedIn(port);
    for (const d of ['/homes', '/homes/alice', '/homes/bob', '/topsecret', '/benign']) assert.equal((await admin.cmd(`MKD ${d}`)).code, 257);
    assert.equal((await admin.stor('/homes/bob/secret.txt', Buffer.from(SECRET))).final.code, 226);
    assert.equal((await admin.stor('/topsecret/plan.txt', Buffer.from(PLAN))).final.code, 226);
    assert.equal((await admin.stor('/homes/alice/mine.txt', Buffer.from('alice'))).final.code, 226);
    await admin.quit();
    await c.addUser('alice', 'alice-pw', { homeDir: '/homes/alice' });
    await c.addUser('bob', 'bob-pw', { homeDir: '/homes/bob' });
    await c.addUser('reader', 'reader-pw', { readOnly: true });
    benign = startBenignClient(port);
  });
  c.onStop(async () => {
    const b = await benign?.stop();
    if (b) {
      process.stdout.write(`# benign client: ${b.ok} round trips during the hostile tests\n`);
      assert.deepEqual(b.failed, [], 'the benign client was served throughout');
      assert.ok(b.ok > 0);
    }
  });

  /** Everything outside alice's home (and the benign client's directory), to compare before and after. */
  async function outsideAlice(): Promise<string[]> {
    return (await namespace()).filter((l) => !l.startsWith('/homes/alice/'));
  }
  async function namespace(): Promise<string[]> {
    return (await c.namespace()).filter((l) => !l.startsWith('/benign/'));
  }

  test('path traversal in every spelling, through every path-taking command, stays in the home', async () => {
    fig.scenario('path traversal via RETR/SIZE/MDTM/CWD/LIST/NLST/MLST/DELE/RMD/RNFR/RNTO/MKD/STOR/APPE/SITE/MFMT/HASH');
    const before = await outsideAlice();
    const ftp = await loggedIn(port, 'alice', 'alice-pw');
    const leaks: string[] = [];
    for (const p of TRAVERSALS) {
      for (const cmd of ['SIZE', 'MDTM', 'DELE', 'RMD', 'MLST', 'HASH', 'SITE CHMOD 777', 'SITE UTIME 20000101000000', 'MFMT 20000101000000']) {
        const r = await ftp.cmd(`${cmd} ${p}`);
        if (!isError(r)) leaks.push(`${cmd} ${p} → ${r.code} ${r.text}`);
      }
      const cwd = await ftp.cmd(`CWD ${p.replace(/[^/\\]*$/, '')}`);
      const pwd = await ftp.cmd('PWD');
      if (cwd.code === 250 && !/^"\//.test(pwd.text)) leaks.push(`CWD ${p}: PWD ${pwd.text}`);
      await ftp.cmd('CWD /');
      const retr = await ftp.retr(p, { keep: true });
      if (retr.prelim.code < 400 || (retr.data && (retr.data.toString().includes(SECRET) || retr.data.toString().includes(PLAN))))
        leaks.push(`RETR ${p} → ${retr.prelim.code} ${retr.final.code}`);
      for (const list of ['LIST', 'NLST', 'MLSD']) {
        const dir = p.replace(/[^/\\]*$/, '') || '.';
        const l = await ftp.list(dir, list);
        if (l.lines.some(showsOutside)) leaks.push(`${list} ${dir}: ${l.lines.join(' | ')}`);
      }
      const rnfr = await ftp.cmd(`RNFR ${p}`);
      if (!isError(rnfr)) leaks.push(`RNFR ${p} → ${rnfr.code}`);
      // Writes aimed outside land inside the home or are refused; either way nothing outside changes.
      assert.equal((await ftp.cmd('RNFR mine.txt')).code, 350);
      const rnto = await ftp.cmd(`RNTO ${p}`);
      if (rnto.code === 250) {
        // It landed inside the home: put it back.
        assert.equal((await ftp.cmd(`RNFR ${p}`)).code, 350);
        assert.equal((await ftp.cmd('RNTO /mine.txt')).code, 250);
      }
      await ftp.cmd(`MKD ${p}`);
      await ftp.stor(p, Buffer.from('overwrite attempt'));
      await ftp.stor(p, Buffer.from('append attempt'), 'APPE');
    }
    await ftp.quit();
    fig.fault(TRAVERSALS.length);
    assert.deepEqual(leaks, []);
    assert.deepEqual(await outsideAlice(), before, 'nothing outside the home changed');
    const admin = await loggedIn(port);
    assert.equal((await admin.retr('/homes/bob/secret.txt', { keep: true })).data?.toString(), SECRET);
    assert.equal((await admin.retr('/topsecret/plan.txt', { keep: true })).data?.toString(), PLAN);
    await admin.quit();
  });

  test("a user cannot reach another user's home, by path or by login", async () => {
    fig.scenario("reaching another user's home");
    const ftp = await loggedIn(port, 'alice', 'alice-pw');
    for (const cmd of ['CWD /homes/bob', 'CWD ../bob', 'CWD ~bob', 'SIZE /homes/bob/secret.txt', 'RETR ../bob/secret.txt']) {
      const r = await ftp.cmd(cmd);
      assert.ok(r.code === 550 || r.code === 425, `${cmd} → ${r.code} ${r.text}`);
    }
    const listed = (await ftp.list('/')).lines;
    assert.ok(listed.includes('mine.txt') && !listed.some(showsOutside), listed.join(' | '));
    await ftp.quit();
    const sneaky = await RawFtp.connect(port);
    assert.equal((await sneaky.login('bob', 'alice-pw')).code, 530);
    sneaky.destroy();
    const asBob = await loggedIn(port, 'bob', 'bob-pw');
    assert.equal((await asBob.cmd('SIZE ../alice/mine.txt')).code, 550);
    assert.deepEqual((await asBob.list('/')).lines, ['secret.txt']);
    await asBob.quit();
  });

  test('NUL, CR and Telnet bytes in arguments, invalid and overlong UTF-8: refused, and replies stay one line', async () => {
    fig.scenario('NUL/CR/invalid UTF-8 in arguments');
    const before = await outsideAlice();
    const ftp = await loggedIn(port, 'alice', 'alice-pw');
    const bad: Array<Buffer> = [
      Buffer.from('RETR mine.txt\0.jpg'),
      Buffer.from('SIZE mine.txt\0'),
      Buffer.from('MKD a\0b'),
      Buffer.from('DELE mine.txt\0../../topsecret/plan.txt'),
      Buffer.from('MKD a\rb'),
      Buffer.from('SIZE mine.txt\r230 fake success'),
      Buffer.concat([Buffer.from('MKD '), Buffer.from([0xff, 0xfe, 0xfd])]),
      Buffer.concat([Buffer.from('MKD '), Buffer.from([0xc3, 0x28])]),
      Buffer.concat([Buffer.from('RETR '), Buffer.from([0xc0, 0xae, 0xc0, 0xae, 0x2f, 0xc0, 0xae, 0xc0, 0xae, 0x2f]), Buffer.from('topsecret/plan.txt')]),
      Buffer.concat([Buffer.from('SIZE '), Buffer.from([0xc0, 0xae, 0xc0, 0xae, 0xc0, 0xaf]), Buffer.from('bob/secret.txt')]),
      Buffer.concat([Buffer.from('MKD '), Buffer.from([0xed, 0xa0, 0x80])]), // a UTF-16 surrogate in UTF-8
      Buffer.concat([Buffer.from('SIZE '), Buffer.from([0xff, 0xf4, 0xff, 0xfd, 0x06]), Buffer.from('mine.txt\0')]),
    ];
    for (const line of bad) {
      const r = await ftp.cmd(line);
      assert.ok(isError(r), `${JSON.stringify(line.toString('latin1'))} → ${r.code} ${r.text}`);
      assert.equal(r.lines.length, 1, `one reply line for ${JSON.stringify(line.toString('latin1'))}: ${JSON.stringify(r.lines)}`);
      assert.ok(!/[\r\n]/.test(r.text));
    }
    // Nothing extra was queued behind those replies: the next command gets its own answer.
    assert.equal((await ftp.cmd('NOOP')).code, 200);
    const retr = await ftp.retr('mine.txt', { keep: true });
    assert.equal(retr.data?.toString(), 'alice');
    await ftp.quit();
    fig.fault(bad.length);
    assert.deepEqual(await outsideAlice(), before);
  });

  test('huge names, deep paths and huge command lines: a clear error, no crash, others served', async () => {
    fig.scenario('10 000-byte names, 10 000-deep paths, 100 000-byte lines');
    const before = await namespace();
    const cases: Array<{ line: string; why: string }> = [
      { line: `MKD ${'n'.repeat(10_000)}`, why: '10 000-byte name' },
      { line: `STOR ${'n'.repeat(10_000)}`, why: '10 000-byte name' },
      { line: `MKD ${'n'.repeat(4000)}`, why: '4000-byte name (fits in a line)' },
      { line: `MKD ${'a/'.repeat(10_000)}x`, why: '10 000-deep path' },
      { line: `CWD ${'../'.repeat(10_000)}`, why: '10 000 levels up' },
      { line: `MKD ${'/d'.repeat(300)}`, why: '300-deep path (fits in a line)' },
      { line: `CWD ${'./'.repeat(3000)}`, why: '6000-byte path of dots' },
      { line: `RETR ${'x'.repeat(100_000)}`, why: '100 000-byte command line' },
      { line: 'A'.repeat(100_000), why: '100 000-byte garbage line' },
    ];
    for (const { line, why } of cases) {
      const ftp = await loggedIn(port);
      const r = await ftp.cmd(line).catch((err: Error) => ({ code: -1, text: err.message, lines: [] }) as Reply);
      assert.ok(isError(r) || (r.code === -1 && ftp.closed), `${why}: ${r.code} ${r.text.slice(0, 200)}`);
      if (r.code !== -1) assert.ok(r.text.length < 1000, `${why}: a short reply`);
      // Within the line limit the session goes on; past it the connection is closed after the error.
      if (Buffer.byteLength(line) + 2 <= 8192) assert.equal((await ftp.cmd('NOOP')).code, 200, `${why}: the session goes on`);
      else if (!/too long/i.test(r.text) || !(await closesWithin(ftp, 10_000))) assert.equal((await ftp.cmd('NOOP')).code, 200, `${why}: the session goes on`);
      ftp.destroy();
    }
    // A line that never ends is cut off, not buffered forever.
    const flood = await loggedIn(port);
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    for (let i = 0; i < 64 && !flood.closed; i++) {
      flood.write(chunk);
      await sleep(5);
    }
    assert.ok(await closesWithin(flood, 10_000), 'a 4 MiB line without an end closes the connection');
    flood.destroy();
    fig.fault(cases.length + 1);
    assert.deepEqual(await namespace(), before, 'nothing was created');
  });

  test('commands before login are refused with 530 and open nothing', async () => {
    fig.scenario('commands before login');
    const before = await namespace();
    const ftp = await RawFtp.connect(port);
    const cmds = [
      'PWD', 'CWD /', 'CDUP', 'LIST', 'NLST', 'MLSD', 'MLST /', 'RETR /topsecret/plan.txt', 'STOR x', 'APPE x', 'STOU',
      'DELE /topsecret/plan.txt', 'MKD /x', 'RMD /topsecret', 'RNFR /topsecret/plan.txt', 'RNTO /y', 'SIZE /topsecret/plan.txt',
      'MDTM /topsecret/plan.txt', 'SITE CHMOD 777 /topsecret/plan.txt', 'MFMT 20000101000000 /topsecret/plan.txt',
      'HASH /topsecret/plan.txt', 'PASV', 'EPSV', 'PORT 127,0,0,1,200,10', 'EPRT |1|127.0.0.1|51210|', 'REST 10', 'AVBL', 'STAT /',
    ];
    for (const cmd of cmds) {
      const r = await ftp.cmd(cmd);
      assert.ok(r.code === 530 || r.code === 503, `${cmd} before login → ${r.code} ${r.text}`);
    }
    // PASS without USER, and a wrong password, change nothing either.
    assert.ok(isError(await ftp.cmd('PASS demo')));
    assert.equal((await ftp.login('demo', 'wrong')).code, 530);
    assert.equal((await ftp.cmd('PWD')).code, 530, 'still not logged in');
    ftp.destroy();
    fig.fault(cmds.length);
    assert.deepEqual(await namespace(), before);
  });

  test('a read-only user trying every write command changes nothing', async () => {
    fig.scenario('read-only user trying every write command');
    const before = await namespace();
    const ftp = await loggedIn(port, 'reader', 'reader-pw');
    const cmds = [
      'DELE /topsecret/plan.txt', 'MKD /new', 'XMKD /new', 'RMD /topsecret', 'XRMD /topsecret', 'RNFR /topsecret/plan.txt', 'RNTO /moved.txt',
      'SITE CHMOD 777 /topsecret/plan.txt', 'SITE UTIME 20000101000000 /topsecret/plan.txt', 'MFMT 20000101000000 /topsecret/plan.txt',
    ];
    for (const cmd of cmds) {
      const r = await ftp.cmd(cmd);
      assert.ok(r.code >= 500 && r.code < 600, `${cmd} as read-only → ${r.code} ${r.text}`);
    }
    for (const [cmd, path] of [['STOR', '/topsecret/plan.txt'], ['STOR', '/new.txt'], ['APPE', '/topsecret/plan.txt'], ['STOU', '/u.txt']] as const) {
      const r = await ftp.stor(path, Buffer.from('nope'), cmd);
      assert.ok(r.final.code >= 500 && r.final.code < 600, `${cmd} ${path} as read-only → ${r.final.code} ${r.final.text}`);
    }
    // Reading is allowed.
    assert.equal((await ftp.retr('/topsecret/plan.txt', { keep: true })).data?.toString(), PLAN);
    await ftp.quit();
    fig.fault(cmds.length + 4);
    assert.deepEqual(await namespace(), before, 'nothing changed');
  });
});

async function closesWithin(ftp: RawFtp, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!ftp.closed && Date.now() < deadline) await sleep(50);
  return ftp.closed;
}

/** A well-behaved client doing small STOR/RETR round trips until stopped. */
function startBenignClient(port: number): { stop(): Promise<{ ok: number; failed: string[] }> } {
  let stopping = false;
  let ok = 0;
  const failed: string[] = [];
  const loop = (async () => {
    const ftp = await loggedIn(port);
    for (let i = 0; !stopping; i++) {
      const content = newContent(10_000 + i);
      try {
        const up = await ftp.stor(`/benign/${i % 5}.bin`, contentStream(content.seed, content.size));
        const down = await ftp.retr(`/benign/${i % 5}.bin`, { keep: true });
        if (up.final.code !== 226 || down.final.code !== 226 || sha256(down.data!) !== content.sha256) failed.push(`round ${i}: ${up.final.code}/${down.final.code}`);
        else ok++;
        fig.up(content.size);
        fig.down(down.bytes);
      } catch (err) {
        failed.push(`round ${i}: ${(err as Error).message}`);
        break;
      }
      await sleep(20);
    }
    await ftp.quit();
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      fig.verified(ok);
      return { ok, failed };
    },
  };
}
