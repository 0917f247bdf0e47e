// The `mogftp` executable: parses argv with yargs and hands each subcommand to its module.
// Modules hold the wiring for one command; the logic lives in src/{tracker,storage,vfs,ftp,jobs}.
import yargs from 'yargs';
import type { Argv } from 'yargs';
import { describeError, isMogError } from '../errors.ts';
import { adminCommand } from './admin.ts';
import { storageCommand } from './storage.ts';
import { ftpCommand } from './ftp.ts';
import { jobsCommand } from './jobs.ts';
import { quickstartCommand } from './quickstart.ts';

/** Thrown by command handlers for a one-line error and a nonzero exit, never a stack trace. */
export class UsageError extends Error {}

export function buildCli(argv: string[]): Argv {
  return yargs(argv)
    .scriptName('mogftp')
    .usage('$0 <command> [options]')
    .command(quickstartCommand)
    .command(ftpCommand)
    .command(storageCommand)
    .command(jobsCommand)
    .command(adminCommand)
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
    await buildCli(argv).parseAsync();
  } catch (err) {
    const code = isMogError(err) ? ` [${err.code}]` : '';
    process.stderr.write(`mogftp: ${describeError(err)}${code}\n`);
    if (process.env.MOGFTP_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
  }
}
