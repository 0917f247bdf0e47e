// The operator's view of repair, as real `mogftp admin` processes: file info, stats, and an
// fsck run driven from the command line while a jobs process does the work.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { adminCli, type CliRun } from '../harness/admin-cli.ts';
import { JOBS_TEST_CLUSTER, sha256, useCluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';

function ok(r: CliRun, what: string): string {
  assert.equal(r.code, 0, `${what}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

function oneLineError(r: CliRun, pattern: RegExp): void {
  assert.notEqual(r.code, 0);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
}

describe('admin file, stats and fsck', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 3, mindevcount: 2 });
  let d1: number, d2: number;
  const bytes = randomBytes(12_345);
  let fid: number;
  before(async () => {
    [d1, d2] = c.nodes.map((n) => n.devid) as [number, number];
    fid = (await c.putFile(bytes, [d1, d2], { name: 'report.pdf' })).fid;
    for (let i = 0; i < 9; i++) await c.putFile(randomBytes(100 + i), [d1, d2]);
    await c.store.mkdir(c.domainId, 0, 'docs', { mtime: Date.now() });
  });

  test('file info: fid, class, length, checksum, replicas with device, host and state', async () => {
    await c.store.updateDevice(d2, { status: 'readonly' });
    const info = JSON.parse(ok(await adminCli(c.dbUrl, ['file', 'info', '/report.pdf', '--json']), 'file info')) as Record<string, unknown> & {
      replicas: Array<Record<string, unknown>>;
    };
    await c.store.updateDevice(d2, { status: 'alive' });
    assert.deepEqual(
      { domain: info.domain, path: info.path, fid: info.fid, class: info.class, mindevcount: info.mindevcount, length: info.length, alg: info.checksumAlg, sum: info.checksum, devcount: info.devcount },
      { domain: 'jobs', path: '/report.pdf', fid, class: 'two', mindevcount: 2, length: 12_345, alg: 'sha256', sum: sha256(bytes), devcount: 2 },
    );
    assert.deepEqual(
      info.replicas.map((r) => [r.devid, r.host, r.deviceStatus, r.hostStatus, r.counts]),
      [[d1, 'host1', 'alive', 'alive', true], [d2, 'host2', 'readonly', 'alive', true]],
    );
    assert.equal(info.replicas[0]!.url, c.replicaUrl(d1, fid));

    const plain = ok(await adminCli(c.dbUrl, ['file', 'info', 'report.pdf', '--domain', 'jobs']), 'plain');
    assert.match(plain, new RegExp(`fid ${fid}, class two \\(mindevcount 2\\), 12345 bytes`));
    assert.match(plain, /replicas: 2 \(2 counted toward the class\)/);
    assert.match(plain, new RegExp(`device ${d1} on host1: device alive, host alive`));

    const [missing, dir, domain] = await Promise.all([
      adminCli(c.dbUrl, ['file', 'info', '/nope.txt']),
      adminCli(c.dbUrl, ['file', 'info', '/docs']),
      adminCli(c.dbUrl, ['file', 'info', '/report.pdf', '--domain', 'other']),
    ]);
    oneLineError(missing, /No such file: \/nope\.txt in domain jobs/);
    oneLineError(dir, /\/docs is a directory/);
    oneLineError(domain, /Unknown domain "other"/);
  });

  test('stats: files, bytes, under-replicated, queues, devices', async () => {
    const s = JSON.parse(ok(await adminCli(c.dbUrl, ['stats', '--json']), 'stats')) as {
      files: number; bytes: number; underReplicated: number; queues: Record<string, number>; devices: Array<{ devid: number; replicas: number; bytes: number }>; fsck: unknown;
    };
    const total = 12_345 + [...Array(9).keys()].reduce((a, i) => a + 100 + i, 0);
    assert.deepEqual([s.files, s.bytes, s.underReplicated, s.fsck], [10, total, 0, null]);
    assert.deepEqual(s.queues, { replicate: 0, delete: 0, fsck: 0 });
    assert.deepEqual(s.devices.map((d) => [d.devid, d.replicas, d.bytes]), [[d1, 10, total], [d2, 10, total], [c.nodes[2]!.devid, 0, 0]]);
    const plain = ok(await adminCli(c.dbUrl, ['stats']), 'stats plain');
    assert.match(plain, new RegExp(`files: 10 \\(${total} bytes\\), under-replicated: 0`));
    assert.match(plain, /queues: replicate 0, delete 0, fsck 0/);
    assert.match(plain, /DEVID\s+HOST\s+STATUS/);
  });

  test('fsck start, status, log, stop from the command line', async () => {
    const never = JSON.parse(ok(await adminCli(c.dbUrl, ['fsck', 'status', '--json']), 'status')) as { status: string };
    assert.equal(never.status, 'never-run');
    await c.corrupt(d2, fid);

    assert.match(ok(await adminCli(c.dbUrl, ['fsck', 'start']), 'start'), /fsck started \(run [0-9a-f]+\): 10 file\(s\) to check/);
    assert.match(ok(await adminCli(c.dbUrl, ['fsck', 'start']), 'start again'), /already running/);
    const running = JSON.parse(ok(await adminCli(c.dbUrl, ['fsck', 'status', '--json']), 'status')) as { status: string; total: number };
    assert.deepEqual([running.status, running.total], ['running', 10]);

    const jobs = c.startJobs();
    // --watch follows the run to its end; not on a terminal, it prints plain lines.
    const watched = await adminCli(c.dbUrl, ['fsck', 'status', '--watch']);
    const out = ok(watched, 'watch');
    assert.match(watched.stderr, /fsck: done, 10 file\(s\) checked, .*BSUM 1/);
    assert.match(out, /fsck finished/);
    assert.match(out, /checked 10 of 10 file\(s\) \(100%\)/);
    await waitFor('repaired', async () => (await c.store.queueDepth('replicate')) + (await c.store.queueDepth('delete')) === 0);
    await jobs.stop();

    const [byFid, latest, plain, stop, badFid] = await Promise.all([
      adminCli(c.dbUrl, ['fsck', 'log', '--json', '--fid', String(fid)]),
      adminCli(c.dbUrl, ['fsck', 'log', '--json', '--run', '--limit', '2']),
      adminCli(c.dbUrl, ['fsck', 'log']),
      adminCli(c.dbUrl, ['fsck', 'stop']),
      adminCli(c.dbUrl, ['fsck', 'log', '--fid', 'x']),
    ]);
    const log = JSON.parse(ok(byFid, 'log')) as Array<{ code: string; devid: number | null; detail: string }>;
    assert.deepEqual(log.map((e) => e.code), ['BSUM', 'GONE', 'POVI', 'REPL']);
    assert.equal(log[0]!.devid, d2);
    const last = JSON.parse(ok(latest, 'log --limit')) as Array<{ code: string }>;
    assert.deepEqual(last.map((e) => e.code), ['POVI', 'REPL']);
    assert.match(ok(plain, 'log plain'), /TIME\s+FID\s+DEVID\s+CODE\s+DETAIL[\s\S]*BSUM/);
    assert.match(ok(stop, 'stop'), /fsck is not running/);
    oneLineError(badFid, /--fid must be a whole number/);

    assert.match(ok(await adminCli(c.dbUrl, ['fsck', 'start', '--json']), 'restart'), /"status": "running"/);
    assert.match(ok(await adminCli(c.dbUrl, ['fsck', 'stop']), 'stop'), /fsck stopped after fid 0/);
    assert.match(ok(await adminCli(c.dbUrl, ['fsck', 'start']), 'resume'), /fsck resumed/);
    assert.match(ok(await adminCli(c.dbUrl, ['fsck', 'stop']), 'stop'), /fsck stopped/);
    assert.match(ok(await adminCli(c.dbUrl, ['fsck', 'clear-log']), 'clear'), /Removed 4 fsck finding\(s\)/);
  });
});
