// `mogftp dav --admin-listen`: like every other daemon, the WebDAV front-end serves /metrics,
// /healthz and /readyz apart from its data port.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { run } from '../harness/clients.ts';
import { BIN } from '../harness/quickstart-process.ts';

test('mogftp dav --admin-listen serves /metrics, /healthz and /readyz', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mogftp-dav-admin-'));
  const db = `sqlite:${join(dir, 'meta.db')}`;
  const init = await run(process.execPath, [BIN, 'admin', '--db', db, 'init']);
  assert.equal(init.code, 0, init.stderr);
  const proc = spawn(process.execPath, [BIN, 'dav', '--db', db, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--log-level', 'warn', '--verify-before-send', '1048576'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((done) => proc.on('exit', (code) => done(code)));
  try {
    const deadline = Date.now() + 60_000;
    while (!/mogftp dav listening on/.test(out)) {
      assert.ok(Date.now() < deadline && proc.exitCode === null, `mogftp dav did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const admin = /mogftp dav admin endpoint on (http:\/\/\S+) /.exec(out)?.[1];
    assert.ok(admin, out);
    const metrics = await fetch(`${admin}/metrics`);
    assert.equal(metrics.status, 200);
    // A wrong password first: the login counters of the shared throttle are on this endpoint too.
    const url = /mogftp dav listening on (\S+)/.exec(out)![1]!;
    const wrong = await fetch(url, { method: 'PROPFIND', headers: { Depth: '0', Authorization: `Basic ${Buffer.from('nobody:wrong').toString('base64')}` } });
    assert.equal(wrong.status, 401);
    const text = await metrics.text();
    assert.match(text, /^mogftp_build_info\{.*daemon="dav".*\} 1$/m);
    const again = await (await fetch(`${admin}/metrics`)).text();
    assert.match(again, /^mogftp_login_failures_total\{door="dav"\} 1$/m, again.split('\n').filter((l) => l.includes('login')).join('\n'));
    assert.equal((await fetch(`${admin}/healthz`)).status, 200);
    // Ready means the database answers and uploads can be placed; this cluster has no devices.
    const ready = await fetch(`${admin}/readyz`);
    const body = (await ready.json()) as { ready: boolean; checks: Record<string, { ok: boolean }> };
    assert.equal(ready.status, 503);
    assert.equal(body.checks.database?.ok, true, JSON.stringify(body));
    assert.equal(body.checks.devices?.ok, false, JSON.stringify(body));
  } finally {
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, out);
    await rm(dir, { recursive: true, force: true });
  }
});
