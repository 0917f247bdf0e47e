// list_keys in MogileFS's order: the keys as byte strings, sorted, after `after` (exclusive),
// starting with `prefix`, at most `limit`. MogileFS::Store does it in one query
// (`SELECT dkey FROM file WHERE dmid = ? AND dkey LIKE 'prefix%' AND dkey > after ORDER BY dkey
// LIMIT n`); here keys are a directory tree, so the order is made while walking it:
//
// - Every key below directory `a` starts with `a/`, so among one directory's entries a
//   subdirectory sorts as its name plus '/', a file as its name. Visiting the entries by that sort
//   key, and each directory's keys where it falls, yields the keys in byte order. The store lists
//   a directory by name, which differs only where a name starts with a directory's name followed
//   by a byte below '/' (`a-c` and `a.d` come before `a/b`): such a directory waits on a small
//   stack (each waiting name a prefix of the next, so at most 255 deep) until an entry that sorts
//   after it comes.
// - A directory is entered only when some of its keys can be wanted (they can start with the
//   prefix and are not all at or before `after`), and a directory's listing starts at the first
//   name that can hold a wanted key, so a page costs about what it returns, not the tree.
// - Escaped keys (/.mogilefs-keys, keys.ts) have names that do not sort like their keys: all of
//   them whose base64 form can start with the prefix's are decoded, the `limit` smallest wanted
//   ones kept (bounded memory), and merged in. Their cost is paid by every page.
import { ROOT_ID, type Entry, type Namespace } from '../tracker/types.ts';
import { ESCAPED_KEYS_DIR, keyOfNames } from './keys.ts';

type ListStore = Pick<Namespace, 'lookup' | 'listDir' | 'walkPath'>;

interface Listing {
  store: ListStore;
  domainId: number;
  prefix: Buffer;
  /** Keys must sort after this one; null: no lower bound but the prefix. */
  after: Buffer | null;
}

const PAGE = 256;
const SLASH = Buffer.from('/');
const BASE64URL = /^[A-Za-z0-9_-]*$/;

const startsWith = (b: Buffer, head: Buffer) => b.length >= head.length && b.subarray(0, head.length).equals(head);
/** Whether one of the two is a prefix of the other. */
const compatible = (a: Buffer, b: Buffer) => {
  const n = Math.min(a.length, b.length);
  return a.subarray(0, n).equals(b.subarray(0, n));
};

/** Up to `limit` keys of the domain in byte order, starting with `prefix`, after `after`. */
export async function listKeysSorted(store: ListStore, domainId: number, prefix: Buffer, after: Buffer | null, limit: number): Promise<Buffer[]> {
  const l: Listing = { store, domainId, prefix, after: after && after.length > 0 ? after : null };
  const escaped = await smallestEscaped(l, limit);
  const out: Buffer[] = [];
  let i = 0;
  for await (const key of sortedKeys(l, ROOT_ID, Buffer.alloc(0))) {
    if (!wanted(l, key)) continue;
    for (; i < escaped.length && out.length < limit; i++) {
      const order = Buffer.compare(escaped[i]!, key);
      if (order > 0) break;
      if (order < 0) out.push(escaped[i]!); // equal: one key at two places; listed once
    }
    if (out.length >= limit) return out;
    out.push(key);
    if (out.length >= limit) return out;
  }
  for (; i < escaped.length && out.length < limit; i++) out.push(escaped[i]!);
  return out;
}

function wanted(l: Listing, key: Buffer): boolean {
  return startsWith(key, l.prefix) && (l.after === null || Buffer.compare(key, l.after) > 0);
}

/** Whether the keys below a directory (all starting with `dirKey`, which ends in '/') can be wanted. */
function mayHoldWanted(l: Listing, dirKey: Buffer): boolean {
  if (!compatible(dirKey, l.prefix)) return false;
  // All at or before `after`: it sorts at or past the directory and is not inside it.
  return l.after === null || Buffer.compare(l.after, dirKey) < 0 || startsWith(l.after, dirKey);
}

/** Where a directory's listing starts: the entry named `name` (if any), then the names after `after`. */
interface Start {
  name: string;
  after: string;
}

/**
 * The first name in the directory whose keys all start with `dirKey` that can hold a wanted key
 * (null: from the start). For the lower bound X and its first component below the directory r0,
 * a name before r0 holds wanted keys only if it is a directory whose name is a prefix of r0
 * followed in r0 by a byte below '/': so the listing starts at r0 cut before its first such byte.
 * When X goes on below r0 (r0 + '/' + ...), the names r0 + (a byte below '/') + ... sort before
 * r0's keys and so before X: after r0 itself the listing goes on after r0 + '/'.
 */
