// The volume boundary: a Volume works through the store roles, the Tracker and the client it is
// given (src/vfs/deps.ts), paths stay inside the user's home (home.ts), classes show where
// they come from (classes.ts), and the device predicates every reader and job asks mean one
// thing (src/tracker/device-state.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isMogError } from '../../src/errors.ts';
import { StorageClient } from '../../src/storage/client.ts';
import { countsTowardClass, isReadableDevice } from '../../src/tracker/device-state.ts';
import { openStore } from '../../src/tracker/open.ts';
import { Tracker } from '../../src/tracker/tracker.ts';
import type { DeviceStatus, DeviceView, HostStatus, Store, User } from '../../src/tracker/types.ts';
import { Volume } from '../../src/vfs/volume.ts';
import { createSqliteTestDb, type TestDb } from '../harness/db.ts';

function device(status: DeviceStatus, hostStatus: HostStatus): DeviceView {
  return {
    id: 1,
    hostId: 1,
    status,
    weight: 100,
    mbTotal: null,
    mbUsed: null,
    observed: 'writeable',
    observedAt: null,
    observedSince: null,
    hostName: 'h1',
    hostAddress: '127.0.0.1',
    hostPort: 7500,
    hostStatus,
  };
}

describe('device-state', () => {
  test('a device is readable while alive, readonly or draining on a live host', () => {
    const readable = ['alive', 'readonly', 'drain'];
    for (const status of ['alive', 'readonly', 'drain', 'down', 'dead'] as DeviceStatus[]) {
      assert.equal(isReadableDevice(device(status, 'alive')), readable.includes(status), status);
      assert.equal(isReadableDevice(device(status, 'down')), false, `${status} on a down host`);
    }
  });

  test('a copy counts toward its class on an alive or readonly device of a live host, not a draining one', () => {
    const counting = ['alive', 'readonly'];
    for (const status of ['alive', 'readonly', 'drain', 'down', 'dead'] as DeviceStatus[]) {
      assert.equal(countsTowardClass(device(status, 'alive')), counting.includes(status), status);
      assert.equal(countsTowardClass(device(status, 'dead')), false, `${status} on a dead host`);
    }
  });
});

describe('Volume', () => {
  let db: TestDb;
  let store: Store;
  let tracker: Tracker;
  let user: User;
  const client = new StorageClient();
  const open = () => Volume.open({ store, tracker, client }, user);

  before(async () => {
    db = await createSqliteTestDb();
    store = await openStore(db.url);
    await store.migrate();
    const domain = await store.createDomain('vfs');
    user = await store.createUser({ name: 'ann', passwordHash: 'x', domainId: domain.id, homeDir: '/home/ann', readOnly: false, quotaBytes: null });
    tracker = new Tracker(store);
  });
  after(async () => {
    client.close();
    await store.close();
    await db.drop();
  });

  test('the home is made on first open, once, even by two logins at the same moment', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    assert.equal(a.quotaHolder.homeId, b.quotaHolder.homeId);
    const home = await store.resolvePath(user.domainId, ['home', 'ann']);
    assert.equal(home?.id, a.quotaHolder.homeId);
    assert.equal(home?.kind, 'dir');
  });

  test('paths stay inside the home: climbing above it ends at the home', async () => {
    const vol = await open();
    assert.equal(await vol.mkdir('/../../docs'), '/docs');
    assert.equal(vol.domainPath('../../docs'), '/home/ann/docs');
    assert.equal((await vol.stat('/docs')).kind, 'dir');
    assert.equal(await vol.chdir('docs'), '/docs');
    assert.equal(vol.pwd(), '/docs');
    assert.deepEqual(await names(vol.list('/')), ['docs']);
    await assert.rejects(vol.rmdir('/..'), (e) => isMogError(e, ErrorCodes.PERMISSION_DENIED));
    await assert.rejects(vol.stat('/nothing/here'), (e) => isMogError(e, ErrorCodes.NOT_FOUND));
    await assert.rejects(vol.openUpload('/nothing/f.txt'), (e) => isMogError(e, ErrorCodes.NOT_FOUND));
  });

  test('classOf says where a directory\'s class comes from: the default, set on it, or inherited', async () => {
    const vol = await open();
    const archive = await store.createClass(user.domainId, 'archive', { mindevcount: 1 });
    await vol.mkdir('/arch');
    await vol.mkdir('/arch/2026');
    await store.setDirClass((await vol.stat('/arch')).id, archive.id);
    assert.deepEqual(await vol.classOf('/'), { name: 'default', source: 'default' });
    assert.deepEqual(await vol.classOf('/arch'), { name: 'archive', source: 'dir' });
    assert.deepEqual(await vol.classOf('/arch/2026'), { name: 'archive', source: 'inherited' });
    const listed = [];
    for await (const s of vol.list('/arch')) listed.push(s);
    const classes = await vol.classesIn('/arch', listed);
    assert.equal(classes.get(listed[0]!.id), 'archive');
    await assert.rejects(vol.classOf('/arch/none'), (e) => isMogError(e, ErrorCodes.NOT_FOUND));
  });

  test('the Tracker keeps its store to itself: callers are given the roles they use', () => {
    // @ts-expect-error -- the store is private: Volume and the WebDAV handlers take their store roles explicitly
    assert.ok(tracker.store);
  });
});

async function names(it: AsyncIterable<{ name: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const s of it) out.push(s.name);
  return out;
}
