// `mogftp admin host ...`: the machines that run storage nodes.
import type { Host, HostStatus } from '../../tracker/types.ts';
import { leaf, noun, requireHost, withStore } from './context.ts';
import { jsonOption, printList, say, type Column } from './output.ts';
import { parseObjectName, parsePort } from './values.ts';

const HOST_STATUSES: HostStatus[] = ['alive', 'down', 'dead'];

/** The stable JSON shape of a host. */
export function hostRecord(h: Host) {
  return { id: h.id, name: h.name, ip: h.address, port: h.httpPort, status: h.status };
}
type HostRecord = ReturnType<typeof hostRecord>;

const columns: Column<HostRecord>[] = [
  { header: 'ID', value: (h) => h.id },
  { header: 'NAME', value: (h) => h.name },
  { header: 'IP', value: (h) => h.ip },
  { header: 'PORT', value: (h) => h.port },
  { header: 'STATUS', value: (h) => h.status },
];

function describeHost(h: Host): string {
  return `host ${h.name} (id ${h.id}) ${h.address}:${h.httpPort} ${h.status}`;
}

const add = leaf<{ name: string; ip: string; port: string; status?: HostStatus }>({
  command: 'add <name>',
  describe: 'Add a host',
  builder: (y) =>
    y
      .positional('name', { type: 'string', describe: 'Host name' })
      .option('ip', { type: 'string', demandOption: true, describe: 'IP address or DNS name of its storage node' })
      .option('port', { type: 'string', demandOption: true, describe: "Its storage node's HTTP port" })
      .option('status', { choices: ['alive', 'down'], describe: 'Initial status (default alive)' }),
  handler: async (args) => {
    const name = parseObjectName('Host', args.name);
    const address = parseObjectName('--ip', args.ip);
    const httpPort = parsePort(args.port);
    await withStore(args, async (store) => {
      const h = await store.createHost({ name, address, httpPort, status: args.status });
      say(`Added ${describeHost(h)}`);
    });
  },
});

const list = leaf<{ json: boolean }>({
  command: 'list',
  describe: 'List hosts',
  builder: (y) => y.option('json', jsonOption),
  handler: async (args) => {
    await withStore(args, async (store) => {
      printList(args.json, (await store.listHosts()).map(hostRecord), columns);
    });
  },
});

const modify = leaf<{ name: string; ip?: string; port?: string; status?: HostStatus }>({
  command: 'modify <name>',
  describe: "Change a host's address, port or status",
  builder: (y) =>
    y
      .positional('name', { type: 'string' })
      .option('ip', { type: 'string', describe: 'New address' })
      .option('port', { type: 'string', describe: 'New HTTP port' })
      .option('status', { choices: HOST_STATUSES, describe: 'New status' }),
  handler: async (args) => {
    const changes = {
      ...(args.ip !== undefined && { address: parseObjectName('--ip', args.ip) }),
      ...(args.port !== undefined && { httpPort: parsePort(args.port) }),
      ...(args.status !== undefined && { status: args.status }),
    };
    await withStore(args, async (store) => {
      const h = await requireHost(store, args.name);
      say(`Updated ${describeHost(await store.updateHost(h.id, changes))}`);
    });
  },
});

const mark = leaf<{ name: string; status: HostStatus }>({
  command: 'mark <name> <status>',
  describe: 'Set a host status: alive, down or dead',
  builder: (y) => y.positional('name', { type: 'string' }).positional('status', { choices: HOST_STATUSES }),
  handler: async (args) => {
    await withStore(args, async (store) => {
      const h = await requireHost(store, args.name);
      say(`Marked ${describeHost(await store.updateHost(h.id, { status: args.status }))}`);
    });
  },
});

const remove = leaf<{ name: string }>({
  command: 'remove <name>',
  describe: 'Remove a host (its devices must be dead or removed first)',
  builder: (y) => y.positional('name', { type: 'string' }),
  handler: async (args) => {
    await withStore(args, async (store) => {
      const h = await requireHost(store, args.name);
      await store.removeHost(h.id);
      say(`Removed host ${h.name}`);
    });
  },
});

export const hostCommand = noun('host', 'Manage storage hosts', [add, list, modify, mark, remove]);
