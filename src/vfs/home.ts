// A user's home directory in the domain's tree, and every lookup below it. A volume names
// things as components below the home ([] is the home itself); here they are walked from the
// domain's root through the home, so no path a client sends can name anything outside it.
import { ErrorCodes, mogError } from '../errors.ts';
import { resolvePathComponents } from '../tracker/names.ts';
import { ROOT_ID, type Entry, type Namespace, type User } from '../tracker/types.ts';

/** The namespace reads a home needs, and mkdir to create it on first login. */
type HomeStore = Pick<Namespace, 'lookup' | 'mkdir' | 'getEntry' | 'resolvePath' | 'walkPath' | 'listDir'>;

/** Where a new name goes: its directory, the name, what the name holds now, and the directories above it. */
export interface NamePlace {
  parent: Entry;
  name: string;
  existing: Entry | null;
  /** The directories from the root down to the parent: the class a new file inherits. */
  dirs: Entry[];
}

const LIST_PAGE = 1000;

export class Home {
  private constructor(
    private readonly store: HomeStore,
    readonly domainId: number,
    /** The home's components below the domain's root. */
    readonly names: string[],
    readonly id: number,
  ) {}

  /** The user's home, created when it does not exist yet. */
  static async open(store: HomeStore, user: User): Promise<Home> {
    const names = resolvePathComponents([], user.homeDir);
    let parentId = ROOT_ID;
    for (const name of names) {
      const found = await store.lookup(user.domainId, parentId, name);
      if (found && found.kind !== 'dir') throw mogError(ErrorCodes.NOT_A_DIRECTORY, `Home directory ${user.homeDir} is a file`);
      parentId = found
        ? found.id
        : await store
            .mkdir(user.domainId, parentId, name, { mtime: Date.now() })
            .then((e) => e.id)
            .catch(async (err) => {
              // Another front-end created it at the same moment.
              const again = await store.lookup(user.domainId, parentId, name);
              if (again?.kind === 'dir') return again.id;
              throw err;
            });
    }
    return new Home(store, user.domainId, names, parentId);
  }

  /** The path in the whole domain ('/' or '/a/b') of components below the home. */
  domainPath(names: string[]): string {
    return '/' + [...this.names, ...names].join('/');
  }

  /** The entry at `names` (NOT_FOUND when there is none). */
  async entryAt(names: string[]): Promise<Entry> {
    if (names.length === 0) return this.entry();
    const entry = await this.store.resolvePath(this.domainId, [...this.names, ...names]);
    if (!entry) throw mogError(ErrorCodes.NOT_FOUND, `${displayPath(names)}: no such file or directory`);
    return entry;
  }

  /** The entries from the domain's root down to `names` (NOT_FOUND when one is missing); one path walk. */
  async chainTo(names: string[]): Promise<Entry[]> {
    const full = [...this.names, ...names];
    const chain = full.length ? await this.store.walkPath(this.domainId, full) : [];
    if (chain.length < full.length) throw mogError(ErrorCodes.NOT_FOUND, `${displayPath(names)}: no such file or directory`);
    return chain;
  }

  /** The directory a new name goes into, and what the name holds now: one store round trip. */
  async placeOf(names: string[]): Promise<NamePlace> {
    const name = names[names.length - 1];
    if (name === undefined) throw mogError(ErrorCodes.INVALID_NAME, 'A file name is needed');
    const dirNames = names.slice(0, -1);
    const full = [...this.names, ...names];
    const chain = await this.store.walkPath(this.domainId, full);
    const parent = full.length === 1 ? await this.entry() : chain[full.length - 2];
    if (!parent) throw mogError(ErrorCodes.NOT_FOUND, `Directory ${displayPath(dirNames)} does not exist`);
    if (parent.kind !== 'dir') throw mogError(ErrorCodes.NOT_A_DIRECTORY, `${displayPath(dirNames)} is not a directory`);
    return { parent, name, existing: chain.length === full.length ? chain[full.length - 1]! : null, dirs: chain.slice(0, full.length - 1) };
  }

  /** A directory's entries in name order, fetched a page at a time: memory stays flat however large it is. */
  async *children(dirId: number): AsyncGenerator<Entry> {
    let after: string | undefined;
    for (;;) {
      const page = await this.store.listDir(this.domainId, dirId, { after, limit: LIST_PAGE });
      yield* page;
      if (page.length < LIST_PAGE) return;
      after = page[page.length - 1]!.name;
    }
  }

  /** The home's own entry (the domain's root is not a row: it is made up here). */
  async entry(): Promise<Entry> {
    if (this.id === ROOT_ID) {
      return { id: ROOT_ID, domainId: this.domainId, parentId: ROOT_ID, name: '/', kind: 'dir', fid: null, size: 0, mtime: 0, mode: 0o755 };
    }
    const home = await this.store.getEntry(this.id);
    if (!home) throw mogError(ErrorCodes.NOT_FOUND, 'Your home directory no longer exists');
    return home;
  }
}

/** How a path below the home is shown to its user: '/' or '/a/b'. */
export function displayPath(names: string[]): string {
  return '/' + names.join('/');
}
