// File classes as users see them (MLST x.class, SITE CLASS, WebDAV): a file's own class, or the
// one a directory passes down to new files (set on it, inherited from above, or the domain's
// default). Class rows come from the Tracker's cache; file rows from the store.
import { ErrorCodes, mogError } from '../errors.ts';
import { nearestDirClass, type Tracker } from '../tracker/tracker.ts';
import { ROOT_ID, type Entry, type EntryKind, type Replicas } from '../tracker/types.ts';

/** A file's or directory's class as users see it. */
export interface ClassView {
  name: string;
  /** 'file': the file's own; 'dir': set on this directory; 'inherited': from a directory above; 'default': the domain's. */
  source: 'file' | 'dir' | 'inherited' | 'default';
}

/** What naming a listed entry's class needs (a VolumeStat has it). */
interface ClassedEntry {
  id: number;
  kind: EntryKind;
  fid: number | null;
  /** A directory's own class id (null: it inherits). */
  classId: number | null;
}

interface ClassDeps {
  store: Pick<Replicas, 'getFile' | 'getFiles'>;
  tracker: Pick<Tracker, 'classById' | 'classForNewFile'>;
}

/**
 * The class of the last entry of `chain` (a path walk from the domain's root; empty for the
 * root itself): a file's own, or what the directory gives a new file in it.
 */
export async function classOfChain(deps: ClassDeps, domainId: number, chain: Entry[]): Promise<ClassView> {
  const last = chain[chain.length - 1];
  if (last?.kind === 'file' && last.fid !== null) {
    const file = await deps.store.getFile(last.fid);
    if (!file) throw mogError(ErrorCodes.NOT_FOUND, `${last.name} was just removed`);
    return { name: (await deps.tracker.classById(file.classId)).name, source: 'file' };
  }
  const inherited = nearestDirClass(chain);
  const dirId = last?.id ?? ROOT_ID;
  const cls = await deps.tracker.classForNewFile(domainId, inherited);
  const source = inherited.classId === null ? 'default' : inherited.fromEntryId === dirId ? 'dir' : 'inherited';
  return { name: cls.name, source };
}

/**
 * Class names for a page of a directory's listing: files by their file rows (one query for the
 * page), directories by their own class or `here`, the one the listed directory passes down.
 */
export async function classNamesIn(deps: ClassDeps, here: ClassView, entries: readonly ClassedEntry[]): Promise<Map<number, string>> {
  const fids = entries.flatMap((s) => (s.kind === 'file' && s.fid !== null ? [s.fid] : []));
  const files = new Map((fids.length ? await deps.store.getFiles(fids) : []).map((f) => [f.fid, f.classId]));
  const out = new Map<number, string>();
  for (const s of entries) {
    const classId = s.kind === 'dir' ? s.classId : s.fid === null ? undefined : files.get(s.fid);
    if (classId === undefined) continue; // a file removed since the page was read
    out.set(s.id, classId === null ? here.name : (await deps.tracker.classById(classId)).name);
  }
  return out;
}
