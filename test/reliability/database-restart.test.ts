// MariaDB restarted during traffic (issue 8, fault 6), on a private server this test starts on
// its own port (the shared one on 3306 is left alone). Uploads in flight when it goes fail with
// a 4xx; downloads under way need no database and finish; commands while it is down get a 4xx;
// once it is back the same front-end process, the same sessions and the jobs carry on without a
// restart, and the reservation the failed upload left is reaped.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Cluster } from '../harness/cluster.ts';
import { type DaemonProcess } from '../harness/daemons.ts';
import { until } from '../harness/wait.ts';
import { contentStream, gated, newContent } from './lib/content.ts';
import { trackFigures } from './lib/figures.ts';
import { loggedIn, RawFtp } from './lib/ftp.ts';
import { mariadbUnavailable, startPrivateMariadb, type PrivateMariadb } from './lib/mariadb.ts';

const fig = trackFigures('database-restart');
const MiB = 1024 * 1024;
const unavailable = mariadbUnavailable();


let loginWhileDown = '';

describe('MariaDB restarted during traffic', { skip: unavailable ? `skipped: ${unavailable}` : false }, () => {
  let db: PrivateMariadb;
  let c: Cluster;
  let fe: DaemonProcess;
  before(async () => {
    db = await startPrivateMariadb();
    c = await Cluster.start({ db: db.db('mogftp_restart'), nodes: 3, mindevcount: 2, auth: false });
    fe = await c.startFrontendProcess();
  });
  after(async () => {
    await c?.stop();
    await db?.destroy();
  });

  test('in-flight uploads fail with 4xx, downloads finish, new work succeeds once it is back, nothing restarted', async () => {
    fig.scenario('MariaDB stopped and restarted under uploads and downloads');
    // The reaper's default age (24 h): the failed uploads must release their own reservations.
    const jobs = c.startJobs();
    const existing = newContent(12 * MiB);
    const session = await loggedIn(fe.port);
    assert.equal((await session.stor('/before.bin', contentStream(existing.seed, existing.size))).final.code, 226);
    fig.up(existing.size);

    // In flight as the database goes: two uploads (paused mid-body) and a slow download.
    const uploads = [0, 1].map(async (i) => {
      const ftp = await loggedIn(fe.port);
      const content = newContent(4 * MiB);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let reached!: () => void;
      const paused = new Promise<void>((r) => (reached = r));
      const done = ftp.stor(`/in-flight-${i}.bin`, gated(content, 1 * MiB, gate, reached));
      await paused;
      return { ftp, release, done };
    });
    const inFlight = await Promise.all(uploads);
    const reader = await loggedIn(fe.port);
    let received = 0;
    const download = reader.retr('/before.bin', { bytesPerSecond: 4 * MiB, onChunk: (b) => (received += b.length) });
    await until('both uploads reserved', async () => (await c.store.staleReservations(Date.now() + 60_000, 10)).length === 2);
    await until('the download under way', () => received > 0);

    await db.stop();
    fig.fault();
    for (const u of inFlight) u.release();
    for (const [i, u] of inFlight.entries()) {
      const r = await u.done;
      fig.up(r.sent);
      assert.match(String(r.final.code), /^4\d\d$/, `in-flight upload ${i}: ${r.final.code} ${r.final.text}`);
    }
    // While it is down: a logged-in session gets 4xx for what needs the database.
    const during = await session.stor('/during.bin', Buffer.from('x'));
    assert.match(String(during.final.code), /^4\d\d$/, `STOR while down: ${during.final.code} ${during.final.text}`);
    for (const cmd of ['MKD /dir-while-down', 'SIZE /before.bin', 'DELE /before.bin']) {
      const r = await session.cmd(cmd);
      assert.match(String(r.code), /^4\d\d$/, `${cmd} while down: ${r.code} ${r.text}`);
    }
    const newcomer = await RawFtp.connect(fe.port);
    const login = await newcomer.login('demo', 'demo');
    loginWhileDown = `${login.code} ${login.text}`;
    newcomer.destroy();
    const dl = await download;
    fig.down(dl.bytes);
    assert.equal(dl.final.code, 226, `a download under way needs no database: ${dl.final.text}`);
    assert.equal(dl.sha256, existing.sha256);

    await db.start();
    // The same front-end process and the same sessions carry on.
    const after = newContent(5 * MiB);
    await until('uploads succeed again', async () => {
      const r = await session.stor('/after.bin', contentStream(after.seed, after.size));
      return r.final.code === 226;
    }, 30_000, 500);
    fig.up(after.size);
    const back = await reader.retr('/after.bin');
    fig.down(back.bytes);
    assert.equal(back.sha256, after.sha256);
    const fresh = await RawFtp.connect(fe.port);
    assert.equal((await fresh.login('demo', 'demo')).code, 230, 'new logins work');
    await fresh.quit();

    for (let i = 0; i < 2; i++) assert.equal(await c.fidOf(`/in-flight-${i}.bin`), null, `in-flight upload ${i} is not visible`);
    assert.equal(await c.fidOf('/during.bin'), null);
    // The failed uploads release their reservations once the database answers (not the reaper's
    // 24 hours later); their copies are deleted.
    await until('no reservation left', async () => (await c.store.staleReservations(Date.now() + 60_000, 10)).length === 0, 30_000);
    assert.match(fe.output(), /upload reservation released after the database came back/);
    await c.drained();
    assert.deepEqual(await c.orphans(), []);
    for (const [path, content] of [['/before.bin', existing], ['/after.bin', after]] as const) {
      assert.equal(await c.checkStored(path, content), null);
      fig.verified();
    }
    for (const u of inFlight) await u.ftp.quit();
    await session.quit();
    await reader.quit();
    await jobs.stop();
  });

  test('a login while the database is down is told to come back later (4xx), not that its password is wrong (530), and not where the database is', () => {
    assert.equal(loginWhileDown, '421 Cannot log in right now; try again later');
    assert.ok(fe.output().includes('cannot reach the database'), 'the reason is in the front-end log instead');
  });
});
