// Whole-tree operations WebDAV has and the Volume does not: recursive delete and copy. Both
// walk the directory a page at a time; a file copy streams through Volume.copyFile.
import { ErrorCodes, isMogError } from '../errors.ts';
import type { DavState } from '../tracker/types.ts';
import type { Volume, VolumeStat } from '../vfs/volume.ts';
import { joinPath } from './paths.ts';

/** Deletes a file, or a collection with everything below it. Something already gone is fine. */
export async function deleteTree(volume: Volume, path: string, st: VolumeStat): Promise<void> {
  try {
    if (st.kind === 'file') return await volume.remove(path);
    // Children are removed as the listing pages past them; its cursor is a name, so that is safe.
    for await (const c of volume.list(path)) await deleteTree(volume, joinPath(path, c.name), c);
    await volume.rmdir(path);
  } catch (err) {
    if (!isMogError(err, ErrorCodes.NOT_FOUND)) throw err;
  }
}

/**
 * Copies `from` to `to` (which must not exist, or be a file when `from` is one), with its dead
 * properties; a collection's members too when `deep` (Depth: infinity).
 */
export async function copyTree(volume: Volume, store: Pick<DavState, 'copyDavProps'>, from: string, src: VolumeStat, to: string, deep: boolean): Promise<void> {
  const domainId = volume.user.domainId;
  if (src.kind === 'file') {
    const copy = await volume.copyFile(from, to);
    await store.copyDavProps(domainId, src.id, copy.id);
    return;
  }
  await volume.mkdir(to);
  const made = await volume.stat(to);
  await store.copyDavProps(domainId, src.id, made.id);
  if (!deep) return;
  for await (const c of volume.list(from)) await copyTree(volume, store, joinPath(from, c.name), c, joinPath(to, c.name), true);
}
