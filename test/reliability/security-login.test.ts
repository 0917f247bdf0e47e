// Password guessing against every door (issue 15, item 4). The login throttle is one for all
// front-ends: the count of password checks per client address is in the database, taken before
// the hash is computed, and the hashes a process computes at once are capped. Against real
// `mogftp ftp` processes and a WebDAV server on the same database, on SQLite and MariaDB:
//   (a) 100 parallel FTP connections from one address each try a wrong password: at most the
//       limit of them get a password check, the rest are refused; then the right password is
//       refused from that address and works from another;
//   (b) WebDAV: wrong passwords beyond the limit are refused (429, Retry-After) without a hash,
//       the right one too, even when a success from that address is remembered; /metrics shows it;
//   (c) guesses spread over two FTP front-ends and WebDAV are cut at the limit, in total;
//       `mogftp admin login clear` lifts the ban;
//   (d) while 64 addresses guess at once, a normal FTP login and RETR from another completes.
// Addresses come from 127/8 (all loopback), a different set per test.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { startDavServer, type RunningDavServer } from '../../src/dav/server.ts';
import { startAdminServer, type AdminServer } from '../../src/metrics/admin-server.ts';
import { registerLoginMetrics, type LoginMetrics } from '../../src/metrics/logins.ts';
import { run } from '../harness/clients.ts';
import { Cluster, useCluster } from '../harness/cluster.ts';
import { type DaemonProcess } from '../harness/daemons.ts';
import { BIN } from '../harness/quickstart-process.ts';
import { sleep, until } from '../harness/wait.ts';
import { contentBuffer, newContent } from './lib/content.ts';
import { trackFigures } from './lib/figures.ts';
import { loggedIn, RawFtp } from './lib/ftp.ts';

const fig = trackFigures('security-login');
/** The FTP daemon's default --login-fail-limit, and the WebDAV door's (DEFAULT_LOGIN_POLICY). */
const LIMIT = 10;
const FLOOD_ADDRESSES = 64;

interface Ftp extends DaemonProcess {
  metricsUrl: string;
}

async function startFtp(c: Cluster): Promise<Ftp> {
  // 100 connections from one address must reach the login throttle, not the connection cap.
  const fe = await c.startFrontendProcess(['--admin-listen', '127.0.0.1:0', '--max-connections-per-address', '200']);
  const m = /admin endpoint on (http:\/\/\S+?)\/? /.exec(fe.output());
  assert.ok(m, fe.output());
  return Object.assign(fe, { metricsUrl: `${m[1]}/metrics` });
}

/** One sample of a Prometheus text exposition, 0 when absent. */
async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(url)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',');
    if (want.every((w) => have.includes(w))) return Number(m[3]);
  }
  return 0;
}

/**
 * One FTP connection from `from` trying one password. Returns the code that ended it: 230, 530
 * (the password was checked), or 421 (refused unchecked, at the greeting or at PASS).
 */
async function ftpTry(port: number, from: string, password: string): Promise<number> {
  const c = await RawFtp.connect(port, { localAddress: from, timeoutMs: 180_000 });
  try {
    if (c.greeting.code !== 220) return c.greeting.code;
    return (await c.login('demo', password)).code;
  } finally {
    c.destroy();
  }
}

/** A WebDAV PROPFIND (Depth 0) of the home from `from`: its status and Retry-After. */
function davTry(url: string, from: string, password: string): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'PROPFIND',
      localAddress: from,
      agent: false,
      headers: { Depth: '0', Authorization: `Basic ${Buffer.from(`demo:${password}`).toString('base64')}` },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

const count = (codes: number[], code: number) => codes.filter((c) => c === code).length;

