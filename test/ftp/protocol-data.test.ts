// Data connections: PASV/EPSV listener hygiene, the PASV address per client network, PORT/EPRT
// only to the client's own address, TCP_NODELAY on data sockets, and stalled data connections
// timing out without disturbing anyone else. On plain ftp-srv 4.6.3, PASV listeners live 30 s
// (2000 PASV exhaust a range), data sockets have Nagle on, and nothing times out a stalled one.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFtpServer, type RunningFtpServer } from '../../src/ftp/server.ts';
import type { FtpServerOptions } from '../../src/ftp/server.ts';
import { curl, ftpUrl } from '../harness/clients.ts';
import { sha256, useCluster } from '../harness/cluster.ts';
import { RawFtp, eventually } from './protocol-raw.ts';

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** Ten consecutive ports that are free right now. */
async function freeRange(): Promise<[number, number]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 40_000 + Math.floor(Math.random() * 2000) * 10;
    const ok = await Promise.all(Array.from({ length: 10 }, (_, i) => canBind(base + i)));
    if (ok.every(Boolean)) return [base, base + 9];
  }
  throw new Error('no free port range');
}

function noDelayOf(socket: Socket): boolean {
  const sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'kSetNoDelay');
  return !!sym && (socket as unknown as Record<symbol, boolean>)[sym] === true;
}

