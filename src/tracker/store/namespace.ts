// The Namespace role: each domain's directory tree (entries), and classes set on directories
// (the SQL of those lives in classes-tree.ts). Every operation is a unit of work over the Driver
// seam (driver.ts), run in one transaction; see entries.ts for the locks a change takes.
import { mogError, ErrorCodes } from '../../errors.ts';
import { validateName } from '../names.ts';
import { ROOT_ID, type DirClass, type Entry, type InheritedClass, type Namespace } from '../types.ts';
import { ClassTreeWork } from './classes-tree.ts';
import type { Dialect, Driver, Work } from './driver.ts';
import { all, get, run } from './driver.ts';
import { DEFAULT_DIR_MODE, ENTRY_COL_NAMES, ENTRY_COLS, EntryWork, rootEntry, WALK_STEP, walkSql } from './entries.ts';
import { TREE_CTE } from './quota.ts';
import { QueueWork } from './queue-work.ts';
import { checkId, checkInt, checkLimit, checkMode, checkTime, num, toEntry } from './rows.ts';

const notFound = (msg: string) => mogError(ErrorCodes.NOT_FOUND, msg);

export class SqlNamespace implements Namespace {
  private readonly d: Dialect;
  private readonly entries: EntryWork;
  private readonly queue: QueueWork;
  private readonly classTree: ClassTreeWork;

  constructor(private readonly driver: Driver) {
    this.d = driver.dialect;
    this.entries = new EntryWork(driver.dialect);
    this.queue = new QueueWork(driver.dialect);
    this.classTree = new ClassTreeWork(driver.dialect);
  }

  async getEntry(id: number): Promise<Entry | null> {
    return this.driver.read(function* () {
      const r = yield* get(`SELECT ${ENTRY_COLS} FROM entries WHERE id = ?`, id);
      return r ? toEntry(r) : null;
    });
  }

  async lookup(domainId: number, parentId: number, name: string): Promise<Entry | null> {
    return this.driver.read(function* () {
      const r = yield* get(`SELECT ${ENTRY_COLS} FROM entries WHERE domain_id = ? AND parent_id = ? AND name = ?`, domainId, parentId, name);
      return r ? toEntry(r) : null;
    });
  }

  /** `[]` resolves to a stand-in for the root (id ROOT_ID, which has no row). */
  async resolvePath(domainId: number, names: string[]): Promise<Entry | null> {
    if (names.length === 0) return rootEntry(domainId);
    const chain = await this.walkPath(domainId, names);
    return chain.length === names.length ? chain[chain.length - 1]! : null;
  }

  async walkPath(domainId: number, names: string[]): Promise<Entry[]> {
    return this.driver.read(function* () {
      const chain: Entry[] = [];
      let parent = rootEntry(domainId);
      // One query per WALK_STEP components (a chain of LEFT JOINs): a path costs one round trip
      // whatever its depth, where a lookup per component cost one each.
      for (let at = 0; at < names.length; at += WALK_STEP) {
        if (parent.kind !== 'dir') break;
        const step = names.slice(at, at + WALK_STEP);
        const row = yield* get(walkSql(step.length), ...step.slice(1), domainId, parent.id, step[0]);
        if (!row) break;
        for (let i = 0; i < step.length && row[`e${i}_id`] !== null && row[`e${i}_id`] !== undefined; i++) {
          chain.push(toEntry(Object.fromEntries(ENTRY_COL_NAMES.map((c) => [c, row[`e${i}_${c}`]]))));
        }
        if (chain.length < at + step.length) break;
        parent = chain[chain.length - 1]!;
      }
      return chain;
    });
  }

  async listDir(domainId: number, parentId: number, opts: { after?: string; limit: number }): Promise<Entry[]> {
    const limit = checkLimit(opts.limit);
    return this.driver.read(function* () {
      const rows =
        opts.after === undefined
          ? yield* all(`SELECT ${ENTRY_COLS} FROM entries WHERE domain_id = ? AND parent_id = ? ORDER BY name LIMIT ?`, domainId, parentId, limit)
          : yield* all(
              `SELECT ${ENTRY_COLS} FROM entries WHERE domain_id = ? AND parent_id = ? AND name > ? ORDER BY name LIMIT ?`,
              domainId, parentId, opts.after, limit,
            );
      return rows.map(toEntry);
    });
  }

