// create_open and create_close: clients write to the storage nodes directly, as with MogileFS.
// create_open reserves a fid on devices the tracker's placement picks (the same reservation an
// FTP upload makes) and hands out one PUT URL per device, signed for that PUT only. The client
// PUTs to one of them; create_close reads that copy back from the node (its length, and its
// digest in the class's algorithm, and in MD5 too when the client sent one to verify), then
// commits the key and queues replication up to the class's mindevcount. Anything that fails
// before the commit aborts the reservation, which queues the reserved devices for cleanup.
import { createHash, type Hash } from 'node:crypto';
import { ErrorCodes, describeError, isMogError, mogError } from '../errors.ts';
import { replicaUrl } from '../storage/layout.ts';
import { nearestDirClass } from '../tracker/tracker.ts';
import type { FileClass, Reservation } from '../tracker/types.ts';
import { type Command, type DoorContext, clientUrl, domainOf, keyOf } from './context.ts';
import { Refusal } from './errors.ts';
import { placeOfKey } from './keys.ts';
import type { Args, Reply } from './protocol.ts';

/** Devices offered to a multi_dest client, as MogileFS does. */
const MAX_DESTS = 3;

export const createOpen: Command = async (ctx, args) => {
  const domain = await domainOf(ctx, args);
  const fid = args.int('fid');
  if (fid !== null && fid !== 0) throw new Refusal('bad_params', 'This tracker chooses fids itself: send fid=0');
  const cls = await classForOpen(ctx, domain.id, args);
  const r = await ctx.tracker.reserveUpload(domain.id, cls);
  const dests = [...r.targets, ...r.spares].slice(0, args.flag('multi_dest') ? MAX_DESTS : 1);
  const reply: Reply = { fid: r.fid };
  if (!args.flag('multi_dest')) {
    reply.devid = dests[0]!.devid;
    reply.path = await clientUrl(ctx, 'PUT', replicaUrl(dests[0]!, r.fid), dests[0]!.devid);
    return reply;
  }
  for (const [i, d] of dests.entries()) {
    reply[`devid_${i + 1}`] = d.devid;
    reply[`path_${i + 1}`] = await clientUrl(ctx, 'PUT', replicaUrl(d, r.fid), d.devid);
  }
  reply.dev_count = dests.length;
  return reply;
};

/** The class named, else the one the key's directories pass down, else the domain's default. */
async function classForOpen(ctx: DoorContext, domainId: number, args: Args): Promise<FileClass> {
  const name = args.text('class');
  if (name !== '') {
    const cls = await ctx.store.getClass(domainId, name);
    if (!cls) throw new Refusal('unreg_class', 'Class name invalid/not found');
    return cls;
  }
  const key = args.bytes('key')?.length ? keyOf(args) : null;
  const dirs = key ? (await ctx.store.walkPath(domainId, placeOfKey(key).names)).filter((e) => e.kind === 'dir') : [];
  return ctx.tracker.classForNewFile(domainId, nearestDirClass(dirs));
}

export const createClose: Command = async (ctx, args) => {
  const domain = await domainOf(ctx, args);
  const fid = args.int('fid');
  const devid = args.int('devid');
  if (!fid) throw new Refusal('no_fid', 'No fid provided');
  if (!devid) throw new Refusal('no_devid', 'No devid provided');
  const path = args.text('path');
  if (path === '') throw new Refusal('no_path', 'No path provided');
  const r = await ctx.store.getReservation(fid);
  if (!r || r.domainId !== domain.id) throw new Refusal('no_temp_file', 'No tempfile or file already closed');
  const closed = await closeReserved(ctx, r, devid, path, args).catch(async (err: unknown) => {
    await ctx.store.abortUpload(fid).catch((e: unknown) => ctx.log('error', 'abort after a failed create_close failed', { fid, error: describeError(e) }));
    throw err;
  });
  return closed;
};

