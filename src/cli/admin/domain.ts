// `mogftp admin domain ...`: namespaces; each user lives in one.
import type { Domain } from '../../tracker/types.ts';
import { leaf, noun, requireDomain, withStore } from './context.ts';
import { jsonOption, printList, say, type Column } from './output.ts';
import { parseObjectName } from './values.ts';

/** The stable JSON shape of a domain. */
export function domainRecord(d: Domain) {
  return { id: d.id, name: d.name };
}
type DomainRecord = ReturnType<typeof domainRecord>;

const columns: Column<DomainRecord>[] = [
  { header: 'ID', value: (d) => d.id },
  { header: 'NAME', value: (d) => d.name },
];

const add = leaf<{ name: string }>({
  command: 'add <name>',
  describe: "Add a domain (with its class 'default')",
  builder: (y) => y.positional('name', { type: 'string' }),
  handler: async (args) => {
    const name = parseObjectName('Domain', args.name);
    await withStore(args, async (store) => {
      const d = await store.createDomain(name);
      say(`Added domain ${d.name} (id ${d.id})`);
    });
  },
});

const list = leaf<{ json: boolean }>({
  command: 'list',
  describe: 'List domains',
  builder: (y) => y.option('json', jsonOption),
  handler: async (args) => {
    await withStore(args, async (store) => {
      printList(args.json, (await store.listDomains()).map(domainRecord), columns);
    });
  },
});

const remove = leaf<{ name: string }>({
  command: 'remove <name>',
  describe: 'Remove an empty domain and its classes',
  builder: (y) => y.positional('name', { type: 'string' }),
  handler: async (args) => {
    await withStore(args, async (store) => {
      const d = await requireDomain(store, args.name);
      await store.removeDomain(d.name);
      say(`Removed domain ${d.name}`);
    });
  },
});

export const domainCommand = noun('domain', 'Manage domains (namespaces)', [add, list, remove]);
