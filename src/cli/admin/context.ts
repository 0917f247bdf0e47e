// Opening the store for one admin command, and the lookups every noun needs (name → row,
// with an error that names what was not found).
import type { Argv, CommandModule } from 'yargs';
import { mogError, ErrorCodes } from '../../errors.ts';
import { openStore } from '../../tracker/open.ts';
import { databaseUrl, type DbArgs } from '../shared-flags.ts';
import type { Store, Host, Domain, DeviceView, FileClass, User } from '../../tracker/types.ts';

/**
 * Runs `fn` with an open store and always closes it, so the process exits as soon as the
 * command is done. Refuses a database without a schema unless `init` is the caller.
 */
export async function withStore<T>(args: DbArgs, fn: (store: Store) => Promise<T>, opts: { init?: boolean } = {}): Promise<T> {
  const store = await openStore(databaseUrl(args), { createDatabase: opts.init === true });
  try {
    if (!opts.init && (await store.schemaVersion()) === 0)
      throw mogError(ErrorCodes.INVALID_ARGUMENT, "The database has no mogftp schema yet: run 'mogftp admin init' first");
    return await fn(store);
  } finally {
    await store.close();
  }
}

export async function requireHost(store: Store, name: string): Promise<Host> {
  const host = await store.getHost(name);
  if (!host) throw mogError(ErrorCodes.NOT_FOUND, `Unknown host "${name}"`);
  return host;
}

export async function requireDevice(store: Store, devid: number): Promise<DeviceView> {
  const dev = await store.getDevice(devid);
  if (!dev) throw mogError(ErrorCodes.NOT_FOUND, `Unknown device ${devid}`);
  return dev;
}

export async function requireDomain(store: Store, name: string): Promise<Domain> {
  const domain = await store.getDomain(name);
  if (!domain) throw mogError(ErrorCodes.NOT_FOUND, `Unknown domain "${name}"`);
  return domain;
}

export async function requireClass(store: Store, domain: Domain, name: string): Promise<FileClass> {
  const cls = await store.getClass(domain.id, name);
  if (!cls) throw mogError(ErrorCodes.NOT_FOUND, `Unknown class "${name}" in domain "${domain.name}"`);
  return cls;
}

export async function requireUser(store: Store, name: string): Promise<User> {
  const user = await store.getUser(name);
  if (!user) throw mogError(ErrorCodes.NOT_FOUND, `Unknown user "${name}"`);
  return user;
}

/**
 * One leaf command. The handler's argument type is declared by hand: @types/yargs can't
 * follow builders this dynamic, and every value is re-parsed by src/cli/admin/values.ts anyway.
 */
export function leaf<A>(def: {
  command: string;
  describe: string;
  builder?: (y: Argv) => Argv;
  handler: (args: A & DbArgs) => Promise<void>;
}): CommandModule {
  return {
    command: def.command,
    describe: def.describe,
    builder: def.builder ?? ((y: Argv) => y),
    handler: def.handler as unknown as CommandModule['handler'],
  };
}

/** A noun (host, device, ...) grouping its verbs; a verb is required. */
export function noun(command: string, describe: string, verbs: CommandModule[]): CommandModule {
  return {
    command,
    describe,
    builder: (y: Argv) => {
      for (const v of verbs) y = y.command(v);
      return y.demandCommand(1, `Name a ${command} subcommand; see 'mogftp admin ${command} --help'.`);
    },
    handler: () => {},
  };
}
