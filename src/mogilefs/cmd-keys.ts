// The key commands that change the namespace: delete, rename, updateclass. They act on the
// same entries FTP and WebDAV see, in the same transactions, so every door sees them at once.
import { type Command, domainOf, keyOf } from './context.ts';
import { Refusal } from './errors.ts';

export const deleteKey: Command = async (ctx, args) => {
  const domain = await domainOf(ctx, args);
  const found = await ctx.keys.find(domain.id, keyOf(args));
  if (!found) throw new Refusal('unknown_key', 'unknown_key');
  await ctx.store.removeFile(found.entry.id); // queues the fid's copies for deletion
  return {};
};

/** rename from_key to to_key; key_exists when to_key names a file (MogileFS never overwrites here). */
export const renameKey: Command = async (ctx, args) => {
  const domain = await domainOf(ctx, args);
  const from = keyOf(args, 'from_key');
  const to = keyOf(args, 'to_key');
  const found = await ctx.keys.find(domain.id, from);
  if (!found) throw new Refusal('unknown_key', 'unknown_key');
  if (await ctx.keys.find(domain.id, to)) throw new Refusal('key_exists', "Target key name already exists; can't overwrite.");
  const slot = await ctx.keys.slotFor(domain.id, to, Date.now());
  await ctx.store.rename(found.entry.id, slot.parentId, slot.name);
  return {};
};

/** updateclass key class: the file moves to the class, and replication adds or trims copies. */
export const updateClass: Command = async (ctx, args) => {
  const domain = await domainOf(ctx, args);
  const key = keyOf(args);
  const name = args.text('class');
  if (name === '') throw new Refusal('no_class', 'No class provided');
  const cls = await ctx.store.getClass(domain.id, name);
  if (!cls) throw new Refusal('class_not_found', 'Class not found');
  const found = await ctx.keys.find(domain.id, key);
  if (!found?.entry.fid) throw new Refusal('invalid_key', 'invalid_key');
  await ctx.store.setFileClass(found.entry.fid, cls.id);
  return {};
};