  async mkdir(domainId: number, parentId: number, name: string, opts: { mtime: number; mode?: number }): Promise<Entry> {
    checkId('Domain id', domainId);
    checkInt('Parent id', parentId, 0);
    validateName(name);
    const mtime = checkTime('Modification time', opts.mtime);
    const mode = checkMode(opts.mode ?? DEFAULT_DIR_MODE);
    const { entries } = this;
    return this.driver.write(function* (): Work<Entry> {
      yield* entries.parent(domainId, parentId);
      if (yield* get('SELECT id FROM entries WHERE domain_id = ? AND parent_id = ? AND name = ?', domainId, parentId, name))
        throw mogError(ErrorCodes.EXISTS, `"${name}" already exists`);
      const { insertId } = yield* run(
        `INSERT INTO entries (domain_id, parent_id, name, kind, fid, size, mtime, mode) VALUES (?, ?, ?, 'dir', NULL, 0, ?, ?)`,
        domainId, parentId, name, mtime, mode,
      );
      return { id: insertId, domainId, parentId, name, kind: 'dir', fid: null, size: 0, mtime, mode };
    });
  }

  async rmdir(id: number): Promise<void> {
    const d = this.d;
    return this.driver.write(function* () {
      const r = yield* get(`SELECT ${ENTRY_COLS} FROM entries WHERE id = ?${d.forUpdate}`, id);
      if (!r) throw notFound('No such directory');
      const e = toEntry(r);
      if (e.kind !== 'dir') throw mogError(ErrorCodes.NOT_A_DIRECTORY, `"${e.name}" is not a directory`);
      if (yield* get('SELECT 1 AS x FROM entries WHERE domain_id = ? AND parent_id = ? LIMIT 1', e.domainId, e.id))
        throw mogError(ErrorCodes.NOT_EMPTY, `Directory "${e.name}" is not empty`);
      yield* run('DELETE FROM entries WHERE id = ?', id);
    });
  }

  async removeFile(id: number): Promise<void> {
    const { d, queue } = this;
    return this.driver.write(function* () {
      const r = yield* get(`SELECT ${ENTRY_COLS} FROM entries WHERE id = ?${d.forUpdate}`, id);
      if (!r) throw notFound('No such file');
      const e = toEntry(r);
      if (e.kind !== 'file') throw mogError(ErrorCodes.IS_A_DIRECTORY, `"${e.name}" is a directory`);
      yield* run('DELETE FROM entries WHERE id = ?', id);
      yield* queue.dropFile(e.fid!);
    });
  }

  async rename(id: number, toParentId: number, toName: string): Promise<{ entry: Entry; replacedFid: number | null }> {
    checkId('Entry id', id);
    checkInt('Parent id', toParentId, 0);
    validateName(toName);
    const { d, entries, queue } = this;
    return this.driver.write(function* () {
      const r = yield* get(`SELECT ${ENTRY_COLS} FROM entries WHERE id = ?${d.forUpdate}`, id);
      if (!r) throw notFound('No such file or directory');
      const e = toEntry(r);
      if (e.parentId === toParentId && e.name === toName) return { entry: e, replacedFid: null };
      yield* entries.parent(e.domainId, toParentId);
      if (e.kind === 'dir' && toParentId !== e.parentId) yield* notIntoItself(d, e, toParentId);
      const t = yield* get(
        `SELECT ${ENTRY_COLS} FROM entries WHERE domain_id = ? AND parent_id = ? AND name = ?${d.forUpdate}`,
        e.domainId, toParentId, toName,
      );
      let replacedFid: number | null = null;
      if (t) {
        const target = toEntry(t);
        if (e.kind !== 'file' || target.kind !== 'file') throw mogError(ErrorCodes.EXISTS, `"${toName}" already exists`);
        yield* run('DELETE FROM entries WHERE id = ?', target.id);
        yield* queue.dropFile(target.fid!);
        replacedFid = target.fid;
      }
      yield* run('UPDATE entries SET parent_id = ?, name = ? WHERE id = ?', toParentId, toName, id);
      return { entry: { ...e, parentId: toParentId, name: toName }, replacedFid };
    });
  }

  async setMtime(id: number, mtime: number): Promise<void> {
    checkTime('Modification time', mtime);
    // One statement: autocommit saves MySQL the START TRANSACTION and COMMIT round trips.
    return this.driver.auto(function* () {
      const { changes } = yield* run('UPDATE entries SET mtime = ? WHERE id = ?', mtime, id);
      if (changes === 0) throw notFound('No such file or directory');
    });
  }

