// Ports the quickstart is told to use must be free: a busy --port, --dav-port, --sftp-port or --admin-listen
// stops it with one line naming the option (no bare EADDRINUSE, no silent switch). Only the
// default WebDAV port 8080 and SFTP port 2222 give way to a free port, and the banner says so in a sentence.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run } from '../harness/clients.ts';
import { freePort } from '../harness/nodes.ts';
import { BIN, spawnQuickstart } from '../harness/quickstart-process.ts';

function listen(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(null)); // already taken by someone else: taken all the same
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

/**
 * Holds a default port for one test. Other test files start quickstarts on the defaults too: one
 * that holds it now would let it go at its end, and the quickstart under test would then get the
 * "taken" port after all (CI saw that for 2222). So wait until this test holds the port itself;
 * only a holder that keeps it for a minute (a real service on this machine) is taken as it is.
 */
async function hold(port: number): Promise<Server | null> {
  const until = Date.now() + 60_000;
  for (;;) {
    const s = await listen(port);
    if (s || Date.now() > until) return s;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('quickstart ports', () => {
  let base: string;
  let busyPort: number;
  let busy: Server | null;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'mogftp-qs-ports-'));
    busyPort = await freePort();
    busy = await listen(busyPort);
    assert.ok(busy);
  });
  after(async () => {
    busy?.close();
    await rm(base, { recursive: true, force: true });
  });

  for (const [flag, value] of [
    ['--port', () => String(busyPort)],
    ['--dav-port', () => String(busyPort)],
    ['--sftp-port', () => String(busyPort)],
    ['--admin-listen', () => `127.0.0.1:${busyPort}`],
  ] as const) {
    test(`a busy ${flag} is an error that names ${flag}`, async () => {
      const port = flag === '--port' ? value() : String(await freePort());
      const extra = flag === '--port' ? ['--no-dav'] : [flag, value()];
      const r = await run(process.execPath, [BIN, 'quickstart', '--data', join(base, flag.slice(2)), '--port', port, '--pasv-ports', '0', '--no-tls', ...extra]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`^mogftp: .*port ${busyPort} on 127\\.0\\.0\\.1 is already in use: stop what holds it, or choose another with ${flag} \\[MOGFTP_ERR_IN_USE\\]\\n$`));
      assert.doesNotMatch(r.stdout, /is running/, 'no banner for a quickstart that did not start');
    });
  }

  test('the default WebDAV port 8080 taken: a free one instead, said in the banner, which comes first', async () => {
    const held = await hold(8080);
    try {
      const qs = spawnQuickstart(['--data', join(base, 'dav-default'), '--port', String(await freePort()), '--pasv-ports', '0', '--no-tls']);
      try {
        await qs.waitFor(/^# Press Ctrl-C to stop\.$/m);
        const out = qs.stdout();
        assert.match(out, /^# mogftp quickstart is running: /, 'the banner is the first output');
        const note = /^# WebDAV port 8080 is taken, so WebDAV is on port (\d+) instead \(--dav-port chooses one\)\.$/m.exec(out);
        assert.ok(note, out);
        assert.match(out, new RegExp(`WebDAV on http://127\\.0\\.0\\.1:${note[1]}/`));
        assert.equal(qs.stderr(), '', 'nothing logged before or instead of the sentence');
        qs.proc.kill('SIGINT');
        assert.equal((await qs.exited).code, 0);
      } finally {
        await qs.kill();
      }
    } finally {
      held?.close();
    }
  });

  test('the default SFTP port 2222 taken: a free one instead, said in the banner', async () => {
    const held = await hold(2222);
    try {
      const qs = spawnQuickstart(['--data', join(base, 'sftp-default'), '--port', String(await freePort()), '--pasv-ports', '0', '--no-tls', '--no-dav']);
      try {
        await qs.waitFor(/^# Press Ctrl-C to stop\.$/m);
        const out = qs.stdout();
        const note = /^# SFTP port 2222 is taken, so SFTP is on port (\d+) instead \(--sftp-port chooses one\)\.$/m.exec(out);
        assert.ok(note, out);
        assert.match(out, new RegExp(`^sftp -P ${note[1]} -o UserKnownHostsFile=\\S+ demo@127\\.0\\.0\\.1 +# password demo; host key SHA256:[A-Za-z0-9+/]{43}$`, 'm'));
        qs.proc.kill('SIGINT');
        assert.equal((await qs.exited).code, 0);
      } finally {
        await qs.kill();
      }
    } finally {
      held?.close();
    }
  });
});
