// MogileFS keys over mogftp's directory tree: every door shares one namespace, so a key is a
// file (keys.ts says at which path) and a file is a key. Finding a key tries its own path first,
// then its escaped place (where a key goes when its own path is taken by a directory, or a
// parent component by a file). Listing walks the tree in its order: names compared as bytes,
// one directory at a time, which is the order list_keys pages in (not MogileFS's plain string
// order; clients only hand back the `after` we gave them, so any fixed order pages correctly).
import { ErrorCodes, isMogError, mogError } from '../errors.ts';
import { ROOT_ID, type Entry, type Namespace } from '../tracker/types.ts';
import { ESCAPED_KEYS_DIR, escapedNames, keyOfNames, placeOfKey } from './keys.ts';

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

const PAGE = 256;

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

  /**
   * Up to `limit` keys starting with `prefix`, after the key `after` (in this walk's order).
   * Without a prefix: the whole tree. With one: the directory its complete components name,
   * then the escaped keys (whose names say nothing about their keys, so all are decoded).
   */
  async list(domainId: number, prefix: Buffer, after: Buffer | null, limit: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    const afterNames = after && after.length > 0 ? ((await this.find(domainId, after))?.names ?? placeOfKey(after).names) : null;
    const take = (key: Buffer) => key.subarray(0, prefix.length).equals(prefix);
    const phases: Array<{ dirs: string[]; skipEscaped: boolean }> = [];
    if (prefix.length === 0) phases.push({ dirs: [], skipEscaped: false });
    else {
      const text = prefix.toString('utf8');
      const cut = text.lastIndexOf('/');
      const dirs = cut < 0 ? [] : text.slice(0, cut).split('/');
      if (Buffer.from(text, 'utf8').equals(prefix) && dirs[0] !== ESCAPED_KEYS_DIR) phases.push({ dirs, skipEscaped: true });
      phases.push({ dirs: [ESCAPED_KEYS_DIR], skipEscaped: false });
    }
    let resume = afterNames;
    for (const phase of phases) {
      let within: string[] | null = null;
      if (resume) {
        // A prefixed listing's first phase never holds an escaped key: those come in the second.
        const escapedKey = resume[0] === ESCAPED_KEYS_DIR;
        if (!startsWith(resume, phase.dirs) || (phase.skipEscaped && escapedKey)) {
          continue; // the `after` key lies in a later phase
        }
        within = resume.slice(phase.dirs.length);
        resume = null;
      }
      const walked = phase.dirs.length ? await this.store.walkPath(domainId, phase.dirs) : [];
      if (walked.length !== phase.dirs.length || walked.some((e) => e.kind !== 'dir')) continue;
      const dirId = walked.length ? walked[walked.length - 1]!.id : ROOT_ID;
      const prune = phase.skipEscaped ? (names: string[]) => !mayHold(names, prefix) : () => false;
      for await (const key of this.walk(domainId, dirId, phase.dirs, within, { skipEscaped: phase.skipEscaped, prune })) {
        if (!take(key)) continue;
        out.push(key);
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  /** The keys below a directory in walk order, strictly after the position `resume` (names below it). */
  private async *walk(domainId: number, dirId: number, dirNames: string[], resume: string[] | null, how: WalkRules): AsyncGenerator<Buffer> {
    let after = resume?.[0];
    const below = { ...how, skipEscaped: false };
    if (resume && resume.length > 1) {
      const e = await this.store.lookup(domainId, dirId, resume[0]!);
      if (e?.kind === 'dir') yield* this.walk(domainId, e.id, [...dirNames, e.name], resume.slice(1), below);
    }
    for (;;) {
      const page = await this.store.listDir(domainId, dirId, { after, limit: PAGE });
      for (const e of page) {
        const names = [...dirNames, e.name];
        if (e.kind === 'dir') {
          const skip = (how.skipEscaped && dirNames.length === 0 && e.name === ESCAPED_KEYS_DIR) || how.prune(names);
          if (!skip) yield* this.walk(domainId, e.id, names, null, below);
        } else yield keyOfNames(names);
      }
      if (page.length < PAGE) return;
      after = page[page.length - 1]!.name;
    }
  }
}

function startsWith(names: string[], head: string[]): boolean {
  return head.every((n, i) => names[i] === n) && names.length > head.length;
}

interface WalkRules {
  /** Leave out the escaped keys' directory (a prefixed listing visits it last). */
  skipEscaped: boolean;
  /** Directories whose keys cannot match: not entered. */
  prune: (names: string[]) => boolean;
}

/** Whether keys below the directory `names` can start with `prefix` (one is a prefix of the other). */
function mayHold(names: string[], prefix: Buffer): boolean {
  const dir = Buffer.from(`${names.join('/')}/`, 'utf8');
  const n = Math.min(dir.length, prefix.length);
  return dir.subarray(0, n).equals(prefix.subarray(0, n));
}
