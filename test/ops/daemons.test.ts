// Each daemon (`storage`, `ftp`, `jobs`) as a real process with --admin-listen: /healthz,
// /readyz and /metrics answer with the right content; the FTP front-end writes one JSON
// transfer line per STOR/RETR and never a password.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/tracker/open.ts';
import { hashPassword } from '../../src/tracker/passwords.ts';
import type { Store } from '../../src/tracker/types.ts';
import { curl, ftpUrl } from '../harness/clients.ts';
import { createMysqlTestDb, createSqliteTestDb, type TestDb } from '../harness/db.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(REPO, 'bin', 'mogftp.js');

interface Daemon {
  proc: ChildProcess;
  admin: string;
  /** The data address (storage: http URL; ftp: port). */
  listening: string;
  stdout(): string;
  stderr(): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/**
 * `mogftp <args>` with a clean MOGFTP_* environment plus `env`; resolves once its admin line and
 * (for daemons with a data port) its listening line are out.
 */
async function startDaemon(args: string[], env: Record<string, string> = {}): Promise<Daemon> {
  const dataPort = args[0] !== 'jobs';
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MOGFTP_')));
  const proc = spawn(process.execPath, [BIN, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const admin = /admin endpoint on (http:\/\/\S+)/.exec(out)?.[1];
    const listening = /listening on (\S+)/.exec(out)?.[1] ?? '';
    if (admin && (listening || !dataPort)) {
      return {
        proc,
        admin,
        listening,
        stdout: () => out,
        stderr: () => err,
        stop: async () => {
          if (proc.exitCode === null && proc.signalCode === null) {
            proc.kill('SIGTERM');
            const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
            await exited;
            clearTimeout(timer);
          }
          running.delete(proc);
        },
      };
    }
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`mogftp ${args.join(' ')} did not start\nstdout: ${out}\nstderr: ${err}`);
    }
    await sleep(50);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function get(url: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

/** The value of one sample line `name{labels} value` in Prometheus text, or null. */
function sample(text: string, series: string): number | null {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return null;
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Two storage nodes (hosts) with one device each, registered in `store`; node 1 serves admin too. */
async function storageCluster(store: Store, tmp: string, opts: { status?: 'alive' | 'down' } = {}) {
  const nodes: Daemon[] = [];
  for (const i of [1, 2]) {
    const root = join(tmp, `node${i}`);
    mkdirSync(join(root, `dev${i}`), { recursive: true });
    const node = await startDaemon(['storage', '--root', root, '--listen', '127.0.0.1:0', '--insecure-no-auth', '--admin-listen', '127.0.0.1:0', '--log-level', 'warn']);
    nodes.push(node);
    const host = await store.createHost({ name: `host${i}`, address: '127.0.0.1', httpPort: Number(new URL(node.listening).port) });
    await store.createDevice({ hostId: host.id, devid: i, status: opts.status ?? 'alive' });
  }
  return nodes;
}

describe('mogftp storage --admin-listen', () => {
  let tmp: string;
  const daemons: Daemon[] = [];
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'mogftp-ops-storage-'));
  });
  after(async () => {
    for (const d of daemons) await d.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('settings from a config file; healthz, readyz and request and device metrics', async () => {
    const root = join(tmp, 'root');
    mkdirSync(join(root, 'dev7'), { recursive: true });
    const cfg = join(tmp, 'storage.yaml');
    writeFileSync(cfg, `storage:\n  root: ${root}\n  listen: 127.0.0.1:0\n  insecure-no-auth: true\n  admin-listen: 127.0.0.1:0\n  log-level: warn\n`);
    const node = await startDaemon(['storage', '--config', cfg]);
    daemons.push(node);

    const health = await get(`${node.admin}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(JSON.parse(health.body).status, 'ok');
    const ready = await get(`${node.admin}/readyz`);
    assert.equal(ready.status, 200, ready.body);
    assert.equal(JSON.parse(ready.body).ready, true);

    const put = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-X', 'PUT', '--data-binary', 'hello world', `${node.listening}/dev7/0/000/000/0000000042.fid`]);
    assert.equal(put.stdout, '201', put.stderr);
    await curl(['-o', '/dev/null', `${node.listening}/dev7/0/000/000/0000000042.fid`]);

    const m = await get(`${node.admin}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.type, /^text\/plain/);
    assert.equal(sample(m.body, 'mogftp_storage_requests_total{method="PUT",code="201"}'), 1);
    assert.equal(sample(m.body, 'mogftp_storage_requests_total{method="GET",code="200"}'), 1);
    assert.equal(sample(m.body, 'mogftp_storage_request_duration_seconds_count{method="PUT"}'), 1);
    assert.ok(sample(m.body, 'mogftp_storage_device_total_bytes{devid="7"}')! > 0);
    assert.equal(sample(m.body, 'mogftp_storage_devices'), 1);
    assert.equal(sample(m.body, 'mogftp_build_info{version="0.1.0",daemon="storage"}'), 1);
    assert.match(m.body, /^process_cpu_seconds_total /m);

    assert.equal((await get(`${node.admin}/nope`)).status, 404);
  });

  test('readyz says 503 without a device directory', async () => {
    const root = join(tmp, 'empty');
    mkdirSync(root);
    const node = await startDaemon(['storage', '--root', root, '--listen', '127.0.0.1:0', '--insecure-no-auth', '--admin-listen', '127.0.0.1:0']);
    daemons.push(node);
    const ready = await get(`${node.admin}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(JSON.parse(ready.body).checks.devices.detail, /no dev<N> directories/);
    assert.equal((await get(`${node.admin}/healthz`)).status, 200);
  });
});

describe('mogftp ftp --admin-listen, transfer log, no passwords', () => {
  const PASSWORD = 'Zq7-correct-horse-91x';
  const WRONG = 'Wr0ng-battery-staple-55y';
  let tmp: string;
  let db: TestDb;
  let store: Store;
  let nodes: Daemon[] = [];
  let ftp: Daemon;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'mogftp-ops-ftp-'));
    db = await createSqliteTestDb();
    store = await openStore(db.url);
    await store.migrate();
    const domain = await store.createDomain('default');
    await store.createUser({ name: 'alice', passwordHash: await hashPassword(PASSWORD), domainId: domain.id, homeDir: '/', readOnly: false, quotaBytes: null });
    nodes = await storageCluster(store, tmp);
    ftp = await startDaemon(['ftp', '--listen', '127.0.0.1:0', '--pasv-ports', '0', '--admin-listen', '127.0.0.1:0'], {
      MOGFTP_DB: db.url,
      MOGFTP_LOG_LEVEL: 'debug',
    });
  });
  after(async () => {
    await ftp?.stop();
    for (const n of nodes) await n.stop();
    await store?.close();
    await db?.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('transfers show in /metrics and as one JSON line each; readyz is 200', async () => {
    const port = Number(ftp.listening.split(':').pop());
    const body = 'x'.repeat(10_000);
    const up = await curl(['-T', '-', ftpUrl(port, '/report.txt', 'alice', PASSWORD)], { input: body });
    assert.equal(up.code, 0, up.stderr);
    const down = await curl([ftpUrl(port, '/report.txt', 'alice', PASSWORD)]);
    assert.equal(down.stdout, body);
    const bad = await curl([ftpUrl(port, '/report.txt', 'alice', WRONG)]);
    assert.notEqual(bad.code, 0);

    const ready = await get(`${ftp.admin}/readyz`);
    assert.equal(ready.status, 200, ready.body);
    const checks = JSON.parse(ready.body).checks;
    assert.equal(checks.database.ok, true);
    assert.match(checks.devices.detail, /^2 host\(s\) with a writable device, enough for every class in use$/);

    const m = (await get(`${ftp.admin}/metrics`)).body;
    assert.equal(sample(m, 'mogftp_ftp_transfers_total{direction="upload",result="ok"}'), 1);
    assert.equal(sample(m, 'mogftp_ftp_transfers_total{direction="download",result="ok"}'), 1);
    assert.equal(sample(m, 'mogftp_ftp_transfer_bytes_total{direction="upload",result="ok"}'), 10_000);
    assert.ok(sample(m, 'mogftp_ftp_transfer_bytes_total{direction="download",result="ok"}')! >= 10_000);
    assert.equal(sample(m, 'mogftp_ftp_transfer_duration_seconds_count{direction="upload",result="ok"}'), 1);
    assert.equal(sample(m, 'mogftp_ftp_logins_total{result="ok"}'), 2);
    assert.equal(sample(m, 'mogftp_ftp_logins_total{result="failed"}'), 1);
    assert.equal(sample(m, 'mogftp_ftp_sessions_total'), 3);
    const open = await until('sessions to close', async () => {
      const v = sample((await get(`${ftp.admin}/metrics`)).body, 'mogftp_ftp_sessions');
      return v === 0 ? 'closed' : null;
    });
    assert.equal(open, 'closed');

    const lines = jsonLines(ftp.stderr());
    const transfers = lines.filter((l) => l.msg === 'transfer');
    assert.equal(transfers.length, 2, ftp.stderr());
    const upload = transfers.find((t) => t.direction === 'upload')!;
    assert.equal(upload.level, 'info');
    assert.equal(upload.name, 'ftp');
    assert.equal(upload.user, 'alice');
    assert.equal(upload.path, '/report.txt');
    assert.equal(upload.bytes, 10_000);
    assert.equal(upload.result, 'ok');
    assert.equal(upload.replicas, 2);
    assert.equal(upload.command, 'STOR');
    assert.match(String(upload.ip), /127\.0\.0\.1/);
    assert.equal(typeof upload.durationMs, 'number');
    const download = transfers.find((t) => t.direction === 'download')!;
    assert.equal(download.command, 'RETR');
    assert.equal(download.path, '/report.txt');
    // Each connection has its own session id, carried by its login line and its transfer line.
    const logins = lines.filter((l) => l.msg === 'login');
    assert.equal(logins.length, 2);
    assert.notEqual(upload.session, download.session);
    assert.deepEqual(new Set(logins.map((l) => l.session)), new Set([upload.session, download.session]));
    assert.equal(lines.filter((l) => l.msg === 'login failed').length, 1);
  });

  test('no password in any log, at debug level, even for a failed login', async () => {
    await ftp.stop();
    const all = ftp.stdout() + ftp.stderr();
    assert.ok(all.includes('"msg":"transfer"'), 'the logs were captured');
    assert.equal(all.includes(PASSWORD), false, 'the password appears in the logs');
    assert.equal(all.includes(WRONG), false, 'the wrong password appears in the logs');
  });
});

describe('mogftp jobs --admin-listen (MariaDB)', () => {
  let tmp: string;
  let db: TestDb;
  let store: Store;
  let nodes: Daemon[] = [];
  let jobs: Daemon;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'mogftp-ops-jobs-'));
    db = await createMysqlTestDb();
    store = await openStore(db.url);
    await store.migrate();
    const domain = await store.createDomain('default');
    const cls = (await store.getClass(domain.id, 'default'))!;
    // Devices start "down": nothing can be written until the operator brings them up.
    nodes = await storageCluster(store, tmp, { status: 'down' });
    // A file with one copy of the two its class wants.
    const r = await store.reserveUpload({ domainId: domain.id, classId: cls.id, devids: [1], now: Date.now() });
    const checksum = createHash('sha256').update('hello').digest('hex');
    await store.commitUpload({ fid: r.fid, parentId: 0, name: 'short.bin', length: 5, checksum, devids: [1], mtime: Date.now() });
    jobs = await startDaemon(['jobs', '--admin-listen', '127.0.0.1:0', '--no-monitor'], { MOGFTP_DB: db.url, MOGFTP_LOG_LEVEL: 'warn' });
  });
  after(async () => {
    await jobs?.stop();
    for (const n of nodes) await n.stop();
    await store?.close();
    await db?.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('readyz follows the writable devices; metrics show queues, devices and short files', async () => {
    assert.equal((await get(`${jobs.admin}/healthz`)).status, 200);
    const notReady = await get(`${jobs.admin}/readyz`);
    assert.equal(notReady.status, 503, notReady.body);
    const report = JSON.parse(notReady.body);
    assert.equal(report.checks.database.ok, true);
    assert.match(report.checks.devices.detail, /^0 host\(s\)/);

    for (const devid of [1, 2]) await store.updateDevice(devid, { status: 'alive' });
    await until('readyz 200', async () => (await get(`${jobs.admin}/readyz`)).status === 200);

    const m = await until('the fid scan', async () => {
      const body = (await get(`${jobs.admin}/metrics`)).body;
      return sample(body, 'mogftp_fids') === 1 ? body : null;
    });
    assert.equal(sample(m, 'mogftp_fids_below_mindevcount'), 1);
    assert.equal(sample(m, 'mogftp_db_up'), 1);
    assert.equal(sample(m, 'mogftp_devices{status="alive"}'), 2);
    assert.equal(sample(m, 'mogftp_devices{status="dead"}'), 0);
    assert.notEqual(sample(m, 'mogftp_queue_depth{queue="replicate"}'), null);
    assert.notEqual(sample(m, 'mogftp_queue_depth{queue="delete"}'), null);
    assert.equal(sample(m, 'mogftp_build_info{version="0.1.0",daemon="jobs"}'), 1);
    assert.match(m, /^mogftp_device_reachable\{devid="1",host="host1"\} 0$/m);
  });
});
