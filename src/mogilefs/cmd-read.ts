// The key commands that read: get_paths, file_info, file_debug, list_keys.
import { describeError } from '../errors.ts';
import { replicaUrl } from '../storage/layout.ts';
import type { FileRow } from '../tracker/types.ts';
import { type Command, type DoorContext, clientUrl, domainOf, keyOf } from './context.ts';
import { Refusal } from './errors.ts';
import type { Reply } from './protocol.ts';

/** list_keys answers at most this many keys, as MogileFS does. */
const MAX_LIST = 1000;

/** The file a key names in the request's domain (unknown_key when none). */
async function fileOfKey(ctx: DoorContext, domainId: number, key: Buffer): Promise<FileRow> {
  const found = await ctx.keys.find(domainId, key);
  const file = found?.entry.fid ? await ctx.store.getFile(found.entry.fid) : null;
  if (!file) throw new Refusal('unknown_key', 'unknown_key');
  return file;
}

/** `SHA256:<hex>` / `MD5:<hex>`, as MogileFS's checksum info reads. */
function checksumInfo(file: FileRow): string {
  return file.checksum ? `${file.checksumAlg.toUpperCase()}:${file.checksum}` : 'NONE';
}

/**
 * Signed GET URLs of readable copies, best first (the tracker's read order), at most
 * `pathcount` (default and least 2). Unless `noverify`, the first copy's length is checked
 * with a HEAD and a copy that fails it is passed over.
 */
export const getPaths: Command = async (ctx, args) => {
  const domain = await domainOf(ctx, args);
  const file = await fileOfKey(ctx, domain.id, keyOf(args));
  const want = Math.max(2, args.int('pathcount') || 2);
  const verify = !args.flag('noverify');
  const reply: Reply = { paths: 0 };
  let n = 0;
  for (const loc of await ctx.tracker.replicasFor(file.fid)) {
    const url = replicaUrl(loc, file.fid);
    if (verify && n === 0 && !(await lengthMatches(ctx, url, file.length))) continue;
    reply[`path${++n}`] = await clientUrl(ctx, 'GET', url, loc.devid);
    if (n === want) break;
  }
  reply.paths = n;
  return reply;
};

async function lengthMatches(ctx: DoorContext, url: string, length: number): Promise<boolean> {
  try {
    return (await ctx.client.head(url))?.length === length;
  } catch (err) {
    ctx.log('debug', 'get_paths: a copy did not answer its check', { url, error: describeError(err) });
    return false;
  }
}

export const fileInfo: Command = async (ctx, args) => {
  const domain = await domainOf(ctx, args);
  const key = keyOf(args);
  const file = await fileOfKey(ctx, domain.id, key);
  const cls = await ctx.store.getClassById(file.classId);
  const reply: Reply = { fid: file.fid, domain: domain.name, class: cls?.name ?? '', key, length: file.length, devcount: file.devcount };
  if (file.checksumAlg !== 'none') reply.checksum = file.checksum ? checksumInfo(file) : 'MISSING';
  if (args.flag('devices')) reply.devids = (await ctx.store.replicasOf(file.fid)).join(',');
  return reply;
};

/** What the tracker knows of a fid (by `fid`, or by domain and key): its row, copies, reservation, queues. */
export const fileDebug: Command = async (ctx, args) => {
  let fid = args.int('fid');
  let key: Buffer | null = null;
  if (!fid) {
    const domain = await domainOf(ctx, args);
    key = keyOf(args);
    fid = (await fileOfKey(ctx, domain.id, key)).fid;
  }
  const reply: Reply = {};
  const file = await ctx.store.getFile(fid);
  if (file) {
    const cls = await ctx.store.getClassById(file.classId);
    const domain = (await ctx.store.listDomains()).find((d) => d.id === file.domainId);
    Object.assign(reply, { fid_fid: fid, fid_dmid: file.domainId, fid_classid: file.classId, fid_length: file.length, fid_devcount: file.devcount });
    Object.assign(reply, { fid_domain: domain?.name ?? '', fid_class: cls?.name ?? '' });
    if (key) reply.fid_dkey = key;
    reply.checksum = checksumInfo(file);
  }
  const devids = await ctx.store.replicasOf(fid);
  const devices = new Map((await ctx.tracker.devices()).map((d) => [d.id, d]));
  for (const devid of devids) {
    const d = devices.get(devid);
    if (d) reply[`devpath_${devid}`] = replicaUrl({ address: d.hostAddress, port: d.hostPort, devid }, fid);
  }
  if (devids.length) reply.devids = devids.join(',');
  const temp = await ctx.store.getReservation(fid);
  if (temp) Object.assign(reply, { tempfile_fid: fid, tempfile_dmid: temp.domainId, tempfile_classid: temp.classId, tempfile_devids: temp.devids.join(','), tempfile_createtime: Math.floor(temp.createdAt / 1000) });
  if (Object.keys(reply).length === 0) throw new Refusal('unknown_fid', 'unknown_fid');
  return reply;
};

/** Keys starting with `prefix`, after `after`, at most `limit` (≤ 1000); none_match when none. */
export const listKeys: Command = async (ctx, args) => {
  const domain = await domainOf(ctx, args);
  const prefix = args.bytes('prefix') ?? Buffer.alloc(0);
  const after = args.bytes('after') ?? null;
  if (prefix.length && after && after.length && !after.subarray(0, prefix.length).equals(prefix))
    throw new Refusal('after_mismatch', 'Pattern does not match the after-value?');
  const limit = Math.min(MAX_LIST, args.int('limit') || MAX_LIST);
  const keys = await ctx.keys.list(domain.id, prefix, after, limit);
  if (keys.length === 0) throw new Refusal('none_match', 'No keys match that pattern and after-value (if any).');
  const reply: Reply = { key_count: keys.length };
  keys.forEach((k, i) => (reply[`key_${i + 1}`] = k));
  reply.next_after = keys[keys.length - 1]!;
  return reply;
};
