// The node's minor GC touches V8's flags (node-gc.ts): that must happen when a node starts, not
// in every process that merely imports the node's code (the FTP and DAV daemons, the CLI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';

test('importing the storage node sets no V8 flag; starting one obtains the minor GC', async (t) => {
  const setFlags = t.mock.method(v8, 'setFlagsFromString');
  const { startStorageNode } = await import('../../src/storage/node.ts');
  const { minorGcEnabled } = await import('../../src/storage/node-gc.ts');
  assert.equal(setFlags.mock.callCount(), 0);
  assert.equal(minorGcEnabled(), false);

  const root = mkdtempSync(join(tmpdir(), 'mogftp-gc-'));
  mkdirSync(join(root, 'dev1'));
  const node = await startStorageNode({ root, insecureNoAuth: true });
  try {
    assert.equal(minorGcEnabled(), true);
    assert.deepEqual(setFlags.mock.calls.map((c) => c.arguments[0]), ['--expose-gc', '--no-expose-gc']);
    // A second node in the same process reuses the collector it already has.
    const second = await startStorageNode({ root, insecureNoAuth: true });
    await second.close();
    assert.equal(setFlags.mock.callCount(), 2);
  } finally {
    await node.close();
    rmSync(root, { recursive: true, force: true });
  }
});