for (const db of ['sqlite', 'mysql'] as const) {
  describe(`one login throttle for every door (${db})`, () => {
    const c = useCluster({ db, nodes: 2, auth: false });
    let ftpA: Ftp;
    let ftpB: Ftp;
    let dav: RunningDavServer;
    let davAdmin: AdminServer;
    let davMetrics: LoginMetrics;
    let davMetricsUrl: string;
    const file = newContent(256 * 1024);

    before(async () => {
      [ftpA, ftpB] = [await startFtp(c), await startFtp(c)];
      // WebDAV in this process, so its login metrics can be served from a registry of ours
      // (`mogftp dav` has no admin endpoint yet); the same database as the FTP daemons.
      // A long success cache: (b) shows a remembered success is no way around a ban.
      dav = await startDavServer({ store: c.services.store, tracker: c.tracker, client: c.services.client, host: '127.0.0.1', port: 0, authCacheMs: 600_000 });
      const registry = new Registry();
      davMetrics = registerLoginMetrics(registry);
      davAdmin = await startAdminServer({ host: '127.0.0.1', port: 0, registry });
      davMetricsUrl = `${davAdmin.url.replace(/\/$/, '')}/metrics`;
      const up = await loggedIn(ftpA.port, 'demo', 'demo', { localAddress: '127.0.0.2' });
      const r = await up.stor('/wanted.bin', contentBuffer(file.seed, file.size));
      assert.equal(r.final.code, 226, r.final.text);
      fig.up(file.size);
      await up.quit();
    });

    c.onStop(async () => {
      davMetrics?.stop();
      await davAdmin?.close();
      await dav?.close();
    });

    test('(a) 100 parallel FTP guesses from one address: at most the limit get a password check; the right password is then refused there, not elsewhere', async () => {
      fig.scenario(`${db}: 100 parallel FTP guesses from one address`);
      const failedBefore = await metric(ftpA.metricsUrl, 'mogftp_login_failures_total', { door: 'ftp' });
      const codes = await Promise.all(Array.from({ length: 100 }, (_, i) => ftpTry(ftpA.port, '127.0.0.10', `wrong-${i}`)));
      const checked = count(codes, 530);
      const refused = count(codes, 421);
      const failures = (await metric(ftpA.metricsUrl, 'mogftp_login_failures_total', { door: 'ftp' })) - failedBefore;
      process.stdout.write(`# ${db} (a): 100 parallel guesses -> ${checked} checked (530), ${refused} refused (421); failures metric +${failures}\n`);
      fig.fault(100);
      assert.equal(checked + refused, 100, `every guess is answered 530 or 421: ${JSON.stringify(codes)}`);
      assert.ok(checked <= LIMIT, `${checked} password checks against a limit of ${LIMIT}`);
      assert.ok(checked >= 1);
      assert.equal(failures, checked, 'each 530 is one password check, counted once');
      // Refused while the limit's checks were in flight: busy (no ban); the ban is the failures'.
      assert.ok((await metric(ftpA.metricsUrl, 'mogftp_login_refused_total', { door: 'ftp', reason: 'busy' })) >= 1);
      // The right password, from the banned address: refused, without a word about the password.
      assert.equal(await ftpTry(ftpA.port, '127.0.0.10', 'demo'), 421);
      assert.equal(await ftpTry(ftpB.port, '127.0.0.10', 'demo'), 421, 'the other front-end knows the ban too');
      assert.equal(await ftpTry(ftpA.port, '127.0.0.11', 'demo'), 230, 'another address logs in');
    });

    test('(b) WebDAV: wrong passwords past the limit get 429 with no hash computed; the right one too, even remembered; /metrics counts them', async () => {
      fig.scenario(`${db}: WebDAV guesses past the limit`);
      const root = dav.url;
      // A success from this address is remembered (authCacheMs) before it starts guessing.
      assert.equal((await davTry(root, '127.0.0.22', 'demo')).status, 207);
      // The limit's worth at once (all inside one counting window however slow hashing is here), then five more.
      const first = await Promise.all(Array.from({ length: LIMIT }, (_, i) => davTry(root, '127.0.0.20', `wrong-${i}`)));
      const more = [];
      for (let i = 0; i < 5; i++) more.push(await davTry(root, '127.0.0.20', `more-${i}`));
      fig.fault(LIMIT + 5);
      assert.deepEqual(first.map((r) => r.status), Array(LIMIT).fill(401));
      assert.deepEqual(more.map((r) => r.status), Array(5).fill(429));
      const retryAfter = more[0]!.retryAfter;
      assert.ok(Number(retryAfter) > 0 && Number(retryAfter) <= 300, `Retry-After: ${retryAfter}`);
      // No hash for the refused five: the failure count stopped at the limit.
      assert.equal(await metric(davMetricsUrl, 'mogftp_login_failures_total', { door: 'dav' }), LIMIT);
      assert.equal(await metric(davMetricsUrl, 'mogftp_login_refused_total', { door: 'dav', reason: 'banned' }), 5);
      assert.equal((await davTry(root, '127.0.0.20', 'demo')).status, 429, 'the right password while banned');
      assert.equal((await davTry(root, '127.0.0.21', 'demo')).status, 207, 'another address');

      // The address with a remembered success guesses until banned; then even the remembered
      // right password is refused.
      const guesses = await Promise.all(Array.from({ length: LIMIT }, (_, i) => davTry(root, '127.0.0.22', `wrong-${i}`)));
      assert.deepEqual(guesses.map((r) => r.status), Array(LIMIT).fill(401));
      const again = await davTry(root, '127.0.0.22', 'demo');
      assert.equal(again.status, 429, 'a cached success does not get around the ban');
    });

    test('(c) guesses spread over two FTP front-ends and WebDAV are cut at the limit in total; admin login clear lifts the ban', async () => {
      fig.scenario(`${db}: guesses spread over three front-ends`);
      const from = '127.0.0.30';
      const GUESSES = 2 * LIMIT + 4;
      const results = await Promise.all(
        Array.from({ length: GUESSES }, async (_, i) => {
          const door = i % 3;
          const code = door === 2 ? (await davTry(dav.url, from, `wrong-${i}`)).status : await ftpTry(door === 0 ? ftpA.port : ftpB.port, from, `wrong-${i}`);
          return `${['ftpA', 'ftpB', 'dav'][door]}:${code}`;
        }),
      );
      fig.fault(GUESSES);
      const checked = results.filter((r) => /:(530|401)$/.test(r)).length;
      const refused = results.filter((r) => /:(421|429|503)$/.test(r)).length;
      process.stdout.write(`# ${db} (c): ${results.join(' ')}\n`);
      // Each front-end alone would have let LIMIT through (2 FTP + WebDAV: 24 here).
      assert.equal(checked, LIMIT, `password checks over all front-ends: ${results.join(' ')}`);
      assert.equal(refused, GUESSES - LIMIT);

      const cleared = await run(process.execPath, [BIN, 'admin', '--db', c.dbUrl, 'login', 'clear', from]);
      assert.equal(cleared.code, 0, cleared.stderr);
      assert.match(cleared.stdout, /Cleared the failed logins of 127\.0\.0\.30/);
      assert.equal((await davTry(dav.url, from, 'demo')).status, 207, 'WebDAV asks the database: cleared at once');
      // An FTP front-end remembers a ban it saw for a few seconds (refused at connect): then it asks again.
      await until('FTP login after admin login clear', async () => (await ftpTry(ftpB.port, from, 'demo')) === 230, 60_000, 500);
    });

    test('(d) while 64 addresses guess at once, a normal FTP login and RETR from another address completes', async () => {
      fig.scenario(`${db}: 64-address guessing flood, one normal session`);
      let flooding = true;
      let guesses = 0;
      const flooders = Array.from({ length: FLOOD_ADDRESSES }, async (_, i) => {
        const from = `127.0.1.${i + 1}`;
        while (flooding) {
          const code = await ftpTry(ftpA.port, from, `guess-${guesses++}`).catch(() => -1);
          // Refused (banned or busy): keep knocking, a little slower, so the test's own connection
          // storm does not become what is measured.
          if (code !== 530) await sleep(200);
        }
      });
      const failures = () => metric(ftpA.metricsUrl, 'mogftp_login_failures_total', { door: 'ftp' });
      const before = await failures();
      // The normal login starts once the flood's opening burst of first tries (which look like
      // anyone's first try: 32 wait, 2 run, the rest are refused busy) has been checked; from then
      // on every flooding address is on a later try and waits behind a first one.
      await until('the flood has made the server check its first tries', async () => (await failures()) >= before + 40, 300_000, 200);
      const started = Date.now();
      const s = await loggedIn(ftpA.port, 'demo', 'demo', { localAddress: '127.0.0.40', timeoutMs: 180_000 });
      const loggedInMs = Date.now() - started;
      const got = await s.retr('/wanted.bin');
      const totalMs = Date.now() - started;
      await s.quit();
      const duringFlood = await failures();
      flooding = false;
      await Promise.all(flooders);
      const busy = await metric(ftpA.metricsUrl, 'mogftp_login_refused_total', { door: 'ftp', reason: 'busy' });
      const banned = await metric(ftpA.metricsUrl, 'mogftp_login_refused_total', { door: 'ftp', reason: 'banned' });
      process.stdout.write(
        `# ${db} (d): login ${loggedInMs} ms, login+RETR ${totalMs} ms during a flood of ${guesses} guesses from ${FLOOD_ADDRESSES} addresses ` +
          `(password checks so far ${duringFlood - before}, refused busy ${busy}, banned ${banned})\n`,
      );
      fig.fault(guesses);
      assert.equal(got.final.code, 226, got.final.text);
      assert.equal(got.sha256, file.sha256);
      fig.down(got.bytes);
      fig.verified();
      assert.ok(totalMs < 120_000, `login + RETR took ${totalMs} ms`);
    });
  });
}