  async setMode(id: number, mode: number): Promise<void> {
    checkMode(mode);
    // One statement: autocommit saves MySQL the START TRANSACTION and COMMIT round trips.
    return this.driver.auto(function* () {
      const { changes } = yield* run('UPDATE entries SET mode = ? WHERE id = ?', mode, id);
      if (changes === 0) throw notFound('No such file or directory');
    });
  }

  async usageUnder(domainId: number, dirId: number): Promise<number> {
    return this.driver.read(function* () {
      const r =
        dirId === ROOT_ID
          ? yield* get(`SELECT COALESCE(SUM(size), 0) AS total FROM entries WHERE domain_id = ? AND kind = 'file'`, domainId)
          : yield* get(
              // The walk of store/quota.ts (TREE_CTE: child lookups through the path index).
              `${TREE_CTE}
               SELECT COALESCE(SUM(e.size), 0) AS total FROM tree t CROSS JOIN entries e
               WHERE e.domain_id = ? AND e.parent_id = t.id AND e.kind = 'file'`,
              dirId, domainId, domainId, domainId,
            );
      return num(r?.total ?? 0);
    });
  }

  // --- classes on the directory tree (the SQL lives in classes-tree.ts) -------------------

  async setDirClass(entryId: number, classId: number | null): Promise<Entry> {
    checkId('Entry id', entryId);
    if (classId !== null) checkId('Class id', classId);
    const tree = this.classTree;
    return this.driver.write(function* () {
      yield* tree.setDirClass(entryId, classId);
      return toEntry((yield* get(`SELECT ${ENTRY_COLS} FROM entries WHERE id = ?`, entryId))!);
    });
  }

  async inheritedClass(domainId: number, dirId: number): Promise<InheritedClass> {
    checkId('Domain id', domainId);
    checkInt('Directory id', dirId, 0);
    return this.driver.read(() => this.classTree.inheritedClass(domainId, dirId));
  }

  async listDirClasses(domainId?: number): Promise<DirClass[]> {
    if (domainId !== undefined) checkId('Domain id', domainId);
    return this.driver.read(() => this.classTree.listDirClasses(domainId));
  }

  async setFileClass(fid: number, classId: number): Promise<boolean> {
    checkId('Fid', fid);
    checkId('Class id', classId);
    const { classTree: tree, queue } = this;
    return this.driver.write(function* () {
      const domainId = yield* tree.fileDomain(fid);
      yield* tree.lockClass(domainId, classId);
      const changed = yield* tree.setFilesClass(domainId, [fid], classId);
      // The replicate job compares the copies with the new class: it adds or trims them.
      for (const f of changed) yield* queue.enqueue('replicate', f, [], Date.now());
      return changed.length > 0;
    });
  }

  async setClassUnder(domainId: number, dirId: number, classId: number, afterFid: number, limit: number): Promise<{ fids: number[]; changed: number }> {
    checkId('Domain id', domainId);
    checkInt('Directory id', dirId, 0);
    checkId('Class id', classId);
    checkInt('Fid', afterFid, 0);
    checkLimit(limit);
    const { classTree: tree, queue } = this;
    return this.driver.write(function* () {
      yield* tree.lockClass(domainId, classId);
      const fids = yield* tree.fidsUnder(domainId, dirId, afterFid, limit);
      const changed = yield* tree.setFilesClass(domainId, fids, classId);
      const now = Date.now();
      for (const f of changed) yield* queue.enqueue('replicate', f, [], now);
      return { fids, changed: changed.length };
    });
  }
}

/**
 * Refuses to move directory `e` under itself: walks up from the target, share-locking each
 * ancestor, which stops a concurrent move from building a cycle with this one (one of the two
 * then deadlocks, retries and sees it).
 */
function* notIntoItself(d: Dialect, e: Entry, toParentId: number): Work<void> {
  let cur = toParentId;
  for (let depth = 0; cur !== ROOT_ID; depth++) {
    if (cur === e.id) throw mogError(ErrorCodes.INVALID_MOVE, `Cannot move directory "${e.name}" into itself`);
    if (depth > 100_000) throw mogError(ErrorCodes.INTERNAL, 'The directory tree has a cycle');
    const up = yield* get(`SELECT parent_id FROM entries WHERE id = ?${d.forShare}`, cur);
    if (!up) throw notFound('The target directory no longer exists');
    cur = num(up.parent_id);
  }
}
