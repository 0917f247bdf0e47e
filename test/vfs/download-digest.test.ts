// Hash once on reads (issue 19): a streamed read (a file over the verify-before-send limit) from
// our node is checked by the digest the node sends as a Content-Digest trailer, not by a hash in
// the front-end; a node without the trailer (nginx) is hashed here. Either way a damaged copy
// never arrives whole and is set aside, and a read that fails over mid-stream checks the bytes
// it already sent against the next copy. Node 1 is a real `mogftp storage` behind a proxy that
// can cut its GET answers after a number of bytes.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { before, describe, test } from 'node:test';
import { ErrorCodes, isMogError } from '../../src/errors.ts';
import { StorageClient } from '../../src/storage/client.ts';
import type { GetResult } from '../../src/storage/client-get.ts';
import type { User } from '../../src/tracker/types.ts';
import { openDownload } from '../../src/vfs/download.ts';
import { Volume } from '../../src/vfs/volume.ts';
import { useCluster, type NodeSpec } from '../harness/cluster.ts';
import { plainNode, proxiedNode } from '../harness/nodes.ts';

const MiB = 1024 * 1024;
const SIZE = 10 * MiB + 7; // over the 8 MiB verify-before-send limit: streamed

/** A real node behind a proxy that cuts a GET's body after `mode.cutAt` bytes (null: passes it whole, trailer included). */
function cuttingNode(mode: { cutAt: number | null }): Promise<NodeSpec> {
  return proxiedNode((req, answer, res) => {
    const headers = { ...answer.headers };
    delete headers['transfer-encoding'];
    delete headers.connection;
    res.writeHead(answer.statusCode!, headers);
    let sent = 0;
    const cutAt = req.method === 'GET' ? mode.cutAt : null;
    answer.on('data', (c: Buffer) => {
      if (cutAt !== null && sent + c.length >= cutAt) {
        res.write(c.subarray(0, cutAt - sent), () => res.destroy());
        answer.destroy();
        sent = cutAt;
        return;
      }
      sent += c.length;
      res.write(c);
    });
    answer.on('end', () => {
      res.addTrailers(answer.trailers as Record<string, string>);
      res.end();
    });
  });
}

/** A storage client that records, per GET, whether the node promised its digest. */
class SpyClient extends StorageClient {
  readonly vouched: boolean[] = [];
  override async get(...args: Parameters<StorageClient['get']>): Promise<GetResult> {
    const got = await super.get(...args);
    this.vouched.push(got.digest !== null);
    return got;
  }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Everything a read delivers before it ends or fails. */
async function readAll(stream: Readable): Promise<{ bytes: Buffer; error: unknown }> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
    return { bytes: Buffer.concat(chunks), error: null };
  } catch (error) {
    return { bytes: Buffer.concat(chunks), error };
  }
}

function readCheck(nginx: boolean) {
  const mode = { cutAt: null as number | null };
  const c = useCluster({
    db: 'sqlite',
    nodes: 2,
    mindevcount: 2,
    auth: false,
    ...(nginx ? { nginx: [0, 1] } : { makeNode: (i: number) => (i === 0 ? cuttingNode(mode) : plainNode()) }),
  });
  let user: User;
  before(async () => {
    user = (await c.store.getUser('demo'))!;
  });

  /** Stores SIZE random bytes at `path`; returns them, the fid and its devices (the cut node's first). */
  async function stored(path: string) {
    const body = randomBytes(SIZE);
    const vol = await Volume.open({ store: c.store, tracker: c.tracker, client: c.client }, user);
    await pipeline(Readable.from([body]), await vol.openUpload(path));
    const fid = (await c.fidOf(path))!;
    c.tracker.invalidateDevices();
    const replicas = await c.tracker.replicasFor(fid);
    const first = c.nodes[0]!.devid;
    replicas.sort((a, b) => (a.devid === first ? -1 : b.devid === first ? 1 : 0));
    return { body, fid, replicas };
  }

  async function read(fid: number, replicas: Awaited<ReturnType<typeof stored>>['replicas']) {
    const spy = new SpyClient();
    try {
      const file = (await c.store.getFile(fid))!;
      return { ...(await readAll(openDownload(c.tracker, spy, file, 0, { replicas: Promise.resolve(replicas) }))), vouched: spy.vouched };
    } finally {
      spy.close();
    }
  }

  test(`a good file: the right bytes, checked by ${nginx ? 'a hash in the front-end' : "the node's digest"}`, async () => {
    const { body, fid, replicas } = await stored('/good.bin');
    const got = await read(fid, replicas);
    assert.equal(got.error, null);
    assert.equal(sha(got.bytes), sha(body));
    assert.deepEqual(got.vouched, [!nginx]);
  });

  test('a damaged copy never arrives whole: the read fails before its last chunk and the copy is set aside', async () => {
    const { fid, replicas } = await stored('/bad.bin');
    await c.corrupt(replicas[0]!.devid, fid);
    const got = await read(fid, replicas);
    assert.ok(isMogError(got.error, ErrorCodes.CHECKSUM_MISMATCH), String(got.error));
    assert.ok(got.bytes.length < SIZE, `${got.bytes.length} bytes delivered of ${SIZE}`);
    assert.deepEqual(got.vouched, [!nginx]);
    assert.deepEqual((await c.store.badReplicasOf(fid)).map((b) => b.devid), [replicas[0]!.devid]);
  });

  if (nginx) return;

  test('a copy that breaks off mid-stream: the read goes on from the next copy (re-read from 0, checked), right bytes', async () => {
    const { body, fid, replicas } = await stored('/cut.bin');
    mode.cutAt = 3 * MiB + 1;
    try {
      const got = await read(fid, replicas);
      assert.equal(got.error, null);
      assert.equal(sha(got.bytes), sha(body));
      assert.deepEqual(got.vouched, [true, true]);
    } finally {
      mode.cutAt = null;
    }
  });

  test('a damaged copy that breaks off after its damage: the bytes already sent differ from the next copy, and the read fails', async () => {
    const { fid, replicas } = await stored('/bad-cut.bin');
    await c.corrupt(replicas[0]!.devid, fid); // flips the middle byte
    mode.cutAt = SIZE - 2 * MiB;
    try {
      const got = await read(fid, replicas);
      assert.ok(isMogError(got.error, ErrorCodes.CHECKSUM_MISMATCH), String(got.error));
      assert.ok(got.bytes.length < SIZE, `${got.bytes.length} bytes delivered of ${SIZE}`);
    } finally {
      mode.cutAt = null;
    }
  });
}

describe("streamed reads checked by our node's Content-Digest trailer", () => readCheck(false));
describe('streamed reads from nginx (no trailer): hashed in the front-end', () => readCheck(true));