function firstName(l: Listing, dirKey: Buffer): Start | null {
  const bound = l.after !== null && Buffer.compare(l.after, l.prefix) >= 0 ? l.after : l.prefix;
  if (!startsWith(bound, dirKey)) return null; // the bound is before this directory (its parent checked)
  const rest = bound.subarray(dirKey.length);
  const slash = rest.indexOf(0x2f);
  let first = slash < 0 ? rest : rest.subarray(0, slash);
  const low = first.findIndex((b, j) => j > 0 && b < 0x2f);
  if (low > 0) first = first.subarray(0, low);
  // A shorter bound is as safe: names are UTF-8, so cut at the first byte that is not.
  let text = first.toString('utf8');
  const bad = text.indexOf('\uFFFD');
  if (bad >= 0) text = text.slice(0, bad);
  if (text === '') return null;
  const whole = low < 0 && bad < 0 && slash >= 0; // text is all of r0, and X goes below it
  return { name: text, after: whole ? `${text}/` : text };
}

/** A directory's entries by name from `start` (null: all of them), page by page. */
async function* entriesFrom(l: Listing, dirId: number, start: Start | null): AsyncGenerator<Entry> {
  let after: string | undefined;
  if (start !== null) {
    const exact = await l.store.lookup(l.domainId, dirId, start.name);
    if (exact) yield exact;
    after = start.after;
  }
  for (;;) {
    const page = await l.store.listDir(l.domainId, dirId, { after, limit: PAGE });
    yield* page;
    if (page.length < PAGE) return;
    after = page[page.length - 1]!.name;
  }
}

/** The keys below a directory (each starting with `dirKey`) in byte order; the root leaves out the escaped keys. */
async function* sortedKeys(l: Listing, dirId: number, dirKey: Buffer): AsyncGenerator<Buffer> {
  const waiting: Array<{ id: number; key: Buffer }> = []; // directories by name + '/', smallest on top
  const enter = (d: { id: number; key: Buffer }) => (mayHoldWanted(l, d.key) ? sortedKeys(l, d.id, d.key) : none());
  for await (const e of entriesFrom(l, dirId, firstName(l, dirKey))) {
    if (dirId === ROOT_ID && e.kind === 'dir' && e.name === ESCAPED_KEYS_DIR) continue;
    const full = Buffer.concat([dirKey, Buffer.from(e.name, 'utf8')]);
    // Past the prefix: every later name sorts after it too.
    if (l.prefix.length > 0 && Buffer.compare(full, l.prefix) > 0 && !startsWith(full, l.prefix)) break;
    const sortKey = e.kind === 'dir' ? Buffer.concat([full, SLASH]) : full;
    while (waiting.length > 0 && Buffer.compare(waiting[waiting.length - 1]!.key, sortKey) < 0) yield* enter(waiting.pop()!);
    if (e.kind === 'dir') waiting.push({ id: e.id, key: sortKey });
    else yield full;
  }
  while (waiting.length > 0) yield* enter(waiting.pop()!);
}

async function* none(): AsyncGenerator<Buffer> {}

/**
 * The `limit` smallest wanted escaped keys, sorted. Their names are base64url of the key, cut in
 * directories of 200 characters: only directories that agree with the base64 of the prefix's
 * whole 3-byte groups are entered; every file there is decoded and compared.
 */
async function smallestEscaped(l: Listing, limit: number): Promise<Buffer[]> {
  const top = await l.store.walkPath(l.domainId, [ESCAPED_KEYS_DIR]);
  if (top.length !== 1 || top[0]!.kind !== 'dir') return [];
  const head = l.prefix.subarray(0, l.prefix.length - (l.prefix.length % 3)).toString('base64url');
  const kept: Buffer[] = [];
  const keep = (key: Buffer) => {
    let lo = 0;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (Buffer.compare(kept[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= limit || kept[lo]?.equals(key)) return;
    kept.splice(lo, 0, key);
    if (kept.length > limit) kept.pop();
  };
  const visit = async (dirId: number, names: string[]): Promise<void> => {
    for await (const e of entriesFrom(l, dirId, null)) {
      const below = [...names, e.name];
      if (e.kind !== 'dir') {
        const key = keyOfNames([ESCAPED_KEYS_DIR, ...below]);
        if (wanted(l, key)) keep(key);
        continue;
      }
      // A directory of base64 text that disagrees with the prefix's holds no wanted key.
      const text = below.join('');
      if (BASE64URL.test(text) && !compatible(Buffer.from(text), Buffer.from(head))) continue;
      await visit(e.id, below);
    }
  };
  await visit(top[0]!.id, []);
  return kept;
}
