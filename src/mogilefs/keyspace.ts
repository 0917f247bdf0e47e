// MogileFS keys over mogftp's directory tree: every door shares one namespace, so a key is a
// file (keys.ts says at which path) and a file is a key. Finding a key tries its own path first,
// then its escaped place (where a key goes when its own path is taken by a directory, or a
// parent component by a file). Listing is in MogileFS's order, the keys' bytes sorted
// (key-order.ts).
import { ErrorCodes, isMogError, mogError } from '../errors.ts';
import { ROOT_ID, type Entry, type Namespace } from '../tracker/types.ts';
import { listKeysSorted } from './key-order.ts';
import { ESCAPED_KEYS_DIR, escapedNames, placeOfKey } from './keys.ts';

type KeyStore = Pick<Namespace, 'walkPath' | 'lookup' | 'listDir' | 'mkdir'>;

/** A key's file and where it is. */
export interface FoundKey {
  entry: Entry;
  names: string[];
}

/** Where a key is to be written: its parent directory (made if missing) and its name there. */
export interface KeySlot {
  parentId: number;
  name: string;
  names: string[];
}

export class Keyspace {
  constructor(private readonly store: KeyStore) {}

  /** The file a key names in a domain, or null. */
  async find(domainId: number, key: Buffer): Promise<FoundKey | null> {
    const place = placeOfKey(key);
    const tries = place.escaped ? [place.names] : [place.names, escapedNames(key)];
    for (const names of tries) {
      const walked = await this.store.walkPath(domainId, names);
      const last = walked[walked.length - 1];
      if (walked.length === names.length && last?.kind === 'file') return { entry: last, names };
    }
    return null;
  }

  /**
   * Where a new copy of the key goes: over its current file when it has one, else its own path
   * when nothing stands in the way (parents are made), else its escaped place.
   */
  async slotFor(domainId: number, key: Buffer, now: number): Promise<KeySlot> {
    const found = await this.find(domainId, key);
    if (found) return { parentId: found.entry.parentId, name: found.entry.name, names: found.names };
    const place = placeOfKey(key);
    if (!place.escaped) {
      const slot = await this.makeParents(domainId, place.names, now);
      if (slot) return slot;
    }
    const names = escapedNames(key);
    const slot = await this.makeParents(domainId, names, now);
    if (!slot) throw mogError(ErrorCodes.INTERNAL, `a file stands where ${ESCAPED_KEYS_DIR} needs a directory`);
    return slot;
  }

  /** The parent directories of `names`, made where missing; null when a file or a directory is in the way. */
  private async makeParents(domainId: number, names: string[], now: number): Promise<KeySlot | null> {
    const walked = await this.store.walkPath(domainId, names);
    if (walked.some((e, i) => i < names.length - 1 && e.kind !== 'dir')) return null;
    if (walked.length === names.length && walked[walked.length - 1]!.kind === 'dir') return null;
    let parentId = ROOT_ID;
    for (let i = 0; i < names.length - 1; i++) {
      parentId = i < walked.length ? walked[i]!.id : await this.mkdirOrExisting(domainId, parentId, names[i]!, now);
      if (parentId < 0) return null;
    }
    return { parentId, name: names[names.length - 1]!, names };
  }

  /** A directory's id, made if missing (another door may make it meanwhile); -1 when a file has the name. */
  private async mkdirOrExisting(domainId: number, parentId: number, name: string, now: number): Promise<number> {
    try {
      return (await this.store.mkdir(domainId, parentId, name, { mtime: now })).id;
    } catch (err) {
      if (!isMogError(err, ErrorCodes.EXISTS)) throw err;
      const e = await this.store.lookup(domainId, parentId, name);
      return e?.kind === 'dir' ? e.id : -1;
    }
  }

  /** Up to `limit` keys starting with `prefix`, after the key `after`, in MogileFS's byte order (key-order.ts). */
  list(domainId: number, prefix: Buffer, after: Buffer | null, limit: number): Promise<Buffer[]> {
    return listKeysSorted(this.store, domainId, prefix, after, limit);
  }
}
