// The WebDAV locks an FTP/SFTP upload honours are read once for a small upload, just before its
// commit (src/vfs/volume.ts openUpload): one database round trip per small STOR instead of two.
// A long upload reads them once more when its first MiB has arrived, so a client writing a big
// file to a locked path is stopped early. Either way a lock refuses the upload and nothing is stored.
import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { before, describe, test } from 'node:test';
import { ErrorCodes, isMogError } from '../../src/errors.ts';
import type { Store, User } from '../../src/tracker/types.ts';
import { Volume } from '../../src/vfs/volume.ts';
import { useCluster } from '../harness/cluster.ts';

describe('the WebDAV-lock reads of an upload', () => {
  const c = useCluster({ db: 'sqlite', nodes: 2, mindevcount: 2, auth: false });
  let user: User;
  let lockReads = 0;
  before(async () => {
    user = (await c.store.getUser('demo'))!;
  });

  /** A volume whose store counts davLocksAt calls. */
  async function volume(): Promise<Volume> {
    const store = new Proxy(c.store, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop === 'davLocksAt') lockReads++;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as Store;
    return Volume.open({ store, tracker: c.tracker, client: c.client }, user);
  }

  async function put(vol: Volume, path: string, body: Buffer): Promise<number> {
    lockReads = 0;
    const up = await vol.openUpload(path);
    await pipeline(Readable.from([body.subarray(0, 1000), body.subarray(1000)]), up);
    return lockReads;
  }

  test('a small upload reads the locks once, a long one twice; both are stored', async () => {
    const vol = await volume();
    assert.equal(await put(vol, '/small.bin', Buffer.alloc(4096, 1)), 1);
    assert.equal(await put(vol, '/long.bin', Buffer.alloc(3 * 1024 * 1024, 2)), 2);
    assert.equal((await vol.stat('/small.bin')).size, 4096);
    assert.equal((await vol.stat('/long.bin')).size, 3 * 1024 * 1024);
  });

  test('a lock present from the start refuses a small upload and a long one, and nothing is stored', async () => {
    const vol = await volume();
    await vol.mkdir('/locked');
    const lock = await c.store.createDavLock(
      { token: 'opaquelocktoken:upload-locks-test', domainId: user.domainId, path: '/locked', depth: 'infinity', scope: 'exclusive', owner: null, principal: 'demo', timeoutMs: 600_000 },
      Date.now(),
    );
    try {
      for (const size of [4096, 3 * 1024 * 1024]) {
        await assert.rejects(put(vol, `/locked/f${size}`, Buffer.alloc(size, 3)), (err) => isMogError(err, ErrorCodes.LOCKED));
        await assert.rejects(vol.stat(`/locked/f${size}`), (err) => isMogError(err, ErrorCodes.NOT_FOUND));
      }
    } finally {
      await c.store.removeDavLock(lock.token);
    }
  });
});
