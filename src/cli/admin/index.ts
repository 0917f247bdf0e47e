// `mogftp admin ...`: the operator's commands (MogileFS's mogadm): init, host, device, domain,
// class, user; file, stats, fsck and rebalance to inspect and repair. Each verb parses its
// flags, calls the store, and prints; the verbs are the other modules in this folder.
import type { Argv, CommandModule } from 'yargs';
import { configurable } from '../../config/cli.ts';
import { mogError, ErrorCodes } from '../../errors.ts';

// Each verb's module is imported only when that verb runs (or all, for help and mistakes):
// `admin domain list` should not load got for rebalance or prom-client for orphans. The order
// is the order `mogftp admin --help` lists them in.
type Loader = () => Promise<CommandModule<any, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any -- as in main.ts: each verb has its own args type
const VERBS: Record<string, Loader> = {
  init: async () => (await import('./init.ts')).initCommand,
  host: async () => (await import('./host.ts')).hostCommand,
  device: async () => (await import('./device.ts')).deviceCommand,
  domain: async () => (await import('./domain.ts')).domainCommand,
  class: async () => (await import('./class.ts')).classCommand,
  user: async () => (await import('./user.ts')).userCommand,
  login: async () => (await import('./login.ts')).loginCommand,
  lock: async () => (await import('./lock.ts')).lockCommand,
  file: async () => (await import('./file.ts')).fileCommand,
  dir: async () => (await import('./dir.ts')).dirCommand,
  stats: async () => (await import('./stats.ts')).statsCommand,
  fsck: async () => (await import('./fsck.ts')).fsckCommand,
  rebalance: async () => (await import('./rebalance.ts')).rebalanceCommand,
  orphans: async () => (await import('./orphans.ts')).orphansCommand,
  'storage-key': async () => (await import('./storage-key.ts')).storageKeyCommand,
  import: async () => (await import('./import.ts')).importCommand,
};

/** The flags `admin` itself takes that are followed by a value (so that value is no verb). */
const VALUE_FLAGS = new Set(['--db', '--config', '--db-password-file', '--storage-key-file', '--storage-token']);

/**
 * The verb `args` (what follows `admin`) names: its first word that is neither a flag nor a
 * flag's value. Undefined when that word is no verb, or there is none: then every verb is
 * loaded, so that help, "Did you mean" and errors read as before.
 */
function namedVerb(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return undefined;
    if (a.startsWith('-')) {
      if (VALUE_FLAGS.has(a)) i++;
      continue;
    }
    return Object.hasOwn(VERBS, a) ? a : undefined;
  }
  return undefined;
}

/**
 * yargs validation failures (missing flag, bad choice, unknown verb) become one MogError, which
 * main.ts prints as a single line with a nonzero exit; handler errors pass through untouched.
 */
function failOnOneLine(msg: string | null, err: Error | undefined): never {
  if (err) throw err;
  let text = (msg ?? 'Invalid arguments').replace(/\s*\n\s*/g, ' ');
  if (text.startsWith('Did you mean')) text = `Unknown command. ${text}`;
  throw mogError(ErrorCodes.INVALID_ARGUMENT, `${text} (see 'mogftp admin --help')`);
}

/** `mogftp admin`, with the verb `args` (what follows `admin` on the command line) names, or all. */
export async function adminCommandFor(args: readonly string[]): Promise<CommandModule> {
  const verb = namedVerb(args);
  const verbs = await Promise.all((verb ? [verb] : Object.keys(VERBS)).map((name) => VERBS[name]!()));
  return {
    command: 'admin',
    describe: 'Manage hosts, devices, domains, classes and users; inspect and repair (needs --db, MOGFTP_DB or db: in --config)',
    // Like the daemons, flag > MOGFTP_* > settings file; but only for the settings the cluster
    // shares (admin's own flags, such as --port or --root, mean something else than a daemon's).
    builder: (y: Argv) =>
      configurable('admin', y, { only: ['db', 'db-password-file', 'storage-key-file', 'storage-token'] })
        .option('db', {
          type: 'string',
          global: true,
          describe: 'Database URL, e.g. sqlite:/var/lib/mogftp.db or mysql://user:pw@host/mogftp; env MOGFTP_DB, or db: in the --config file',
        })
        .command(verbs)
        .demandCommand(1, 'Name an admin command: init, host, device, domain, class, user, file, dir, stats, fsck, rebalance, storage-key or import')
        .strict()
        .fail(failOnOneLine),
    handler: () => {},
  };
}
