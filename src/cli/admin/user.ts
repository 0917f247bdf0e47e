// `mogftp admin user ...`: FTP accounts. Passwords are stored only as scrypt hashes and never printed.
import { hashPassword } from '../../tracker/passwords.ts';
import type { User } from '../../tracker/types.ts';
import { leaf, noun, requireDomain, requireUser, withStore } from './context.ts';
import { jsonOption, printList, say, type Column } from './output.ts';
import { passwordFromArgs } from './secrets.ts';
import { keyCommand } from './user-keys.ts';
import { parseBooleanArg, parseHomeDir, parseObjectName, parseSize } from './values.ts';

/** The stable JSON shape of a user: deliberately without the password hash. */
export function userRecord(u: User, domainName: string) {
  return { id: u.id, name: u.name, domain: domainName, home: u.homeDir, readOnly: u.readOnly, quotaBytes: u.quotaBytes };
}
type UserRecord = ReturnType<typeof userRecord>;

const columns: Column<UserRecord>[] = [
  { header: 'NAME', value: (u) => u.name },
  { header: 'DOMAIN', value: (u) => u.domain },
  { header: 'HOME', value: (u) => u.home },
  { header: 'ACCESS', value: (u) => (u.readOnly ? 'read-only' : 'read-write') },
  { header: 'QUOTA_BYTES', value: (u) => u.quotaBytes },
];

const passwordOptions = {
  password: { type: 'string', describe: 'The password (visible to ps; prefer --password-stdin)' },
  'password-stdin': { type: 'boolean', describe: 'Read the password from stdin' },
} as const;

const add = leaf<{ name: string; password?: string; passwordStdin?: boolean; domain: string; home: string; readOnly: boolean; quota?: string }>({
  command: 'add <name>',
  describe: 'Add an FTP user',
  builder: (y) =>
    y
      .positional('name', { type: 'string' })
      .options(passwordOptions)
      .option('domain', { type: 'string', default: 'default', describe: 'The domain the user sees' })
      .option('home', { type: 'string', default: '/', describe: "The user's root directory inside the domain" })
      .option('read-only', { type: 'boolean', default: false, describe: 'Allow downloads and listings only' })
      .option('quota', { type: 'string', describe: 'Byte limit under the home directory (e.g. 500M, 10G)' }),
  handler: async (args) => {
    const name = parseObjectName('User', args.name);
    const homeDir = parseHomeDir(args.home);
    const quotaBytes = args.quota === undefined ? null : parseSize(args.quota);
    const passwordHash = await hashPassword(await passwordFromArgs(args));
    await withStore(args, async (store) => {
      const d = await requireDomain(store, args.domain);
      const u = await store.createUser({ name, passwordHash, domainId: d.id, homeDir, readOnly: args.readOnly, quotaBytes });
      say(`Added user ${u.name} (domain ${d.name}, home ${u.homeDir}${u.readOnly ? ', read-only' : ''})`);
    });
  },
});

const list = leaf<{ json: boolean }>({
  command: 'list',
  describe: 'List users (never their passwords)',
  builder: (y) => y.option('json', jsonOption),
  handler: async (args) => {
    await withStore(args, async (store) => {
      const names = new Map((await store.listDomains()).map((d) => [d.id, d.name]));
      const records = (await store.listUsers()).map((u) => userRecord(u, names.get(u.domainId) ?? String(u.domainId)));
      printList(args.json, records, columns);
    });
  },
});

const passwd = leaf<{ name: string; password?: string; passwordStdin?: boolean }>({
  command: 'passwd <name>',
  describe: "Set a user's password",
  builder: (y) => y.positional('name', { type: 'string' }).options(passwordOptions),
  handler: async (args) => {
    const passwordHash = await hashPassword(await passwordFromArgs(args));
    await withStore(args, async (store) => {
      await requireUser(store, args.name);
      await store.updateUser(args.name, { passwordHash });
      say(`Password changed for user ${args.name}`);
    });
  },
});

const modify = leaf<{ name: string; home?: string; readOnly?: unknown; quota?: string; domain?: string }>({
  command: 'modify <name>',
  describe: "Change a user's home, access, quota or domain",
  builder: (y) =>
    y
      .positional('name', { type: 'string' })
      .option('home', { type: 'string', describe: 'New root directory inside the domain' })
      .option('read-only', { type: 'boolean', describe: 'true or false' })
      .option('quota', { type: 'string', describe: 'New byte limit (e.g. 10G), or "none"' })
      .option('domain', { type: 'string', describe: 'Move the user to another domain' }),
  handler: async (args) => {
    const changes = {
      ...(args.home !== undefined && { homeDir: parseHomeDir(args.home) }),
      ...(args.readOnly !== undefined && { readOnly: parseBooleanArg('--read-only', args.readOnly) }),
      ...(args.quota !== undefined && { quotaBytes: parseSize(args.quota) }),
    };
    await withStore(args, async (store) => {
      await requireUser(store, args.name);
      const domainId = args.domain === undefined ? undefined : (await requireDomain(store, args.domain)).id;
      const u = await store.updateUser(args.name, { ...changes, ...(domainId !== undefined && { domainId }) });
      say(`Updated user ${u.name} (home ${u.homeDir}${u.readOnly ? ', read-only' : ''}, quota ${u.quotaBytes ?? 'none'})`);
    });
  },
});

const remove = leaf<{ name: string }>({
  command: 'remove <name>',
  describe: 'Remove a user (their files stay in the domain)',
  builder: (y) => y.positional('name', { type: 'string' }),
  handler: async (args) => {
    await withStore(args, async (store) => {
      await requireUser(store, args.name);
      await store.removeUser(args.name);
      say(`Removed user ${args.name}`);
    });
  },
});

export const userCommand = noun('user', 'Manage users and their SSH keys', [add, list, passwd, modify, remove, keyCommand]);
