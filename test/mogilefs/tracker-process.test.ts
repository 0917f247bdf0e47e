// `mogftp tracker` as the command users run: it refuses a listen address that is not loopback
// unless told that remote clients are meant, and it loads its own door only (no FTP, WebDAV,
// jobs or storage node code), checked with the module recorder the other daemons' test uses.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../../src/tracker/open.ts';
import { run } from '../harness/clients.ts';
import { waitForLine, endProcess, Tail } from '../harness/processes.ts';
import { BIN, REPO } from '../harness/quickstart-process.ts';
import { TrackerClient } from './tracker-client.ts';

describe('mogftp tracker, the process', () => {
  let dir: string;
  let dbUrl: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mogftp-tracker-proc-'));
    dbUrl = `sqlite:${join(dir, 'mogftp.db')}`;
    const store = await openStore(dbUrl, { createDatabase: true });
    await store.migrate();
    await store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('an address that is not loopback is refused without --allow-remote-clients', async () => {
    const r = await run(process.execPath, [BIN, 'tracker', '--db', dbUrl, '--listen', '0.0.0.0:7001'], { timeoutMs: 30_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not a loopback address.*--allow-remote-clients/);
    assert.match(r.stderr, /MOGFTP_ERR_INVALID_ARGUMENT/);
  });

  test('it loads the tracker door and no FTP, WebDAV, jobs or storage node code', async () => {
    const out = join(dir, 'tracker.modules');
    const recorder = pathToFileURL(join(REPO, 'test', 'ops', 'fixtures', 'record-modules.mjs')).href;
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MOGFTP_')));
    const proc = spawn(process.execPath, ['--import', recorder, BIN, 'tracker', '--db', dbUrl, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--log-level', 'warn'], {
      env: { ...env, MOGFTP_TEST_MODULES_OUT: out },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail = new Tail();
    tail.attach(proc.stderr!);
    const listen = await waitForLine(proc, /mogftp tracker listening on (\S+)/, { timeoutMs: 60_000, what: 'mogftp tracker', diagnostics: () => tail.text(), killOnFailure: true });
    // Ready is answering: one request served means the daemon is past its start-up, signal handler included.
    const t = await TrackerClient.connect(Number(listen.split(':').pop()));
    assert.match(await t.raw('noop'), /^OK/);
    t.close();
    await endProcess(proc, 'SIGTERM', 15_000);
    assert.equal(proc.exitCode, 0, `exit ${proc.exitCode} ${proc.signalCode}: ${tail.text()}`);
    const root = pathToFileURL(REPO).href + '/';
    const loaded = readFileSync(out, 'utf8')
      .split('\n')
      .filter((u) => u.startsWith(root) && !u.startsWith(`${root}node_modules/`))
      .map((u) => u.slice(root.length).replace(/^dist\//, '').replace(/\.(?:ts|js)$/, ''));
    assert.ok(loaded.includes('src/mogilefs/server'), loaded.join('\n'));
    const strays = loaded.filter((m) => /^src\/(?:ftp|dav|jobs)\/|^src\/storage\/node|^src\/daemons\/(?!tracker$|services$)/.test(m));
    assert.deepEqual([...new Set(strays)], [], "mogftp tracker loaded other daemons' code");
  });
});
