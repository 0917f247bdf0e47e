// /readyz's checks on a real SQLite store: the schema version, writable hosts against the write
// quorum of the classes in use (a class no upload would pick only warns), the gauges that report
// it, and a database that stops answering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { clusterReadiness } from '../../src/metrics/health.ts';
import { createRegistry, registerClusterMetrics } from '../../src/metrics/index.ts';
import { ROOT_ID } from '../../src/tracker/types.ts';
import { LATEST_SCHEMA_VERSION } from '../../src/tracker/store/migrations.ts';
import { openStore } from '../../src/tracker/open.ts';
import { createSqliteTestDb } from '../harness/db.ts';

test('clusterReadiness: schema, writable hosts vs the write quorum of classes in use, database gone', async () => {
  const db = await createSqliteTestDb();
  const store = await openStore(db.url);
  try {
    await store.migrate();
    const ready = clusterReadiness(store);
    const domain = await store.createDomain('default'); // class default: mindevcount 2, quorum 2

    let r = await ready();
    assert.equal(r.ready, false);
    assert.equal(r.checks.database!.ok, true);
    assert.equal(r.checks.devices!.detail, '0 host(s) with a writable device: no upload can be placed');

    for (const name of ['a', 'b']) {
      const host = await store.createHost({ name, address: '127.0.0.1', httpPort: 1 });
      await store.createDevice({ hostId: host.id });
      await store.createDevice({ hostId: host.id }); // a second device on a host does not count twice
    }
    r = await ready();
    assert.equal(r.ready, true, JSON.stringify(r));
    assert.match(r.checks.devices!.detail, /^2 host\(s\)/);

    assert.equal(r.checks.devices!.detail, '2 host(s) with a writable device, enough for every class in use');

    // A class that needs three writes but that no file uses (and no upload picks): still ready,
    // with a warning in the detail and in the gauge.
    const triple = await store.createClass(domain.id, 'triple', { mindevcount: 3, writeQuorum: 3, checksum: 'none' });
    const registry = createRegistry('test');
    const metrics = registerClusterMetrics(registry, store, { scanIntervalMs: 3600_000 });
    const gauge = async (name: string) =>
      Object.fromEntries((await registry.getSingleMetric(name)!.get()).values.map((v) => [JSON.stringify(v.labels), v.value]));
    try {
      r = await ready();
      assert.equal(r.ready, true, JSON.stringify(r));
      assert.equal(
        r.checks.devices!.detail,
        '2 host(s) with a writable device, enough for every class in use; warning: too few for class triple of domain default (write quorum 3), which no file uses yet',
      );
      assert.deepEqual(await gauge('mogftp_classes_below_write_quorum'), { '{"in_use":"true"}': 0, '{"in_use":"false"}': 1 });
      assert.deepEqual(await gauge('mogftp_writable_hosts'), { '{}': 2 });

      // Once a file is in it, uploads replacing that file need three hosts: not ready.
      const res = await store.reserveUpload({ domainId: domain.id, classId: triple.id, devids: [1, 3], now: Date.now() });
      const done = await store.commitUpload({ fid: res.fid, parentId: ROOT_ID, name: 'f', length: 0, checksum: null, devids: [1, 3], mtime: Date.now() });
      r = await ready();
      assert.equal(r.ready, false);
      assert.equal(r.checks.devices!.detail, '2 host(s) with a writable device: too few for class triple of domain default (write quorum 3), so uploads there fail');
      assert.deepEqual(await gauge('mogftp_classes_below_write_quorum'), { '{"in_use":"true"}': 1, '{"in_use":"false"}': 0 });
      await store.removeFile(done.entry.id);
      assert.equal((await ready()).ready, true);
    } finally {
      await metrics.stop();
    }
    await store.removeClass(triple.id);

    // The default class is in use even with no file: every new upload goes there.
    await store.updateClass((await store.getClass(domain.id, 'default'))!.id, { mindevcount: 3, writeQuorum: 3 });
    r = await ready();
    assert.equal(r.ready, false);
    assert.match(r.checks.devices!.detail, /too few for class default of domain default \(write quorum 3\)/);
    await store.updateClass((await store.getClass(domain.id, 'default'))!.id, { writeQuorum: 2, mindevcount: 2 });

    // A device the monitor found unreachable takes no files: its host does not count.
    await store.observeDevice(1, { observed: 'unreachable', at: Date.now() });
    await store.observeDevice(2, { observed: 'unreachable', at: Date.now() });
    assert.equal((await ready()).ready, false);
    await store.observeDevice(1, { observed: 'writeable', at: Date.now() });
    assert.equal((await ready()).ready, true);

    // Code newer than the schema: not ready until `admin init` has run.
    // (The version row is taken away and put back; the tables stay as they are.)
    const raw = new Database(db.url.slice('sqlite:'.length));
    const row = raw.prepare('SELECT * FROM schema_version WHERE version = ?').get(LATEST_SCHEMA_VERSION) as { version: number; applied_at: number };
    raw.prepare('DELETE FROM schema_version WHERE version = ?').run(LATEST_SCHEMA_VERSION);
    r = await ready();
    assert.equal(r.ready, false);
    assert.equal(r.checks.database!.detail, `schema version ${LATEST_SCHEMA_VERSION - 1}, this mogftp needs ${LATEST_SCHEMA_VERSION}: run 'mogftp admin init'`);
    raw.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)').run(row.version, row.applied_at);
    raw.close();
    assert.equal((await ready()).ready, true);
  } finally {
    await store.close();
  }
  // A closed store stands in for a database that went away: not ready, and the reason is given.
  const r = await clusterReadiness(store)();
  assert.equal(r.ready, false);
  assert.equal(r.checks.database!.ok, false);
  assert.ok(r.checks.database!.detail.length > 0);
  await db.drop();
});
