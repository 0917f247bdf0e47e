// The `mogftp` executable: parses argv with yargs and hands each subcommand to its module.
// Each command's module only parses its flags, then runs a daemon (src/daemons) or, for admin,
// asks the store.
import yargs from 'yargs';
import type { Argv } from 'yargs';
import { describeError, isMogError } from '../errors.ts';
import type { CommandModule } from 'yargs';

// Each command's module is imported only when that command runs: a storage node should not
// carry the FTP server, both database drivers and the jobs in its memory. A loader gets the
// words after its command's name (admin loads only the verb they name).
type Loader = (args: readonly string[]) => Promise<CommandModule<any, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any -- each command has its own args type; yargs' CommandModule is invariant in it
const COMMANDS: Record<string, Loader> = {
  quickstart: async () => (await import('./quickstart.ts')).quickstartCommand,
  ftp: async () => (await import('./ftp.ts')).ftpCommand,
  dav: async () => (await import('./dav.ts')).davCommand,
  tracker: async () => (await import('./tracker.ts')).trackerCommand,
  sftp: async () => (await import('./sftp.ts')).sftpCommand,
  storage: async () => (await import('./storage.ts')).storageCommand,
  jobs: async () => (await import('./jobs.ts')).jobsCommand,
  admin: async (args) => (await import('./admin/index.ts')).adminCommandFor(args),
};

export async function buildCli(argv: string[]): Promise<Argv> {
  const named = argv[0] !== undefined && Object.hasOwn(COMMANDS, argv[0]) ? [argv[0]] : Object.keys(COMMANDS);
  // `mogftp --version` prints the version and nothing else: no command's module is needed (they
  // would load zod, pino, ssh2, prom-client, @xmldom and got, a third of a second of CPU).
  const versionOnly = argv.length === 1 && argv[0] === '--version';
  const modules = versionOnly ? [] : await Promise.all(named.map((name) => COMMANDS[name]!(argv.slice(1))));
  let cli = yargs(argv).scriptName('mogftp').usage('$0 <command> [options]');
  for (const m of modules) cli = cli.command(m);
  return cli
    .demandCommand(1, 'Name a command; see --help.')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`mogftp: ${msg}\nRun 'mogftp --help' for usage.\n`);
      process.exit(2);
    });
}

export async function main(argv: string[]): Promise<void> {
  try {
    await (await buildCli(argv)).parseAsync();
  } catch (err) {
    const code = isMogError(err) ? ` [${err.code}]` : '';
    process.stderr.write(`mogftp: ${describeError(err)}${code}\n`);
    if (process.env.MOGFTP_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
  }
}
