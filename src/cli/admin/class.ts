// `mogftp admin class ...`: per-domain replication policies (replica count, write quorum, checksum).
import { queueClassForReplication } from '../../jobs/class-change.ts';
import type { ChecksumAlg, Domain, FileClass } from '../../tracker/types.ts';
import { leaf, noun, requireClass, requireDomain, withStore } from './context.ts';
import { jsonOption, printList, say, type Column } from './output.ts';
import { checkClassPolicy } from './rules.ts';
import { parseIntegerArg, parseObjectName } from './values.ts';

const CHECKSUMS: ChecksumAlg[] = ['sha256', 'md5', 'none'];

/** The stable JSON shape of a class. */
export function classRecord(c: FileClass, domainName: string) {
  return { id: c.id, domain: domainName, name: c.name, mindevcount: c.mindevcount, writeQuorum: c.writeQuorum, checksum: c.checksum };
}
type ClassRecord = ReturnType<typeof classRecord>;

const columns: Column<ClassRecord>[] = [
  { header: 'DOMAIN', value: (c) => c.domain },
  { header: 'CLASS', value: (c) => c.name },
  { header: 'MINDEVCOUNT', value: (c) => c.mindevcount },
  { header: 'WRITE_QUORUM', value: (c) => c.writeQuorum },
  { header: 'CHECKSUM', value: (c) => c.checksum },
];

function describeClass(c: FileClass, d: Domain): string {
  return `class ${c.name} in domain ${d.name}: mindevcount ${c.mindevcount}, write quorum ${c.writeQuorum}, checksum ${c.checksum}`;
}

/** A count flag as the operator typed it; 0 passes parsing so the policy check can explain it. */
function parseCount(flag: string, raw: string | undefined): number | undefined {
  return raw === undefined ? undefined : parseIntegerArg(flag, raw, 0);
}

interface PolicyArgs {
  mindevcount?: string;
  writeQuorum?: string;
  checksum?: ChecksumAlg;
}

const add = leaf<{ domain: string; name: string } & PolicyArgs>({
  command: 'add <domain> <name>',
  describe: 'Add a class to a domain',
  builder: (y) =>
    y
      .positional('domain', { type: 'string' })
      .positional('name', { type: 'string' })
      .option('mindevcount', { type: 'string', demandOption: true, describe: 'Replicas to keep of every file' })
      .option('write-quorum', { type: 'string', describe: 'Replicas that must be written before an upload succeeds (1..mindevcount)' })
      .option('checksum', { choices: CHECKSUMS, describe: 'Checksum algorithm (default sha256)' }),
  handler: async (args) => {
    const name = parseObjectName('Class', args.name);
    const mindevcount = parseCount('--mindevcount', args.mindevcount)!;
    const writeQuorum = parseCount('--write-quorum', args.writeQuorum);
    checkClassPolicy(mindevcount, writeQuorum);
    await withStore(args, async (store) => {
      const d = await requireDomain(store, args.domain);
      const c = await store.createClass(d.id, name, { mindevcount, writeQuorum, checksum: args.checksum });
      say(`Added ${describeClass(c, d)}`);
    });
  },
});

const list = leaf<{ domain?: string; json: boolean }>({
  command: 'list [domain]',
  describe: 'List classes, of one domain or all',
  builder: (y) => y.positional('domain', { type: 'string' }).option('json', jsonOption),
  handler: async (args) => {
    await withStore(args, async (store) => {
      const domains = args.domain === undefined ? await store.listDomains() : [await requireDomain(store, args.domain)];
      const names = new Map(domains.map((d) => [d.id, d.name]));
      const classes = await store.listClasses(args.domain === undefined ? undefined : domains[0]!.id);
      const records = classes.map((c) => classRecord(c, names.get(c.domainId) ?? String(c.domainId)));
      printList(args.json, records, columns);
    });
  },
});

const modify = leaf<{ domain: string; name: string } & PolicyArgs>({
  command: 'modify <domain> <name>',
  describe: "Change a class's replica count, write quorum or checksum",
  builder: (y) =>
    y
      .positional('domain', { type: 'string' })
      .positional('name', { type: 'string' })
      .option('mindevcount', { type: 'string', describe: 'Replicas to keep of every file' })
      .option('write-quorum', {
        type: 'string',
        describe: 'Replicas written before an upload succeeds; unchanged unless given (lowered with a --mindevcount below it)',
      })
      .option('checksum', { choices: CHECKSUMS, describe: 'Checksum algorithm for new files' }),
  handler: async (args) => {
    const mindevcount = parseCount('--mindevcount', args.mindevcount);
    const writeQuorum = parseCount('--write-quorum', args.writeQuorum);
    await withStore(args, async (store) => {
      const d = await requireDomain(store, args.domain);
      const c = await requireClass(store, d, args.name);
      const plan = planQuorum(c, mindevcount, writeQuorum);
      // Check the policy the class would end up with, not just the flags given.
      checkClassPolicy(mindevcount ?? c.mindevcount, plan.writeQuorum);
      const updated = await store.updateClass(c.id, {
        ...(mindevcount !== undefined && { mindevcount }),
        // Always explicit: the store would otherwise let a quorum equal to mindevcount follow it up.
        writeQuorum: plan.writeQuorum,
        ...(args.checksum !== undefined && { checksum: args.checksum }),
      });
      say(`Updated ${describeClass(updated, d)}`);
      if (plan.note) say(plan.note);
      if (updated.mindevcount !== c.mindevcount) {
        // Every file of the class now has too few or too many copies: the jobs settle each one.
        const n = await queueClassForReplication(store, c.id);
        say(`Queued ${n} file(s) for replication to ${updated.mindevcount} cop${updated.mindevcount === 1 ? 'y' : 'ies'}`);
      }
    });
  },
});

/**
 * The write quorum `class modify` asks for, and what to tell the operator about it. The quorum
 * changes only when asked (--write-quorum), or when a lower mindevcount leaves no room for it: an
 * upload can't wait for more copies than the class keeps, so it comes down with mindevcount. It
 * is never raised on its own: a quorum equal to mindevcount that followed it up would make every
 * upload wait for every host.
 */
export function planQuorum(c: FileClass, mindevcount: number | undefined, writeQuorum: number | undefined): { writeQuorum: number; note: string | null } {
  if (writeQuorum !== undefined) return { writeQuorum, note: null };
  if (mindevcount === undefined || mindevcount === c.mindevcount) return { writeQuorum: c.writeQuorum, note: null };
  if (mindevcount < c.writeQuorum)
    return {
      writeQuorum: mindevcount,
      note: `Write quorum lowered from ${c.writeQuorum} to ${mindevcount} with mindevcount (it can't exceed it); pass --write-quorum to choose another`,
    };
  if (mindevcount > c.mindevcount)
    return { writeQuorum: c.writeQuorum, note: `Write quorum stays ${c.writeQuorum}; pass --write-quorum to raise it` };
  return { writeQuorum: c.writeQuorum, note: null };
}

const remove = leaf<{ domain: string; name: string }>({
  command: 'remove <domain> <name>',
  describe: 'Remove a class no file uses',
  builder: (y) => y.positional('domain', { type: 'string' }).positional('name', { type: 'string' }),
  handler: async (args) => {
    await withStore(args, async (store) => {
      const d = await requireDomain(store, args.domain);
      const c = await requireClass(store, d, args.name);
      await store.removeClass(c.id);
      say(`Removed class ${c.name} from domain ${d.name}`);
    });
  },
});

export const classCommand = noun('class', 'Manage file classes (replication policies)', [add, list, modify, remove]);
