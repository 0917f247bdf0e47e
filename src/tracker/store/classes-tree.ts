// Classes on the directory tree: a directory's own class (entries.class_id, NULL = inherit), the
// class a new file inherits (the nearest ancestor with one, else the domain's "default"), and
// changing the class of existing files. Units of work over the Driver seam; the Namespace role (namespace.ts)
// checks the arguments, wraps these in transactions and queues the changed files for replication.
import { ErrorCodes, mogError } from '../../errors.ts';
import { ROOT_ID, type DirClass, type InheritedClass } from '../types.ts';
import type { Dialect, Work } from './driver.ts';
import { all, get, placeholders, run } from './driver.ts';
import { TREE_CTE } from './quota.ts';
import { num, numOrNull, str } from './rows.ts';

const notFound = (msg: string) => mogError(ErrorCodes.NOT_FOUND, msg);

/**
 * A directory and its ancestors, nearest first, stopping at the first that has a class: the
 * root (parent 0) has no row, so the walk ends there. Placeholder: the directory's id.
 */
const UP_TO_CLASS_CTE = `WITH RECURSIVE up (id, parent_id, class_id, depth) AS (
  SELECT id, parent_id, class_id, 0 FROM entries WHERE id = ?
  UNION ALL
  SELECT e.id, e.parent_id, e.class_id, up.depth + 1 FROM up CROSS JOIN entries e
  WHERE e.id = up.parent_id AND up.class_id IS NULL)`;

/** A directory's ancestors with their names, nearest first (depth 0 is the directory itself). */
const PATH_CTE = `WITH RECURSIVE up (id, parent_id, name, depth) AS (
  SELECT id, parent_id, name, 0 FROM entries WHERE id = ?
  UNION ALL
  SELECT e.id, e.parent_id, e.name, up.depth + 1 FROM up CROSS JOIN entries e WHERE e.id = up.parent_id)`;

export class ClassTreeWork {
  constructor(private readonly d: Dialect) {}

  /**
   * Checks that the class belongs to the domain and keeps it so until commit (removeClass takes
   * the class row exclusively, so it waits for this transaction and then sees what it did).
   */
  *lockClass(domainId: number, classId: number): Work<string> {
    const c = yield* get(`SELECT name FROM classes WHERE id = ? AND domain_id = ?${this.d.forShare}`, classId, domainId);
    if (!c) throw notFound(`Class ${classId} does not exist in this domain`);
    return str(c.name);
  }

  /** Sets or clears a directory's class; returns the entry's row as it is now. */
  *setDirClass(entryId: number, classId: number | null): Work<Record<string, unknown>> {
    const e = yield* get(`SELECT id, domain_id, kind, name FROM entries WHERE id = ?${this.d.forUpdate}`, entryId);
    if (!e) throw notFound('No such directory');
    if (str(e.kind) !== 'dir') throw mogError(ErrorCodes.NOT_A_DIRECTORY, `"${str(e.name)}" is not a directory: a file's class is set with 'admin file set-class'`);
    if (classId !== null) yield* this.lockClass(num(e.domain_id), classId);
    yield* run('UPDATE entries SET class_id = ? WHERE id = ?', classId, entryId);
    return e;
  }

  *inheritedClass(domainId: number, dirId: number): Work<InheritedClass> {
    if (dirId === ROOT_ID) return { classId: null, fromEntryId: null };
    const rows = yield* all(`${UP_TO_CLASS_CTE} SELECT id, class_id, depth FROM up ORDER BY depth`, dirId);
    if (rows.length === 0) throw notFound('The directory no longer exists');
    const set = rows.find((r) => r.class_id != null);
    return set ? { classId: num(set.class_id), fromEntryId: num(set.id) } : { classId: null, fromEntryId: null };
  }

  *listDirClasses(domainId: number | undefined): Work<DirClass[]> {
    const rows =
      domainId === undefined
        ? yield* all(`SELECT e.id, e.domain_id, e.class_id, c.name AS class_name FROM entries e JOIN classes c ON c.id = e.class_id
                      WHERE e.class_id IS NOT NULL`)
        : yield* all(
            `SELECT e.id, e.domain_id, e.class_id, c.name AS class_name FROM entries e JOIN classes c ON c.id = e.class_id
             WHERE e.class_id IS NOT NULL AND e.domain_id = ?`,
            domainId,
          );
    const out: DirClass[] = [];
    for (const r of rows) {
      const names = (yield* all(`${PATH_CTE} SELECT name, depth FROM up ORDER BY depth DESC`, num(r.id))).map((n) => str(n.name));
      out.push({ domainId: num(r.domain_id), entryId: num(r.id), path: '/' + names.join('/'), classId: num(r.class_id), className: str(r.class_name) });
    }
    return out.sort((a, b) => a.domainId - b.domainId || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Changes the class of those of `fids` that have another one; returns the changed fids. */
  *setFilesClass(domainId: number, fids: number[], classId: number): Work<number[]> {
    if (fids.length === 0) return [];
    const rows = yield* all(
      `SELECT fid FROM files WHERE fid IN ${placeholders(fids.length)} AND domain_id = ? AND class_id <> ? ORDER BY fid${this.d.forUpdate}`,
      ...fids, domainId, classId,
    );
    const changed = rows.map((r) => num(r.fid));
    if (changed.length) yield* run(`UPDATE files SET class_id = ? WHERE fid IN ${placeholders(changed.length)}`, classId, ...changed);
    return changed;
  }

  /** The domain of a live file, or NOT_FOUND. */
  *fileDomain(fid: number): Work<number> {
    const f = yield* get('SELECT domain_id FROM files WHERE fid = ?', fid);
    if (!f) throw notFound(`File ${fid} does not exist (deleted?)`);
    return num(f.domain_id);
  }

  /** One page of the fids of the files below a directory (the whole domain for the root), ascending. */
  *fidsUnder(domainId: number, dirId: number, afterFid: number, limit: number): Work<number[]> {
    if (dirId === ROOT_ID) {
      const rows = yield* all('SELECT fid FROM files WHERE domain_id = ? AND fid > ? ORDER BY fid LIMIT ?', domainId, afterFid, limit);
      return rows.map((r) => num(r.fid));
    }
    if (!(yield* get(`SELECT id FROM entries WHERE id = ? AND domain_id = ? AND kind = 'dir'`, dirId, domainId)))
      throw notFound('The directory no longer exists');
    // The walk of store/quota.ts (child lookups through the path index), once per page.
    const rows = yield* all(
      `${TREE_CTE}
       SELECT e.fid FROM tree t CROSS JOIN entries e
       WHERE e.domain_id = ? AND e.parent_id = t.id AND e.kind = 'file' AND e.fid > ? ORDER BY e.fid LIMIT ?`,
      dirId, domainId, domainId, domainId, afterFid, limit,
    );
    return rows.map((r) => numOrNull(r.fid)).filter((f): f is number => f !== null);
  }
}
