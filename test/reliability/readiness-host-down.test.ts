// Issue 16 item 2: one host down must not take every front-end out of the load balancer. Three
// storage nodes, the default class (mindevcount 2, quorum 2) and a mindevcount-3 class no file
// uses; a `mogftp jobs` process (the monitor, the cluster gauges) and a `mogftp ftp` process, each
// with its admin endpoint. One node stopped: both stay ready, uploads still work, and the gauge
// and the readiness detail warn. A second node stopped: both say 503 and why.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { curl, ftpUrl } from '../harness/clients.ts';
import { freePort } from '../harness/nodes.ts';
import { useCluster } from '../harness/cluster.ts';
import { type DaemonProcess } from '../harness/daemons.ts';
import { BIN } from '../harness/quickstart-process.ts';
import { until } from '../harness/wait.ts';

interface Ready {
  status: number;
  body: { ready: boolean; checks: Record<string, { ok: boolean; detail: string }> };
}

async function readyz(base: string): Promise<Ready> {
  const res = await fetch(`${base}/readyz`);
  return { status: res.status, body: (await res.json()) as Ready['body'] };
}

/** One sample of a scraped metric, by its labels as written ('' for none), or null if absent. */
async function sample(base: string, name: string, labels = ''): Promise<number | null> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? null : Number(line.split(' ')[1]);
}

/** `mogftp jobs` with the monitor and an admin endpoint on an ephemeral port; resolves with its URL. */
async function startJobsProcess(dbUrl: string): Promise<{ url: string; proc: ChildProcess; output: () => string }> {
  const proc = spawn(process.execPath, [BIN, 'jobs', '--db', dbUrl, '--admin-listen', '127.0.0.1:0', '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await until('the jobs admin endpoint line', () => /admin endpoint on http:\/\/\S+/.test(out) || proc.exitCode !== null, 30_000);
  const m = /admin endpoint on (http:\/\/\S+)/.exec(out);
  if (!m) throw new Error(`mogftp jobs did not start:\n${out}`);
  return { url: m[1]!, proc, output: () => out };
}

describe('readiness with storage hosts down', () => {
  const c = useCluster({ db: 'sqlite', nodes: 3, mindevcount: 2, writeQuorum: 2, auth: false });
  let jobs: Awaited<ReturnType<typeof startJobsProcess>>;
  let fe: DaemonProcess;
  let feAdmin: string;

  before(async () => {
    await c.store.createClass(c.domainId, 'triple', { mindevcount: 3, writeQuorum: 3 });
    jobs = await startJobsProcess(c.dbUrl);
    c.deferCleanup(async () => {
      if (jobs.proc.exitCode === null) jobs.proc.kill('SIGKILL');
    });
    const port = await freePort();
    feAdmin = `http://127.0.0.1:${port}`;
    fe = await c.startFrontendProcess(['--admin-listen', `127.0.0.1:${port}`]);
  });

  test('one of three hosts down: still ready with a warning, uploads work; two down: 503 with the reason', async () => {
    // What the monitor (in the jobs process) last saw of a device: the front-ends place by it too.
    const observed = async (devid: number) => (await c.store.listDevices()).find((d) => d.id === devid)?.observed;
    for (const n of c.nodes) await until(`the monitor to see device ${n.devid}`, async () => (await observed(n.devid)) === 'writeable');
    // Both processes have just started on a busy machine: wait for their first "ready".
    let last = '';
    for (const base of [jobs.url, feAdmin])
      await until(`${base} ready`, async () => {
        const r = await readyz(base);
        last = JSON.stringify(r.body);
        return r.status === 200;
      }).catch((err: Error) => {
        throw new Error(`${err.message}; last answer: ${last}`);
      });
    assert.equal(await sample(jobs.url, 'mogftp_writable_hosts'), 3);
    assert.equal(await sample(jobs.url, 'mogftp_classes_below_write_quorum', '{in_use="false"}'), 0);

    await c.nodes[0]!.kill!('SIGKILL');
    await until('the monitor to see host1 gone', async () => (await observed(c.nodes[0]!.devid)) === 'unreachable');
    for (const base of [jobs.url, feAdmin]) {
      const r = await readyz(base);
      assert.equal(r.status, 200, `${base}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.checks.devices!.detail, /^2 host\(s\) with a writable device, enough for every class in use; warning: too few for class triple of domain default \(write quorum 3\)/);
    }
    assert.equal(await sample(jobs.url, 'mogftp_writable_hosts'), 2);
    assert.equal(await sample(jobs.url, 'mogftp_classes_below_write_quorum', '{in_use="false"}'), 1, 'the unused class is short');
    assert.equal(await sample(jobs.url, 'mogftp_classes_below_write_quorum', '{in_use="true"}'), 0);
    // Ready means it: an upload through the front-end succeeds on the two hosts left.
    const up = await curl(['-T', '-', ftpUrl(fe.port, '/after-one-down.bin')], { input: Buffer.alloc(64 * 1024, 7) });
    assert.equal(up.code, 0, `upload failed: ${up.stderr}\n${fe.output()}`);
    assert.ok((await c.fidOf('/after-one-down.bin')) !== null);

    await c.nodes[1]!.kill!('SIGKILL');
    await until('the monitor to see host2 gone', async () => (await observed(c.nodes[1]!.devid)) === 'unreachable');
    assert.equal(await sample(jobs.url, 'mogftp_writable_hosts'), 1);
    assert.equal(await sample(jobs.url, 'mogftp_classes_below_write_quorum', '{in_use="true"}'), 1, 'the default class is short');
    for (const base of [jobs.url, feAdmin]) {
      const r = await readyz(base);
      assert.equal(r.status, 503, `${base}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.checks.devices!.ok, false);
      assert.equal(
        r.body.checks.devices!.detail,
        '1 host(s) with a writable device: too few for class default of domain default (write quorum 2), so uploads there fail',
      );
      assert.equal(r.body.checks.database!.ok, true);
    }
  });
});