async function closeReserved(ctx: DoorContext, r: Reservation, devid: number, path: string, args: Args): Promise<Reply> {
  if (!r.devids.includes(devid)) throw new Refusal('invalid_destdev', `File uploaded to invalid dest ${devid}. Valid devices were: ${r.devids.join(',')}`);
  const device = (await ctx.tracker.devices()).find((d) => d.id === devid);
  if (!device) throw new Refusal('invalid_destdev', `Device ${devid} is gone`);
  const url = replicaUrl({ address: device.hostAddress, port: device.hostPort, devid }, r.fid);
  if (path.split('?')[0] !== url) throw new Refusal('bogus_args', 'The path is not the one create_open gave for this fid and device');
  if (!args.bytes('key')?.length) {
    await ctx.store.abortUpload(r.fid); // MogileFS: a close without a key discards the file
    return {};
  }
  const key = keyOf(args);
  const cls = await ctx.tracker.classById(r.classId);
  const expected = args.int('size');
  const wanted = clientChecksum(args);
  const read = await readBack(ctx, url, cls, wanted?.alg ?? null);
  if (expected && expected !== read.length) throw new Refusal('size_mismatch', `Expected: ${expected}; actual: ${read.length}; path: ${path.split('?')[0]}`);
  if (wanted && read.extra !== wanted.hex) throw new Refusal('checksum_mismatch', `Expected: ${wanted.alg.toUpperCase()}:${wanted.hex}; actual: ${wanted.alg.toUpperCase()}:${read.extra}`);
  await commitKey(ctx, r, key, { length: read.length, checksum: read.digest, devid });
  return {};
}

/**
 * Commits the upload as `key`. Another door may remove the key's directory between finding it
 * and the commit (NOT_FOUND): then the directories are made again, once. A reservation gone
 * meanwhile (a second close of the fid, the reaper) is MogileFS's no_temp_file.
 */
async function commitKey(ctx: DoorContext, r: Reservation, key: Buffer, copy: { length: number; checksum: string | null; devid: number }): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const now = Date.now();
    const slot = await ctx.keys.slotFor(r.domainId, key, now);
    try {
      await ctx.store.commitUpload({ fid: r.fid, parentId: slot.parentId, name: slot.name, length: copy.length, checksum: copy.checksum, devids: [copy.devid], mtime: now });
      return;
    } catch (err) {
      if (!isMogError(err, ErrorCodes.NOT_FOUND)) throw err;
      if (!(await ctx.store.getReservation(r.fid))) throw new Refusal('no_temp_file', 'No tempfile or file already closed');
      if (attempt > 0) throw err;
    }
  }
}

/** `checksum=MD5:<hex>` with `checksumverify=1`: the digest the client asks us to check. */
function clientChecksum(args: Args): { alg: 'md5'; hex: string } | null {
  const given = args.text('checksum');
  if (given === '' ) return null;
  const m = /^MD5:([0-9a-fA-F]{32})$/.exec(given);
  if (!m) throw new Refusal('invalid_checksum_format', 'Invalid checksum format');
  return args.flag('checksumverify') ? { alg: 'md5', hex: m[1]!.toLowerCase() } : null;
}

/**
 * Streams the uploaded copy back from its node: its length, its digest in the class's
 * algorithm (what every door stores and reads verify against), and in `extraAlg` when asked.
 */
async function readBack(ctx: DoorContext, url: string, cls: FileClass, extraAlg: 'md5' | null): Promise<{ length: number; digest: string | null; extra: string | null }> {
  let got;
  try {
    got = await ctx.client.get(url);
  } catch (err) {
    throw new Refusal('size_verify_error', `Expected the uploaded file; actual: 0 (missing); ${describeError(err)}`);
  }
  const main: Hash | null = cls.checksum === 'none' ? null : createHash(cls.checksum);
  const extra: Hash | null = extraAlg ? createHash(extraAlg) : null;
  let length = 0;
  for await (const chunk of got.stream as AsyncIterable<Buffer>) {
    length += chunk.length;
    main?.update(chunk);
    extra?.update(chunk);
  }
  if (length !== got.length) throw mogError(ErrorCodes.NODE_UNAVAILABLE, `the node sent ${length} of ${got.length} bytes`);
  return { length, digest: main ? main.digest('hex') : null, extra: extra ? extra.digest('hex') : null };
}
