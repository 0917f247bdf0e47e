// Hash once (issue 19): when every target node is known to report the digest of what it received
// and the class needs two copies, the front-end hashes nothing and records the digest the copies
// agree on. A copy reporting another digest still fails the upload, and so does one that stops
// reporting any (nothing else checked those bytes); the next upload is hashed here again.
// Node 2 is a real `mogftp storage` behind a proxy that can rewrite the checksum of its PUT answers.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { before, describe, test } from 'node:test';
import { ErrorCodes, isMogError } from '../../src/errors.ts';
import type { User } from '../../src/tracker/types.ts';
import { Volume } from '../../src/vfs/volume.ts';
import { useCluster, type NodeSpec } from '../harness/cluster.ts';
import { plainNode, proxiedNode } from '../harness/nodes.ts';

type Answer = 'honest' | 'wrong digest' | 'no digest';

/** A real node behind a proxy whose PUT answers say what `mode` asks. */
function digestRewritingNode(mode: { answer: Answer }): Promise<NodeSpec> {
  return proxiedNode((req, answer, res) => {
    const chunks: Buffer[] = [];
    answer.on('data', (c: Buffer) => chunks.push(c));
    answer.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.method === 'PUT' && answer.statusCode === 201 && mode.answer !== 'honest') {
        const json = JSON.parse(body.toString()) as { checksum?: string };
        if (mode.answer === 'no digest') delete json.checksum;
        else json.checksum = createHash('sha256').update('not these bytes').digest('hex');
        body = Buffer.from(JSON.stringify(json));
      }
      res.writeHead(answer.statusCode!, { ...answer.headers, 'content-length': body.length });
      res.end(body);
    });
  });
}

describe('hash once: the nodes\' digests verify an upload', () => {
  const mode = { answer: 'honest' as Answer };
  const c = useCluster({ db: 'sqlite', nodes: 2, mindevcount: 2, auth: false, makeNode: (i) => (i === 1 ? digestRewritingNode(mode) : plainNode()) });
  let user: User;
  before(async () => {
    user = (await c.store.getUser('demo'))!;
  });

  /** Stores `body` at `path`; resolves with who hashed it, rejects as the upload does. */
  async function put(path: string, body: Buffer): Promise<'front-end' | 'nodes'> {
    const vol = await Volume.open({ store: c.store, tracker: c.tracker, client: c.client }, user);
    const up = await vol.openUpload(path);
    const who = up.hashedBy;
    await pipeline(Readable.from([body.subarray(0, 1000), body.subarray(1000)]), up);
    return who;
  }

  const recorded = async (path: string) => {
    const fid = await c.fidOf(path);
    return fid === null ? null : (await c.store.getFile(fid))!.checksum;
  };
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  test('the first upload is hashed here; once both nodes have reported, the nodes\' agreed digest is recorded', async () => {
    const a = Buffer.alloc(300_000, 'a');
    assert.equal(await put('/a.bin', a), 'front-end', 'nothing is known of the nodes yet');
    assert.equal(await recorded('/a.bin'), sha(a));
    const b = Buffer.alloc(200_000, 'b');
    assert.equal(await put('/b.bin', b), 'nodes');
    assert.equal(await recorded('/b.bin'), sha(b), 'the digest of the bytes sent');
  });

  test('a node reporting a wrong digest fails the upload: nothing is stored', async () => {
    mode.answer = 'wrong digest';
    try {
      await assert.rejects(put('/wrong.bin', Buffer.alloc(100_000, 'w')), (e) => isMogError(e, ErrorCodes.QUORUM_LOST) && /disagree/.test((e as Error).message));
      assert.equal(await c.fidOf('/wrong.bin'), null);
    } finally {
      mode.answer = 'honest';
    }
  });

  test('a node that stops reporting its digest fails that upload; the next one is hashed here and stored', async () => {
    mode.answer = 'no digest';
    try {
      await assert.rejects(put('/none.bin', Buffer.alloc(100_000, 'n')), (e) => isMogError(e, ErrorCodes.QUORUM_LOST) && /cannot be verified/.test((e as Error).message));
      assert.equal(await c.fidOf('/none.bin'), null);
      const d = Buffer.alloc(100_000, 'd');
      assert.equal(await put('/d.bin', d), 'front-end', 'a node that reports no digest is no longer trusted to');
      assert.equal(await recorded('/d.bin'), sha(d));
    } finally {
      mode.answer = 'honest';
    }
  });
});
