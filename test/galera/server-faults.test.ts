// Database faults a live server does not make on request, staged with a TCP proxy (lib/proxy.ts)
// in front of the shared MariaDB (no Galera needed: this file runs in `npm test`):
// - a server that stops answering without closing its connections (a SIGSTOPped or hung node):
//   a statement fails after the URL's queryTimeout instead of waiting forever, and a store with
//   a second address finishes the work there; the Galera version is in fault.galera.ts;
// - a COMMIT whose answer is lost: after the server committed (the upload is in, whole, and the
//   store says so) and before it got it (nothing is in; the reservation is released by abort).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ErrorCodes, isMogError } from '../../src/errors.ts';
import { openStore } from '../../src/tracker/open.ts';
import type { Store } from '../../src/tracker/types.ts';
import { ROOT_ID } from '../../src/tracker/types.ts';
import { createMysqlTestDb, MYSQL_TEST_HOST, MYSQL_TEST_PORT, type TestDb } from '../harness/db.ts';
import { catalogFixtures } from '../tracker/suite-store.ts';
import { MysqlProxy } from './lib/proxy.ts';

const SHA = 'c'.repeat(64);
const QUERY_TIMEOUT_S = 2;
const dbUnavailable = (err: unknown) => isMogError(err, ErrorCodes.DB_UNAVAILABLE);

describe('database server faults behind a proxy', () => {
  let db: TestDb;
  let name: string;
  let proxy: MysqlProxy;
  const stores: Store[] = [];
  const open = async (addresses: string) => {
    const s = await openStore(`mysql://root@${addresses}/${name}?queryTimeout=${QUERY_TIMEOUT_S}`);
    stores.push(s);
    return s;
  };
  const direct = `${MYSQL_TEST_HOST}:${MYSQL_TEST_PORT}`;
  const viaProxy = () => `127.0.0.1:${proxy.port}`;

  before(async () => {
    db = await createMysqlTestDb({ prefix: 'mogftp_faults' });
    name = new URL(db.url).pathname.slice(1);
    proxy = await MysqlProxy.start({ host: MYSQL_TEST_HOST, port: MYSQL_TEST_PORT });
    const s = await open(direct);
    await s.migrate();
  });
  after(async () => {
    proxy?.thaw();
    for (const s of stores) await s.close().catch(() => undefined);
    await proxy?.close();
    await db?.drop();
  });

  test('a server that stops answering: the statement fails after queryTimeout (one address) or is done on the next address', { timeout: 120_000 }, async () => {
    const alone = await open(viaProxy());
    const two = await open(`${viaProxy()},${direct}`);
    // Both have a pooled connection through the proxy before it freezes.
    await alone.createDomain('before-freeze');
    assert.equal((await two.getDomain('before-freeze'))?.name, 'before-freeze');
    proxy.frozen = true;
    try {
      let t0 = Date.now();
      await assert.rejects(alone.getDomain('before-freeze'), dbUnavailable);
      const readFailedMs = Date.now() - t0;
      t0 = Date.now();
      const d = await two.createDomain('during-freeze');
      const movedMs = Date.now() - t0;
      assert.equal((await two.getDomain('during-freeze'))?.id, d.id);
      process.stdout.write(`# hung server, queryTimeout ${QUERY_TIMEOUT_S} s: one address failed cleanly after ${readFailedMs} ms; two addresses: write done on the second after ${movedMs} ms\n`);
    } finally {
      proxy.thaw();
    }
  });

  test('a COMMIT answer lost after the server committed: commitUpload reports success and the file is whole, with every copy', async () => {
    const s = await open(viaProxy());
    const fx = catalogFixtures(s);
    const { domainId, classId } = await fx.freshDomain({ mindevcount: 2 });
    const devids = [await fx.newDevice(), await fx.newDevice()];
    const r = await s.reserveUpload({ domainId, classId, devids, now: Date.now() });
    proxy.loseNextCommit('after');
    const res = await s.commitUpload({ fid: r.fid, parentId: ROOT_ID, name: 'landed.bin', length: 3, checksum: SHA, devids, mtime: Date.now() });
    assert.equal(proxy.cut.after, 1, 'the COMMIT answer was really lost');
    assert.equal(res.entry.fid, r.fid);
    const seen = await open(direct);
    assert.equal((await seen.resolvePath(domainId, ['landed.bin']))?.fid, r.fid);
    assert.deepEqual((await seen.replicasOf(r.fid)).sort((a, b) => a - b), [...devids].sort((a, b) => a - b));
    assert.equal((await seen.staleReservations(Date.now() + 1, 1000)).some((x) => x.fid === r.fid), false, 'no reservation left');
  });

  test('a connection lost before the COMMIT reached the server: DB_UNAVAILABLE, nothing visible, the abort releases the reservation', async () => {
    const s = await open(viaProxy());
    const fx = catalogFixtures(s);
    const { domainId, classId } = await fx.freshDomain({ mindevcount: 2 });
    const devids = [await fx.newDevice(), await fx.newDevice()];
    const r = await s.reserveUpload({ domainId, classId, devids, now: Date.now() });
    proxy.loseNextCommit('before');
    await assert.rejects(s.commitUpload({ fid: r.fid, parentId: ROOT_ID, name: 'lost.bin', length: 3, checksum: SHA, devids, mtime: Date.now() }), dbUnavailable);
    assert.equal(proxy.cut.before, 1);
    const seen = await open(direct);
    assert.equal(await seen.resolvePath(domainId, ['lost.bin']), null, 'not visible');
    assert.equal(await seen.getFile(r.fid), null);
    assert.equal((await seen.staleReservations(Date.now() + 1, 1000)).some((x) => x.fid === r.fid), true, 'still reserved: the upload is not in');
    // What the front-end then does (vfs/upload.ts, abort-retry.ts): the reservation goes, the copies are queued for deletion.
    await s.abortUpload(r.fid);
    assert.equal((await seen.staleReservations(Date.now() + 1, 1000)).some((x) => x.fid === r.fid), false);
    assert.ok((await seen.queueDepth('delete')) >= 1, 'the copies are queued for deletion');
  });
});
