// `mogftp admin lock ...`: the WebDAV locks every door honours (src/vfs/locks.ts). A client that
// crashed while holding one leaves it until it times out, and FTP users cannot write there
// meanwhile: `list` shows who holds what, `clear` removes a lock for good (its holder's next
// write with the token is refused 412, as for an expired lock).
import { mogError, ErrorCodes } from '../../errors.ts';
import { resolvePathComponents } from '../../tracker/names.ts';
import type { DavLock, Domain, Store } from '../../tracker/types.ts';
import { leaf, noun, requireDomain, withStore } from './context.ts';
import { formatTime, jsonOption, printList, say, type Column } from './output.ts';

/** The stable JSON shape of a lock. */
export function lockRecord(domain: Domain, l: DavLock) {
  return {
    domain: domain.name,
    token: l.token,
    path: l.path,
    owner: l.owner,
    principal: l.principal,
    depth: l.depth,
    scope: l.scope,
    expiresAt: new Date(l.expiresAt).toISOString(),
  };
}
type LockRecord = ReturnType<typeof lockRecord>;

const columns: Column<LockRecord>[] = [
  { header: 'DOMAIN', value: (r) => r.domain },
  { header: 'PATH', value: (r) => r.path },
  { header: 'PRINCIPAL', value: (r) => r.principal },
  { header: 'DEPTH', value: (r) => r.depth },
  { header: 'SCOPE', value: (r) => r.scope },
  { header: 'EXPIRES', value: (r) => formatTime(Date.parse(r.expiresAt)) },
  { header: 'TOKEN', value: (r) => r.token },
  // The client's DAV:owner XML, on one line and cut short: often a URL or an e-mail address.
  { header: 'OWNER', value: (r) => (r.owner === null ? null : oneLine(r.owner)) },
];

const domainOption = { type: 'string', describe: 'Only this domain (default: every domain)' } as const;

/** The domains named by --domain, or all of them. */
async function domainsOf(store: Store, name: string | undefined): Promise<Domain[]> {
  return name === undefined ? store.listDomains() : [await requireDomain(store, name)];
}

/** A domain path as locks store it: '/' or '/a/b', without dot segments or a trailing slash. */
function lockPath(path: string): string {
  if (!path.startsWith('/')) throw mogError(ErrorCodes.INVALID_ARGUMENT, `--path ${JSON.stringify(path)} must be absolute (from the domain's root), like /a/b`);
  return '/' + resolvePathComponents([], path).join('/');
}

const list = leaf<{ domain?: string; json: boolean }>({
  command: 'list',
  describe: 'List the active WebDAV locks (token, path, owner, principal, depth, scope, expiry)',
  builder: (y) => y.option('domain', domainOption).option('json', jsonOption),
  handler: async (args) => {
    await withStore(args, async (store) => {
      const now = Date.now();
      const rows: LockRecord[] = [];
      for (const d of await domainsOf(store, args.domain)) {
        for (const l of await store.davLocksAt(d.id, '/', { descendants: true, now })) rows.push(lockRecord(d, l));
      }
      printList(args.json, rows, columns);
    });
  },
});

const clear = leaf<{ token?: string; path?: string; recursive: boolean; all: boolean; domain?: string }>({
  command: 'clear [token]',
  describe: 'Remove a lock by its token, the locks on --path (and below it with --recursive), or --all',
  builder: (y) =>
    y
      .positional('token', { type: 'string', describe: 'The lock token, e.g. opaquelocktoken:…' })
      .option('path', { type: 'string', describe: "Remove the locks rooted at this path (from the domain's root)" })
      .option('recursive', { type: 'boolean', default: false, describe: 'With --path: the locks below it too' })
      .option('all', { type: 'boolean', default: false, describe: 'Remove every lock (of --domain, or of every domain)' })
      .option('domain', { type: 'string', describe: 'The domain of --path or --all (needed for --path when there are several)' }),
  handler: async (args) => {
    const ways = [args.token !== undefined, args.path !== undefined, args.all].filter(Boolean).length;
    if (ways !== 1) throw mogError(ErrorCodes.INVALID_ARGUMENT, 'Name what to clear: a lock TOKEN, --path PATH [--recursive] or --all');
    if (args.recursive && args.path === undefined) throw mogError(ErrorCodes.INVALID_ARGUMENT, '--recursive goes with --path');
    await withStore(args, async (store) => {
      if (args.token !== undefined) {
        if (!(await store.removeDavLock(args.token))) throw mogError(ErrorCodes.NOT_FOUND, `No lock has the token ${args.token}`);
        return say(`Removed lock ${args.token}`);
      }
      if (args.all) {
        let n = 0;
        for (const d of await domainsOf(store, args.domain)) n += await store.removeDavLocksUnder(d.id, '/');
        return say(`Removed ${n} lock${n === 1 ? '' : 's'}`);
      }
      const path = lockPath(args.path!);
      const domains = await domainsOf(store, args.domain);
      if (domains.length !== 1) throw mogError(ErrorCodes.INVALID_ARGUMENT, 'There are several domains: name the one of --path with --domain');
      const d = domains[0]!;
      let n: number;
      if (args.recursive) n = await store.removeDavLocksUnder(d.id, path);
      else {
        n = 0;
        // Expired locks are gone for every purpose already; the active ones rooted exactly here go.
        for (const l of await store.davLocksAt(d.id, path, { descendants: false, now: Date.now() }))
          if (l.path === path && (await store.removeDavLock(l.token))) n++;
      }
      say(`Removed ${n} lock${n === 1 ? '' : 's'} on ${path}${args.recursive ? ' and below' : ''} in domain ${d.name}`);
    });
  },
});

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 60 ? flat.slice(0, 59) + '…' : flat;
}

export const lockCommand = noun('lock', 'List and remove WebDAV locks (which FTP writes honour too)', [list, clear]);
