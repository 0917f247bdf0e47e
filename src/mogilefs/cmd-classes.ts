// The domain and class commands mogadm sends: get_domains, create/delete_domain,
// create/update/delete_class. mogftp's classes are the same classes every door uses.
import { ErrorCodes, isMogError } from '../errors.ts';
import type { ChecksumAlg } from '../checksum.ts';
import type { FileClass } from '../tracker/types.ts';
import { type Command, type DoorContext } from './context.ts';
import { Refusal } from './errors.ts';
import type { Args, Reply } from './protocol.ts';

const HASHTYPES: Record<string, ChecksumAlg> = { NONE: 'none', MD5: 'md5', SHA256: 'sha256' };
/** MogileFS's policy spelling for what mogftp always does: copies on distinct hosts. */
const POLICY = 'MultipleHosts()';

export const getDomains: Command = async (ctx) => {
  const reply: Reply = {};
  const domains = await ctx.store.listDomains();
  const classes = await ctx.store.listClasses();
  domains.forEach((d, i) => {
    const p = `domain${i + 1}`;
    reply[p] = d.name;
    const mine = classes.filter((c) => c.domainId === d.id);
    mine.forEach((c, j) => {
      reply[`${p}class${j + 1}name`] = c.name;
      reply[`${p}class${j + 1}mindevcount`] = c.mindevcount;
      reply[`${p}class${j + 1}replpolicy`] = POLICY;
      reply[`${p}class${j + 1}hashtype`] = c.checksum.toUpperCase();
    });
    reply[`${p}classes`] = mine.length;
  });
  reply.domains = domains.length;
  return reply;
};

export const createDomain: Command = async (ctx, args) => {
  const name = args.text('domain');
  if (name === '') throw new Refusal('no_domain', 'No domain provided');
  try {
    await ctx.store.createDomain(name);
  } catch (err) {
    if (isMogError(err, ErrorCodes.EXISTS)) throw new Refusal('domain_exists', 'That domain already exists');
    throw err;
  }
  return { domain: name };
};

export const deleteDomain: Command = async (ctx, args) => {
  const name = args.text('domain');
  if (name === '') throw new Refusal('no_domain', 'No domain provided');
  if (!(await ctx.store.getDomain(name))) throw new Refusal('domain_not_found', 'Domain not found');
  try {
    await ctx.store.removeDomain(name);
  } catch (err) {
    if (isMogError(err, ErrorCodes.IN_USE)) throw new Refusal('domain_has_files', 'Domain still has files, unable to delete');
    throw err;
  }
  return { domain: name };
};

interface ClassRequest {
  domainId: number;
  name: string;
  mindevcount: number;
  checksum: ChecksumAlg | undefined;
}

async function classRequest(ctx: DoorContext, args: Args): Promise<ClassRequest> {
  const domainName = args.text('domain');
  if (domainName === '') throw new Refusal('no_domain', 'No domain provided');
  const name = args.text('class');
  if (name === '') throw new Refusal('no_class', 'No class provided');
  const mindevcount = args.int('mindevcount');
  if (!mindevcount || !Number.isSafeInteger(mindevcount)) throw new Refusal('invalid_mindevcount', 'The mindevcount must be at least 1');
  const policy = args.text('replpolicy');
  if (policy !== '' && !/^MultipleHosts\(\d*\)$/.test(policy)) throw new Refusal('invalid_replpolicy', 'Only MultipleHosts() is supported: copies always go to distinct hosts');
  const hash = args.text('hashtype');
  if (hash !== '' && !HASHTYPES[hash.toUpperCase()]) throw new Refusal('invalid_hashtype', 'invalid_hashtype');
  const domain = await ctx.store.getDomain(domainName);
  if (!domain) throw new Refusal('domain_not_found', 'Domain not found');
  return { domainId: domain.id, name, mindevcount, checksum: hash === '' ? undefined : HASHTYPES[hash.toUpperCase()] };
}

function classReply(c: FileClass, domain: string): Reply {
  return { class: c.name, mindevcount: c.mindevcount, domain };
}

export const createClass: Command = async (ctx, args) => {
  const r = await classRequest(ctx, args);
  const existing = await ctx.store.getClass(r.domainId, r.name);
  // MogileFS: updating "default" before it was ever set creates it; mogftp has it from the start.
  if (existing && r.name !== 'default') throw new Refusal('class_exists', 'That class already exists in that domain');
  if (existing) return classReply(await changeClass(ctx, existing, r), args.text('domain'));
  const created = await ctx.store.createClass(r.domainId, r.name, { mindevcount: r.mindevcount, writeQuorum: Math.min(2, r.mindevcount), checksum: r.checksum });
  return classReply(created, args.text('domain'));
};

export const updateClass: Command = async (ctx, args) => {
  const r = await classRequest(ctx, args);
  const existing = await ctx.store.getClass(r.domainId, r.name);
  if (!existing) throw new Refusal('class_not_found', 'Class not found');
  return classReply(await changeClass(ctx, existing, r), args.text('domain'));
};

/** New copy counts (the write quorum never above mindevcount) and, when given, the digest. */
function changeClass(ctx: DoorContext, c: FileClass, r: ClassRequest): Promise<FileClass> {
  return ctx.store.updateClass(c.id, { mindevcount: r.mindevcount, writeQuorum: Math.min(c.writeQuorum, r.mindevcount), ...(r.checksum ? { checksum: r.checksum } : {}) });
}

export const deleteClass: Command = async (ctx, args) => {
  const domainName = args.text('domain');
  if (domainName === '') throw new Refusal('no_domain', 'No domain provided');
  const name = args.text('class');
  if (name === '') throw new Refusal('no_class', 'No class provided');
  if (name === 'default') throw new Refusal('nodel_default_class', 'Cannot delete the default class');
  const domain = await ctx.store.getDomain(domainName);
  if (!domain) throw new Refusal('domain_not_found', 'Domain not found');
  const cls = await ctx.store.getClass(domain.id, name);
  if (!cls) throw new Refusal('class_not_found', 'Class not found');
  try {
    await ctx.store.removeClass(cls.id);
  } catch (err) {
    if (isMogError(err, ErrorCodes.IN_USE)) throw new Refusal('class_has_files', 'Class still has files, unable to delete');
    throw err;
  }
  return { domain: domainName, class: name };
};