describe('FTP data connections', () => {
  const c = useCluster({ db: 'sqlite', tmpDir: 'mogftp-data-' });
  let dir: string;
  const servers: RunningFtpServer[] = [];
  const start = async (extra: Partial<FtpServerOptions> = {}) => {
    const s = await startFtpServer({ ...c.services, host: '127.0.0.1', port: 0, pasvPorts: [0, 0], ...extra });
    servers.push(s);
    return s;
  };
  before(async () => {
    dir = c.tmpDir;
    await writeFile(join(dir, 'small.txt'), 'small file\n');
  });
  c.onStop(async () => {
    for (const s of servers) await s.close({ graceMs: 0 });
  });

  test('2000 PASV from one client leave one listener; another client still transfers; listeners close with the connection', async () => {
    const range = await freeRange();
    const s = await start({ pasvPorts: range });
    const flood = await RawFtp.login(s.port);
    for (let sent = 0; sent < 2000; sent += 100) {
      flood.send('PASV\r\n'.repeat(100));
      for (let i = 0; i < 100; i++) assert.equal((await flood.next())?.code, 227);
    }
    const busy = [];
    for (let p = range[0]; p <= range[1]; p++) if (!(await canBind(p))) busy.push(p);
    assert.ok(busy.length <= 1, `ports still listening after 2000 PASV: ${busy.join(', ')}`);

    const up = await curl(['--disable-epsv', '-T', join(dir, 'small.txt'), ftpUrl(s.port, '/pasv-small.txt')]);
    assert.equal(up.code, 0, up.stderr);
    const down = await curl(['--disable-epsv', ftpUrl(s.port, '/pasv-small.txt')]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(down.stdout, 'small file\n');

    flood.send('PASV\r\n');
    assert.equal((await flood.next())?.code, 227);
    flood.close();
    await eventually(async () => (await Promise.all(Array.from({ length: 10 }, (_, i) => canBind(range[0] + i)))).every(Boolean), 10_000, 'listeners closed');
  });

  test('PASV answers per client network (loopback stays loopback); EPSV needs no PASV address', async () => {
    const s = await start({ pasvAddress: '127.0.0.2/32=192.0.2.44, 198.51.100.7' });
    const fromTwo = await RawFtp.login(s.port, 'demo', 'demo', { localAddress: '127.0.0.2' });
    assert.match((await fromTwo.cmd('PASV'))!.text, /^227 .*\(192,0,2,44,\d+,\d+\)/);
    fromTwo.close();
    const fromOne = await RawFtp.login(s.port);
    assert.match((await fromOne.cmd('PASV'))!.text, /^227 .*\(127,0,0,1,\d+,\d+\)/);
    fromOne.close();
    // curl uses EPSV: no PASV address configured at all on this one.
    const plain = await start();
    const up = await curl(['-T', join(dir, 'small.txt'), ftpUrl(plain.port, '/epsv.txt')]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal((await curl([ftpUrl(plain.port, '/epsv.txt')])).stdout, 'small file\n');
  });

  test('PORT and EPRT work to the client\'s own address, and are refused to any other or to a privileged port', async () => {
    const s = await start();
    for (const extra of [[], ['--disable-eprt']]) {
      const name = `/active${extra.length}.txt`;
      const up = await curl(['-P', '127.0.0.1', ...extra, '-T', join(dir, 'small.txt'), ftpUrl(s.port, name)]);
      assert.equal(up.code, 0, up.stderr);
      const down = await curl(['-P', '127.0.0.1', ...extra, ftpUrl(s.port, name)]);
      assert.equal(down.stdout, 'small file\n', down.stderr);
    }
    const ftp = await RawFtp.login(s.port);
    const refused: Record<string, string> = {};
    for (const line of ['PORT 127,0,0,2,200,10', 'EPRT |1|127.0.0.2|51210|', 'EPRT |2|::1|51210|', 'PORT 127,0,0,1,0,21', 'PORT 10,0,0,1,200,10', 'PORT 1,2,3', 'EPRT |3|x|1|'])
      refused[line] = String((await ftp.cmd(line))?.code);
    ftp.close();
    assert.deepEqual(refused, {
      'PORT 127,0,0,2,200,10': '500',
      'EPRT |1|127.0.0.2|51210|': '500',
      'EPRT |2|::1|51210|': '500',
      'PORT 127,0,0,1,0,21': '500',
      'PORT 10,0,0,1,200,10': '500',
      'PORT 1,2,3': '501',
      'EPRT |3|x|1|': '522',
    });
    // The option for FXP lets a client name another address.
    const fxp = await start({ allowForeignDataAddress: true });
    const f = await RawFtp.login(fxp.port);
    assert.equal((await f.cmd('PORT 127,0,0,2,200,10'))?.code, 200);
    f.close();
  });

  test('control and data sockets get TCP_NODELAY, passive and active', async () => {
    const s = await start();
    const seen: Array<{ socket: Socket }> = [];
    const control: Array<{ socket: Socket }> = [];
    const onSocket = (msg: unknown) => seen.push(msg as { socket: Socket });
    const onControl = (msg: unknown) => control.push(msg as { socket: Socket });
    subscribe('mogftp:ftp:data-socket', onSocket);
    subscribe('mogftp:ftp:control-socket', onControl);
    try {
      assert.equal((await curl(['-T', join(dir, 'small.txt'), ftpUrl(s.port, '/nd.txt')])).code, 0);
      assert.equal((await curl(['-P', '127.0.0.1', ftpUrl(s.port, '/nd.txt')])).stdout, 'small file\n');
    } finally {
      unsubscribe('mogftp:ftp:data-socket', onSocket);
      unsubscribe('mogftp:ftp:control-socket', onControl);
    }
    assert.equal(seen.length, 2);
    for (const { socket } of seen) assert.ok(noDelayOf(socket), 'TCP_NODELAY set on the data socket');
    assert.equal(control.length, 2);
    for (const { socket } of control) assert.ok(noDelayOf(socket), 'TCP_NODELAY set on the control socket');
  });

  test('stalled uploads and downloads time out (426, nothing stored) while another client transfers', async () => {
    const s = await start({ dataTimeoutMs: 1500 });
    const big = randomBytes(16 * 1024 * 1024);
    await writeFile(join(dir, 'big.bin'), big);
    assert.equal((await curl(['-T', join(dir, 'big.bin'), ftpUrl(s.port, '/big.bin')])).code, 0);

    // An upload that sends a little and then nothing.
    const up = await RawFtp.login(s.port);
    const upData = connect({ port: await up.epsv(), host: '127.0.0.1' });
    upData.on('error', () => {});
    assert.equal((await up.cmd('STOR stalled.bin'))?.code, 150);
    upData.write(randomBytes(1000));
    // A download whose reader never reads.
    const down = await RawFtp.login(s.port);
    const downData = connect({ port: await down.epsv(), host: '127.0.0.1' });
    downData.on('error', () => {});
    downData.pause();
    assert.equal((await down.cmd('RETR big.bin'))?.code, 150);

    // Meanwhile another client is not affected.
    const other = await curl(['-T', join(dir, 'small.txt'), ftpUrl(s.port, '/other.txt')]);
    assert.equal(other.code, 0, other.stderr);
    assert.equal((await curl([ftpUrl(s.port, '/other.txt')])).stdout, 'small file\n');

    assert.equal((await up.next(30_000))?.code, 426);
    assert.equal((await down.next(30_000))?.code, 426);
    assert.equal(await c.fidOf('/stalled.bin'), null, 'a stalled upload stores nothing');
    // Both control connections stay usable.
    assert.equal((await up.cmd('NOOP'))?.code, 200);
    assert.equal((await down.cmd('NOOP'))?.code, 200);
    up.close();
    down.close();
    upData.destroy();
    downData.destroy();
    const copy = await curl([ftpUrl(s.port, '/big.bin'), '-o', join(dir, 'big.out')]);
    assert.equal(copy.code, 0, copy.stderr);
    assert.equal(sha256(await readFile(join(dir, 'big.out'))), sha256(big));
  });
});
