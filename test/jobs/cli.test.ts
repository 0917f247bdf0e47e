// `mogftp jobs` as a user runs it: replicates, and stops cleanly on SIGTERM.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseDuration } from '../../src/cli/jobs.ts';
import { JOBS_TEST_CLUSTER, useCluster } from '../harness/cluster.ts';
import { waitFor } from '../harness/wait.ts';

const BIN = fileURLToPath(new URL('../../bin/mogftp.js', import.meta.url));

test('--auto-dead-after durations', () => {
  assert.equal(parseDuration('--auto-dead-after', '30m'), 30 * 60_000);
  assert.equal(parseDuration('--auto-dead-after', '2h'), 7_200_000);
  assert.equal(parseDuration('--auto-dead-after', '1.5d'), 129_600_000);
  assert.equal(parseDuration('--auto-dead-after', '90'), 90_000);
  assert.equal(parseDuration('--auto-dead-after', 'off'), null);
  assert.throws(() => parseDuration('--auto-dead-after', '5 minutes'), /--auto-dead-after takes a duration/);
  assert.throws(() => parseDuration('--auto-dead-after', '0s'), /duration/);
});

describe('mogftp jobs', () => {
  const c = useCluster({ ...JOBS_TEST_CLUSTER, nodes: 2, mindevcount: 2 });

  test('replicates a file, then exits 0 on SIGTERM', async () => {
    const bytes = randomBytes(100_000);
    const { fid } = await c.putFile(bytes, [c.nodes[0]!.devid]);
    const proc = spawn(process.execPath, [BIN, 'jobs', '--db', c.dbUrl, '--auto-dead-after', '1h', '--log-level', 'info'], { stdio: 'pipe' });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    try {
      await waitFor('2 copies', async () => (await c.store.replicasOf(fid)).length === 2 || (proc.exitCode !== null && `exited: ${stderr}`), 20_000);
      assert.ok((await c.onDisk(c.nodes[1]!.devid, fid))?.equals(bytes));
      proc.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.match(stderr, /stopping/);
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
  });

  test('a bad --auto-dead-after is a one-line error', async () => {
    const proc = spawn(process.execPath, [BIN, 'jobs', '--db', c.dbUrl, '--auto-dead-after', 'soon'], { stdio: 'pipe' });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => proc.on('exit', (cd) => r(cd)));
    assert.equal(code, 1);
    assert.match(stderr, /auto-dead-after .*expected a duration such as 30m/);
  });
});
