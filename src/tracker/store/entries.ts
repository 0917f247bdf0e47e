// Namespace entries as the Namespace and Uploads roles share them: the columns, the root's
// stand-in, the path walk's SQL, and the check every change under a directory makes.
//
// Locking on MySQL (READ COMMITTED): a statement that creates a child takes a shared lock on
// the parent row (or on the domain row, for the root); rmdir and removeDomain take exclusive
// locks before checking for children, so the two orders serialise. SQLite needs none of it:
// one writer at a time. `forShare`/`forUpdate` are empty strings there.
import { mogError, ErrorCodes } from '../../errors.ts';
import { ROOT_ID, type Entry } from '../types.ts';
import type { Dialect, Work } from './driver.ts';
import { get } from './driver.ts';
import { num, str } from './rows.ts';

export const DEFAULT_FILE_MODE = 0o644;
export const DEFAULT_DIR_MODE = 0o755;

export const ENTRY_COLS = 'id, domain_id, parent_id, name, kind, fid, size, mtime, mode, class_id';
export const ENTRY_COL_NAMES = ENTRY_COLS.split(', ');

/** Path components one walk query looks up (walkSql). */
export const WALK_STEP = 16;
const walkSqlCache = new Map<number, string>();

/**
 * SELECT of `depth` path components below one parent: e0 is the child named by the last
 * placeholder of the WHERE, each e<i> a child of e<i-1> (a file has no children, so the chain
 * ends at one). Placeholders, in order: the names of e1..e<depth-1>, then domain, parent, name of e0.
 */
export function walkSql(depth: number): string {
  let sql = walkSqlCache.get(depth);
  if (sql) return sql;
  const cols = [];
  const joins = [];
  for (let i = 0; i < depth; i++) {
    cols.push(...ENTRY_COL_NAMES.map((c) => `e${i}.${c} AS e${i}_${c}`));
    if (i > 0) joins.push(`LEFT JOIN entries e${i} ON e${i}.domain_id = e0.domain_id AND e${i}.parent_id = e${i - 1}.id AND e${i}.name = ?`);
  }
  sql = `SELECT ${cols.join(', ')} FROM entries e0 ${joins.join(' ')} WHERE e0.domain_id = ? AND e0.parent_id = ? AND e0.name = ?`;
  walkSqlCache.set(depth, sql);
  return sql;
}

/** The root directory has no row; resolvePath([]) returns this stand-in for it. */
export function rootEntry(domainId: number): Entry {
  return { id: ROOT_ID, domainId, parentId: ROOT_ID, name: '', kind: 'dir', fid: null, size: 0, mtime: 0, mode: DEFAULT_DIR_MODE };
}

export class EntryWork {
  constructor(private readonly d: Dialect) {}

  /** Checks that `parentId` is a directory of the domain (or its root) and keeps it so until commit. */
  *parent(domainId: number, parentId: number): Work<void> {
    if (parentId === ROOT_ID) {
      if (!(yield* get(`SELECT id FROM domains WHERE id = ?${this.d.forShare}`, domainId))) throw mogError(ErrorCodes.NOT_FOUND, `Domain ${domainId} does not exist`);
      return;
    }
    const p = yield* get(`SELECT domain_id, kind, name FROM entries WHERE id = ?${this.d.forShare}`, parentId);
    if (!p || num(p.domain_id) !== domainId) throw mogError(ErrorCodes.NOT_FOUND, 'The parent directory no longer exists');
    if (str(p.kind) !== 'dir') throw mogError(ErrorCodes.NOT_A_DIRECTORY, `"${str(p.name)}" is not a directory`);
  }
}
