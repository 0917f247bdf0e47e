// `mogftp tracker` (src/mogilefs) with our own protocol client, on SQLite and MariaDB, against
// real storage nodes with the storage key on, curl as the HTTP client that PUTs and GETs the
// URLs the tracker hands out, and curl's FTP for the other door: one namespace for both.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/log.ts';
import { startTrackerDoor, type RunningTrackerDoor } from '../../src/mogilefs/server.ts';
import { curl, ftpUrl } from '../harness/clients.ts';
import { BACKENDS, sha256, useCluster, type Cluster } from '../harness/cluster.ts';
import { sleep, until } from '../harness/wait.ts';
import { TrackerClient } from './tracker-client.ts';

/** create_open, a curl PUT to the first URL, create_close: the way MogileFS::Client stores a key. */
async function storeKey(t: TrackerClient, dir: string, domain: string, key: string | Buffer, bytes: Buffer, extra: Record<string, string> = {}) {
  const open = await t.ok('create_open', { domain, key, fid: 0, multi_dest: 1 });
  assert.ok(Number(open.dev_count) >= 1);
  const file = join(dir, `up-${open.fid}`);
  await writeFile(file, bytes);
  const put = await curl(['-f', '-T', file, open.path_1!]);
  assert.equal(put.code, 0, put.stderr);
  return { open, close: await t.call('create_close', { domain, key, fid: open.fid!, devid: open.devid_1!, path: open.path_1!, size: bytes.length, ...extra }) };
}

async function getBytes(url: string, dir: string): Promise<Buffer> {
  const out = join(dir, `got-${Math.random().toString(36).slice(2)}`);
  const r = await curl(['-f', '-o', out, url]);
  assert.equal(r.code, 0, r.stderr);
  return readFile(out);
}

