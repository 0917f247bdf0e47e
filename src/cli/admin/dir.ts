// `mogftp admin dir ...`: classes on the directory tree. A directory's class is the class of
// every file created under it (FTP, WebDAV, any door), unless a nearer directory sets another;
// files already there keep theirs until `admin file set-class --recursive` moves them.
import { mogError, ErrorCodes } from '../../errors.ts';
import { joinComponents, resolvePathComponents } from '../../tracker/names.ts';
import type { DirClass, Domain, Entry, Store } from '../../tracker/types.ts';
import { leaf, noun, requireClass, withStore } from './context.ts';
import { describeInherited, pickDomain } from './file.ts';
import { jsonOption, printList, say, type Column } from './output.ts';

/** The directory at `path`, with the entries on the way to it (root side first). */
async function requireDir(store: Store, domain: Domain, path: string): Promise<{ dir: Entry; chain: Entry[]; names: string[] }> {
  const names = resolvePathComponents([], path);
  const shown = joinComponents(names);
  if (names.length === 0)
    throw mogError(
      ErrorCodes.INVALID_ARGUMENT,
      `The root's class is the domain's "default" class: change that with 'mogftp admin class modify ${domain.name} default', or set a class on a directory below the root`,
    );
  const chain = await store.walkPath(domain.id, names);
  if (chain.length < names.length) throw mogError(ErrorCodes.NOT_FOUND, `No such directory: ${shown} in domain ${domain.name}`);
  const dir = chain[chain.length - 1]!;
  if (dir.kind !== 'dir') throw mogError(ErrorCodes.NOT_A_DIRECTORY, `${shown} is a file: a file's class is set with 'mogftp admin file set-class'`);
  return { dir, chain, names };
}

const setClass = leaf<{ path: string; class?: string; clear: boolean; domain?: string }>({
  command: 'set-class <path> [class]',
  describe: 'Set the class of the files created under a directory from now on (--clear: inherit again)',
  builder: (y) =>
    y
      .positional('path', { type: 'string', describe: 'Absolute path of a directory inside the domain, e.g. /archive' })
      .positional('class', { type: 'string', describe: 'A class of the domain (see admin class list)' })
      .option('clear', { type: 'boolean', default: false, describe: 'Remove the directory\'s class: it inherits its parent\'s again' })
      .option('domain', { type: 'string', describe: 'The domain (default: the only one)' }),
  handler: async (args) => {
    if (args.clear === (args.class !== undefined))
      throw mogError(ErrorCodes.INVALID_ARGUMENT, 'Name a class, or pass --clear to remove the directory\'s class (not both)');
    await withStore(args, async (store) => {
      const domain = await pickDomain(store, args.domain);
      const { dir, names } = await requireDir(store, domain, String(args.path));
      const cls = args.class === undefined ? null : await requireClass(store, domain, String(args.class));
      await store.setDirClass(dir.id, cls?.id ?? null);
      const path = joinComponents(names);
      const now = await describeInherited(store, await store.walkPath(domain.id, names), names);
      say(
        cls
          ? `New files under ${path} (domain ${domain.name}) get class ${cls.name} (mindevcount ${cls.mindevcount})`
          : `${path} (domain ${domain.name}) has no class of its own now: new files under it get class ${now.name}${now.from ? ` (set on ${now.from})` : ' (the domain default)'}`,
      );
      say(`Files already there keep theirs; to move them: mogftp admin file set-class ${path} ${now.name} --recursive`);
    });
  },
});

const clearClass = leaf<{ path: string; domain?: string }>({
  command: 'clear-class <path>',
  describe: 'Remove a directory\'s class: what is created under it inherits its parent\'s again',
  builder: (y) =>
    y
      .positional('path', { type: 'string', describe: 'Absolute path of a directory inside the domain' })
      .option('domain', { type: 'string', describe: 'The domain (default: the only one)' }),
  handler: async (args) => {
    await withStore(args, async (store) => {
      const domain = await pickDomain(store, args.domain);
      const { dir, names } = await requireDir(store, domain, String(args.path));
      await store.setDirClass(dir.id, null);
      const now = await describeInherited(store, await store.walkPath(domain.id, names), names);
      say(`${joinComponents(names)} has no class of its own now: new files under it get class ${now.name}${now.from ? ` (set on ${now.from})` : ' (the domain default)'}`);
    });
  },
});

type Row = { domain: string; path: string; class: string };
const columns: Column<Row>[] = [
  { header: 'DOMAIN', value: (r) => r.domain },
  { header: 'PATH', value: (r) => r.path },
  { header: 'CLASS', value: (r) => r.class },
];

const listClasses = leaf<{ domain?: string; json: boolean }>({
  command: 'list-classes',
  describe: 'List the directories that set a class for what is created under them',
  builder: (y) => y.option('domain', { type: 'string', describe: 'Only this domain' }).option('json', jsonOption),
  handler: async (args) => {
    await withStore(args, async (store) => {
      const domains = await store.listDomains();
      const names = new Map(domains.map((d) => [d.id, d.name]));
      let only: number | undefined;
      if (args.domain !== undefined) {
        only = domains.find((d) => d.name === args.domain)?.id;
        if (only === undefined) throw mogError(ErrorCodes.NOT_FOUND, `Unknown domain "${args.domain}"`);
      }
      const rows = (await store.listDirClasses(only)).map((c: DirClass) => ({ domain: names.get(c.domainId) ?? String(c.domainId), path: c.path, class: c.className }));
      printList(args.json, rows, columns);
    });
  },
});

export const dirCommand = noun('dir', 'Classes of directories: what files created under them get', [setClass, clearClass, listClasses]);
