// Per-address limits are on by default (issue 15): one client address gets at most 64 control
// connections and holds at most a tenth of the passive range (at least 4) in listeners waiting
// for their data connection, so that it cannot take every slot or every passive port from the
// others. Other loopback addresses (127.0.0.x) stand in for other hosts.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import { DEFAULTS, defaultPassivePerAddress } from '../../src/ftp/settings.ts';
import { useCluster } from '../harness/cluster.ts';
import { until } from '../harness/wait.ts';
import { trackFigures } from './lib/figures.ts';
import { loggedIn, RawFtp } from './lib/ftp.ts';

const fig = trackFigures('security-limits');

/** A free block of `count` TCP ports on 127.0.0.1 (listened on once, then released). */
async function freeRange(count: number): Promise<[number, number]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const lo = 40000 + Math.floor(Math.random() * 20000);
    const servers: net.Server[] = [];
    let ok = true;
    for (let p = lo; p < lo + count && ok; p++) {
      const s = net.createServer();
      ok = await new Promise<boolean>((r) => {
        s.once('error', () => r(false));
        s.listen(p, '127.0.0.1', () => r(true));
      });
      if (ok) servers.push(s);
    }
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    if (ok) return [lo, lo + count - 1];
  }
  throw new Error('no free port range');
}

describe('per-address limits by default', () => {
  const c = useCluster({ db: 'sqlite', nodes: 2, mindevcount: 2, auth: false });

  test(`one address gets ${DEFAULTS.maxConnectionsPerAddress} control connections, then 421; another address is served`, async () => {
    fig.scenario('connections from one address past the default cap');
    const s = await c.startFtp();
    const open: RawFtp[] = [];
    try {
      for (let i = 0; i < DEFAULTS.maxConnectionsPerAddress; i++) {
        const ftp = await RawFtp.connect(s.port, { localAddress: '127.0.0.21' });
        assert.equal(ftp.greeting.code, 220, `connection ${i + 1}: ${ftp.greeting.code} ${ftp.greeting.text}`);
        open.push(ftp);
      }
      fig.fault();
      const over = await RawFtp.connect(s.port, { localAddress: '127.0.0.21' });
      open.push(over);
      assert.equal(over.greeting.code, 421, over.greeting.text);
      assert.match(over.greeting.text, /from your address \(64\)/);
      const other = await loggedIn(s.port, 'demo', 'demo', { localAddress: '127.0.0.22' });
      assert.equal((await other.cmd('NOOP')).code, 200);
      await other.quit();
      // A slot comes back when a connection closes.
      open.shift()!.socket.destroy();
      await until('a slot freed for 127.0.0.21', async () => {
        const again = await RawFtp.connect(s.port, { localAddress: '127.0.0.21' });
        open.push(again);
        return again.greeting.code === 220;
      }, 10_000, 100);
    } finally {
      for (const x of open) x.socket.destroy();
      await s.close({ graceMs: 0 });
    }
  });

  test('one address holds at most a tenth of the passive range in waiting listeners; others still get ports', async () => {
    fig.scenario('passive listeners from one address past the default cap');
    const range = await freeRange(40);
    const max = defaultPassivePerAddress(range);
    assert.equal(max, 4);
    const s = await c.startFtp({ pasvPorts: range });
    const sessions: RawFtp[] = [];
    try {
      for (let i = 0; i < max; i++) {
        const ftp = await loggedIn(s.port, 'demo', 'demo', { localAddress: '127.0.0.31' });
        sessions.push(ftp);
        const r = await ftp.cmd('EPSV');
        assert.equal(r.code, 229, r.text);
      }
      fig.fault();
      const greedy = await loggedIn(s.port, 'demo', 'demo', { localAddress: '127.0.0.31' });
      sessions.push(greedy);
      const refused = await greedy.cmd('EPSV');
      assert.equal(refused.code, 425, refused.text);
      assert.match(refused.text, /holds 4 passive ports/);
      assert.equal((await greedy.cmd('PASV')).code, 425);
      // Another address is not affected, and its transfer works.
      const other = await loggedIn(s.port, 'demo', 'demo', { localAddress: '127.0.0.32' });
      assert.equal((await other.stor('/limits.txt', Buffer.from('passive ok'))).final.code, 226);
      await other.quit();
      // A listener that was replaced, or got its data connection, no longer counts: the first
      // session's STOR replaces its waiting listener with a new one and uses it.
      assert.equal((await sessions[0]!.stor('/limits-2.txt', Buffer.from('used'))).final.code, 226);
      assert.equal((await greedy.cmd('EPSV')).code, 229);
      // And one more is again too many.
      assert.equal((await sessions[0]!.cmd('EPSV')).code, 425);
      // A closed session gives its listener back.
      sessions[1]!.socket.destroy();
      await until('a passive slot back for 127.0.0.31', async () => (await sessions[0]!.cmd('EPSV')).code === 229, 10_000, 100);
    } finally {
      for (const x of sessions) x.socket.destroy();
      await s.close({ graceMs: 0 });
    }
  });
});