for (const backend of BACKENDS) {
  describe(`mogftp tracker: the MogileFS protocol (${backend})`, () => {
    const c: Cluster = useCluster({ db: backend, ftp: true, tmpDir: 'mogftp-tracker-', domain: 'd' });
    let door: RunningTrackerDoor;
    let t: TrackerClient;
    before(async () => {
      door = await startTrackerDoor({ ...c.services, signUrls: true, host: '127.0.0.1', port: 0, log: createLogger({ level: 'silent' }), });
      t = await TrackerClient.connect(door.port);
    });
    after(async () => {
      t?.close();
      await door?.close();
    });

    test('a key stored through the tracker is the FTP file at its path, byte for byte; replication follows', async () => {
      const bytes = randomBytes(1024 * 1024 + 7);
      const { open, close } = await storeKey(t, c.tmpDir, 'd', 'tr/hello.bin', bytes);
      assert.deepEqual(close, { ok: true, args: new Map() });
      const ftp = await curl([ftpUrl(c.port, '/tr/hello.bin'), '-o', join(c.tmpDir, 'ftp.out')]);
      assert.equal(ftp.code, 0, ftp.stderr);
      assert.equal(sha256(await readFile(join(c.tmpDir, 'ftp.out'))), sha256(bytes));
      const info = await t.ok('file_info', { domain: 'd', key: 'tr/hello.bin', devices: 1 });
      assert.equal(info.fid, open.fid);
      assert.equal(info.length, String(bytes.length));
      assert.equal(info.class, 'default');
      assert.equal(info.devcount, '1'); // acknowledged after one verified copy, as MogileFS does
      assert.equal(info.devids, open.devid_1);
      assert.equal(info.checksum, `SHA256:${sha256(bytes)}`);
      const paths = await t.ok('get_paths', { domain: 'd', key: 'tr/hello.bin' });
      assert.equal(paths.paths, '1');
      assert.match(paths.path1!, /mogsig=/);
      assert.equal(sha256(await getBytes(paths.path1!, c.tmpDir)), sha256(bytes));
      // The jobs bring it to mindevcount on distinct hosts.
      c.startJobs();
      await until('replication to mindevcount', async () => (await t.ok('file_info', { domain: 'd', key: 'tr/hello.bin' })).devcount === '2');
      const two = await t.ok('get_paths', { domain: 'd', key: 'tr/hello.bin', pathcount: 5 });
      assert.equal(two.paths, '2');
      for (const p of [two.path1!, two.path2!]) assert.equal(sha256(await getBytes(p, c.tmpDir)), sha256(bytes));
      const debug = await t.ok('file_debug', { domain: 'd', key: 'tr/hello.bin' });
      assert.equal(debug.fid_fid, open.fid);
      assert.equal(debug.devids!.split(',').length, 2);
    });

    test('an FTP upload is a key: list_keys lists it and get_paths serves it', async () => {
      const bytes = randomBytes(300_000);
      await writeFile(join(c.tmpDir, 'f.bin'), bytes);
      const up = await curl(['--ftp-create-dirs', '-T', join(c.tmpDir, 'f.bin'), ftpUrl(c.port, '/ftp dir/f.bin')]);
      assert.equal(up.code, 0, up.stderr);
      const keys = await t.ok('list_keys', { domain: 'd', prefix: 'ftp ' });
      assert.equal(keys.key_count, '1');
      assert.equal(keys.key_1, 'ftp dir/f.bin');
      assert.equal(keys.next_after, 'ftp dir/f.bin');
      const paths = await t.ok('get_paths', { domain: 'd', key: 'ftp dir/f.bin', noverify: 1 });
      assert.equal(sha256(await getBytes(paths.path1!, c.tmpDir)), sha256(bytes));
    });

    test('rename and delete through either door are seen by the other at once', async () => {
      const bytes = Buffer.from('rename me');
      assert.equal((await storeKey(t, c.tmpDir, 'd', 'mv/a.txt', bytes)).close.ok, true);
      await t.ok('rename', { domain: 'd', from_key: 'mv/a.txt', to_key: 'mv/sub/b.txt' });
      assert.equal(await t.err('get_paths', { domain: 'd', key: 'mv/a.txt' }), 'unknown_key');
      const got = await curl([ftpUrl(c.port, '/mv/sub/b.txt')]);
      assert.equal(got.stdout, 'rename me');
      assert.equal((await storeKey(t, c.tmpDir, 'd', 'mv/c.txt', Buffer.from('c'))).close.ok, true);
      assert.equal(await t.err('rename', { domain: 'd', from_key: 'mv/c.txt', to_key: 'mv/sub/b.txt' }), 'key_exists');
      await t.ok('delete', { domain: 'd', key: 'mv/sub/b.txt' });
      assert.notEqual((await curl(['-f', ftpUrl(c.port, '/mv/sub/b.txt')])).code, 0);
      const del = await curl([ftpUrl(c.port, '/'), '-Q', 'DELE /mv/c.txt']);
      assert.equal(del.code, 0, del.stderr);
      assert.equal(await t.err('file_info', { domain: 'd', key: 'mv/c.txt' }), 'unknown_key');
      assert.equal(await t.err('delete', { domain: 'd', key: 'mv/c.txt' }), 'unknown_key');
    });

    test('create_close checks the copy: wrong size or MD5 leaves nothing, and the reservation is gone', async () => {
      const bytes = Buffer.from('fifteen bytes!!');
      const bad = await storeKey(t, c.tmpDir, 'd', 'bad/size.txt', bytes, { size: '16' });
      assert.equal(bad.close.ok ? '' : bad.close.code, 'size_mismatch');
      assert.equal(await t.err('file_info', { domain: 'd', key: 'bad/size.txt' }), 'unknown_key');
      assert.equal(await t.err('file_debug', { fid: bad.open.fid! }), 'unknown_fid');
      const md5 = await storeKey(t, c.tmpDir, 'd', 'bad/sum.txt', bytes, { checksum: `MD5:${'0'.repeat(32)}`, checksumverify: '1' });
      assert.equal(md5.close.ok ? '' : md5.close.code, 'checksum_mismatch');
      const right = await storeKey(t, c.tmpDir, 'd', 'good/sum.txt', bytes, { checksum: `MD5:${createHash('md5').update(bytes).digest('hex')}`, checksumverify: '1' });
      assert.equal(right.close.ok, true);
      // A close for a fid already closed, or never opened.
      const again = await t.call('create_close', { domain: 'd', key: 'good/sum.txt', fid: right.open.fid!, devid: right.open.devid_1!, path: right.open.path_1!, size: bytes.length });
      assert.equal(again.ok ? '' : again.code, 'no_temp_file');
      // Two closes of one fid at once (a client retrying on another connection): one commits, the other is told no_temp_file.
      const twice = await t.ok('create_open', { domain: 'd', key: 'race/k', multi_dest: 1 });
      await writeFile(join(c.tmpDir, 'race'), bytes);
      assert.equal((await curl(['-f', '-T', join(c.tmpDir, 'race'), twice.path_1!])).code, 0);
      const other = await TrackerClient.connect(door.port);
      const closeArgs = { domain: 'd', key: 'race/k', fid: twice.fid!, devid: twice.devid_1!, path: twice.path_1!, size: bytes.length };
      const both = await Promise.all([t.call('create_close', closeArgs), other.call('create_close', closeArgs)]);
      other.close();
      assert.deepEqual(both.map((b) => (b.ok ? 'OK' : b.code)).sort(), ['OK', 'no_temp_file']);
      assert.equal((await t.ok('file_info', { domain: 'd', key: 'race/k' })).fid, twice.fid);
      // The URL a client got is a PUT for that path only: it does not read, and an unsigned one does nothing.
      assert.equal((await curl(['-s', '-o', '/dev/null', '-w', '%{http_code}', right.open.path_1!])).stdout, '401');
      assert.equal((await curl(['-s', '-o', '/dev/null', '-w', '%{http_code}', right.open.path_1!.split('?')[0]!])).stdout, '401');
    });

    test('keys that cannot be paths, and a key beside a key-prefix, are stored and listed', async () => {
      const odd = [Buffer.from('odd//key'), Buffer.from('pre'), Buffer.from('pre/fix'), Buffer.from([0x6b, 0xff, 0x00, 0x01])];
      for (const [i, k] of odd.entries()) assert.equal((await storeKey(t, c.tmpDir, 'd', k, Buffer.from(`v${i}`))).close.ok, true, k.toString('hex'));
      for (const [i, k] of odd.entries()) {
        const p = await t.ok('get_paths', { domain: 'd', key: k });
        assert.equal((await getBytes(p.path1!, c.tmpDir)).toString(), `v${i}`);
      }
      const all = await t.call('list_keys', { domain: 'd', limit: 1000 });
      assert.ok(all.ok);
      const listed = [...all.args].filter(([k]) => k.startsWith('key_') && k !== 'key_count').map(([, v]) => v.toString('hex'));
      for (const k of odd) assert.ok(listed.includes(k.toString('hex')), `${k.toString('hex')} listed`);
      // Paging: pages of 2 with after = next_after list every key once.
      const seen: string[] = [];
      let afterKey: Buffer | null = null;
      for (;;) {
        const page = await t.call('list_keys', { domain: 'd', limit: 2, ...(afterKey ? { after: afterKey } : {}) });
        if (!page.ok) {
          assert.equal(page.code, 'none_match');
          break;
        }
        for (let i = 1; i <= Number(page.args.get('key_count')!.toString()); i++) seen.push(page.args.get(`key_${i}`)!.toString('hex'));
        afterKey = page.args.get('next_after')!;
      }
      assert.deepEqual(seen, listed);
      // MogileFS's order: the keys' bytes sorted (hex strings of bytes sort the same way).
      assert.deepEqual(listed, [...listed].sort());
      const pre = await t.ok('list_keys', { domain: 'd', prefix: 'pre' });
      // 'pre' took its own path first, so 'pre/fix' lives escaped: both are listed, in key order.
      assert.deepEqual([pre.key_1, pre.key_2, pre.key_count], ['pre', 'pre/fix', '2']);
      // Paged one by one with a prefix: each key once, then none.
      assert.equal((await t.ok('list_keys', { domain: 'd', prefix: 'pre', limit: 1 })).key_1, 'pre');
      assert.equal((await t.ok('list_keys', { domain: 'd', prefix: 'pre', limit: 1, after: 'pre' })).key_1, 'pre/fix');
      assert.equal(await t.err('list_keys', { domain: 'd', prefix: 'pre', limit: 1, after: 'pre/fix' }), 'none_match');
      assert.equal(await t.err('list_keys', { domain: 'd', prefix: 'pre', after: 'zzz' }), 'after_mismatch');
      assert.equal(await t.err('list_keys', { domain: 'd', prefix: 'nothing-here' }), 'none_match');
      assert.equal(await t.err('get_paths', { domain: 'd', key: 'k'.repeat(2049) }), 'key_too_long');
    });

    test('admin commands: domains, classes, hosts, devices, states', async () => {
      await t.ok('create_domain', { domain: 'admin-d' });
      assert.equal(await t.err('create_domain', { domain: 'admin-d' }), 'domain_exists');
      await t.ok('create_class', { domain: 'admin-d', class: 'three', mindevcount: 3, hashtype: 'MD5' });
      assert.equal(await t.err('create_class', { domain: 'admin-d', class: 'three', mindevcount: 3 }), 'class_exists');
      await t.ok('update_class', { domain: 'admin-d', class: 'three', mindevcount: 1 });
      const doms = await t.ok('get_domains');
      const n = Object.entries(doms).find(([k, v]) => /^domain\d+$/.test(k) && v === 'admin-d')![0];
      const classes = Number(doms[`${n}classes`]);
      const three = Array.from({ length: classes }, (_, j) => j + 1).find((j) => doms[`${n}class${j}name`] === 'three')!;
      assert.equal(doms[`${n}class${three}mindevcount`], '1');
      assert.equal(doms[`${n}class${three}hashtype`], 'MD5');
      assert.equal(await t.err('delete_class', { domain: 'admin-d', class: 'default' }), 'nodel_default_class');
      await t.ok('delete_class', { domain: 'admin-d', class: 'three' });
      assert.equal(await t.err('delete_domain', { domain: 'd' }), 'domain_has_files');
      await t.ok('delete_domain', { domain: 'admin-d' });
      assert.equal(await t.err('delete_domain', { domain: 'admin-d' }), 'domain_not_found');

      await t.ok('create_host', { host: 'extra', ip: '127.0.0.9', port: 7500 });
      const hosts = await t.ok('get_hosts');
      const h = Object.entries(hosts).find(([k, v]) => k.endsWith('_hostname') && v === 'extra')![0].split('_')[0]!;
      assert.equal(hosts[`${h}_status`], 'down');
      await t.ok('update_host', { host: 'extra', status: 'alive', port: 7501 });
      assert.equal((await c.store.getHost('extra'))!.httpPort, 7501);
      await t.ok('create_device', { hostname: 'extra', devid: 77, state: 'alive' });
      assert.equal(await t.err('create_device', { hostname: 'extra', devid: 77 }), 'existing_devid');
      const devs = await t.ok('get_devices', { devid: 77 });
      assert.equal(devs.devices, '1');
      assert.equal(devs.dev1_status, 'alive');
      assert.equal(await t.err('set_state', { host: 'host1', device: 77, state: 'down' }), 'host_mismatch');
      await t.ok('set_state', { host: 'extra', device: 77, state: 'dead' });
      assert.equal(await t.err('set_state', { host: 'extra', device: 77, state: 'alive' }), 'state_too_high');
      await t.ok('set_weight', { host: 'extra', device: 77, weight: 10 });
      assert.equal((await c.store.getDevice(77))!.weight, 10);
      assert.equal(await t.err('delete_host', { host: 'extra' }), 'host_not_empty');
      await t.ok('create_host', { host: 'empty', ip: '127.0.0.10', port: 7500, status: 'alive' });
      await t.ok('delete_host', { host: 'empty' });
      assert.equal(await c.store.getHost('empty'), null);
      assert.equal(await t.err('delete_host', { host: 'empty' }), 'unknown_host');
      // updateclass moves a key to another class of its domain.
      assert.equal((await storeKey(t, c.tmpDir, 'd', 'cls/k', Buffer.from('k'))).close.ok, true);
      await t.ok('create_class', { domain: 'd', class: 'one', mindevcount: 1 });
      await t.ok('updateclass', { domain: 'd', key: 'cls/k', class: 'one' });
      assert.equal((await t.ok('file_info', { domain: 'd', key: 'cls/k' })).class, 'one');
      assert.equal(await t.err('updateclass', { domain: 'd', key: 'cls/k', class: 'nope' }), 'class_not_found');
      await t.ok('clear_cache');
      await t.ok('noop');
      // No MogileFS server settings here: an empty list, unset values, and a set is refused.
      assert.equal((await t.ok('server_settings')).key_count, '0');
      assert.deepEqual(await t.ok('server_setting', { key: 'memcache_servers' }), { key: 'memcache_servers', value: '' });
      assert.equal(await t.err('set_server_setting', { key: 'memcache_servers', value: 'x:1' }), 'not_writable');
      for (const cmd of ['list_fids', 'edit_file', 'replicate_now', 'fsck_start', 'rebalance_start']) assert.equal(await t.err(cmd), 'unknown_command', cmd);
      assert.equal(await t.err('no_such_command'), 'unknown_command');
      for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) assert.equal(await t.err(name), 'unknown_command', name);
      assert.equal(await t.err('get_paths', { domain: 'nope', key: 'k' }), 'unreg_domain');
      assert.equal(await t.err('create_open', { domain: 'd', class: 'nope', key: 'k' }), 'unreg_class');
    });

    test('URLs for hosts named in unsignedHosts go out without a signature (mogstored refuses a PUT with a query); admin commands can be off', async () => {
      const plain = await startTrackerDoor({ ...c.services, signUrls: true, host: '127.0.0.1', port: 0, log: createLogger({ level: 'silent' }), settings: { unsignedHosts: ['host1', 'host2', 'host3'], admin: false } });
      after(() => plain.close());
      const p = await TrackerClient.connect(plain.port);
      assert.equal(await p.err('create_domain', { domain: 'refused' }), 'admin_disabled');
      assert.equal(await c.store.getDomain('refused'), null);
      const open = await p.ok('create_open', { domain: 'd', key: 'plain/x', multi_dest: 1 });
      for (let i = 1; i <= Number(open.dev_count); i++) assert.doesNotMatch(open[`path_${i}`]!, /\?/);
      assert.equal((await storeKey(t, c.tmpDir, 'd', 'plain/y', Buffer.from('y'))).close.ok, true);
      const paths = await p.ok('get_paths', { domain: 'd', key: 'plain/y', noverify: 1 });
      assert.doesNotMatch(paths.path1!, /\?/);
      // A close without a key discards the upload (MogileFS's rule); the fid is then closed.
      await p.ok('create_close', { domain: 'd', key: '', fid: open.fid!, devid: open.devid_1!, path: open.path_1! });
      assert.equal(await p.err('create_close', { domain: 'd', key: 'plain/x', fid: open.fid!, devid: open.devid_1!, path: open.path_1! }), 'no_temp_file');
      p.close();
    });

    test('limits: a line too long, connections per address, idle clients', async () => {
      const limited = await startTrackerDoor({ ...c.services, signUrls: true, host: '127.0.0.1', port: 0, log: createLogger({ level: 'silent' }), limits: { maxPerAddress: 3, idleTimeoutMs: 500 } });
      after(() => limited.close());
      const long = await TrackerClient.connect(limited.port);
      const reply = await long.raw(`noop key=${'x'.repeat(20_000)}`);
      assert.match(reply, /^ERR line_too_long /);
      long.close();
      const many = await Promise.all(Array.from({ length: 3 }, () => TrackerClient.connect(limited.port)));
      for (const m of many) assert.match(await m.raw('noop'), /^OK/);
      const refused = await TrackerClient.connect(limited.port);
      assert.match(await refused.raw('noop'), /^ERR too_many_connections /);
      refused.close();
      for (const m of many) m.close();
      await sleep(300); // the server sees those connections end
      const idle = await TrackerClient.connect(limited.port);
      assert.match(await idle.raw('noop'), /^OK/);
      const closed = await Promise.race([idle.closed(), new Promise((r) => setTimeout(() => r('open'), 5000))]);
      assert.equal(closed, 'closed');
    });
  });
}
