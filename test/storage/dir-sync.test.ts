// Group directory fsync on the storage node (src/storage/dir-sync.ts): PUTs finishing in one
// directory at once share an fsync, but a PUT is answered only after an fsync that STARTED after
// it asked (its entry existed by then); one already in flight does not count for it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DirSyncs } from '../../src/storage/dir-sync.ts';

/** A syncDir whose fsyncs end when the test says. */
function manualSyncs() {
  const started: Array<{ dir: string; resolve: () => void; reject: (e: Error) => void }> = [];
  const syncDir = (dir: string) => new Promise<void>((resolve, reject) => started.push({ dir, resolve, reject }));
  return { started, syncs: new DirSyncs(syncDir) };
}

/** Lets settled promises run their callbacks. */
const settle = () => new Promise((r) => setImmediate(r));

function track(p: Promise<void>): { state: 'pending' | 'done' | 'failed' } {
  const t = { state: 'pending' as 'pending' | 'done' | 'failed' };
  p.then(() => (t.state = 'done'), () => (t.state = 'failed'));
  return t;
}

describe('group directory fsync', () => {
  test('callers arriving while an fsync is in flight wait for ONE later fsync, which starts after they asked', async () => {
    const { started, syncs } = manualSyncs();
    const first = track(syncs.sync('/d'));
    await settle();
    assert.equal(started.length, 1);
    const second = track(syncs.sync('/d'));
    const third = track(syncs.sync('/d'));
    await settle();
    assert.equal(started.length, 1, 'no second fsync while the first runs');
    started[0]!.resolve();
    await settle();
    assert.equal(first.state, 'done');
    assert.deepEqual([second.state, third.state], ['pending', 'pending'], 'the fsync that began before them is no proof for them');
    assert.equal(started.length, 2, 'one fsync for both, started once the first ended');
    started[1]!.resolve();
    await settle();
    assert.deepEqual([second.state, third.state], ['done', 'done']);
    assert.equal(syncs.inFlight, 0);
    // Nothing in flight: the next caller starts its own at once.
    const fourth = track(syncs.sync('/d'));
    await settle();
    assert.equal(started.length, 3);
    started[2]!.resolve();
    await settle();
    assert.equal(fourth.state, 'done');
  });

  test('different directories do not wait for each other', async () => {
    const { started, syncs } = manualSyncs();
    const a = track(syncs.sync('/a'));
    const b = track(syncs.sync('/b'));
    await settle();
    assert.deepEqual(started.map((s) => s.dir), ['/a', '/b']);
    started[1]!.resolve();
    await settle();
    assert.deepEqual([a.state, b.state], ['pending', 'done']);
    started[0]!.resolve();
    await settle();
    assert.equal(a.state, 'done');
  });

  test('a failed fsync fails every caller it served; the waiting ones still get their own', async () => {
    const { started, syncs } = manualSyncs();
    const first = track(syncs.sync('/d'));
    const second = track(syncs.sync('/d'));
    await settle();
    started[0]!.reject(new Error('EIO'));
    await settle();
    assert.equal(first.state, 'failed');
    assert.equal(second.state, 'pending');
    assert.equal(started.length, 2);
    const third = track(syncs.sync('/d'));
    started[1]!.reject(new Error('EIO'));
    await settle();
    assert.equal(second.state, 'failed');
    assert.equal(third.state, 'pending', 'asked while the second ran: waits for a third');
    assert.equal(started.length, 3);
    started[2]!.resolve();
    await settle();
    assert.equal(third.state, 'done');
    assert.equal(syncs.inFlight, 0);
  });
});
