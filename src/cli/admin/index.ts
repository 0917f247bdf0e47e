// `mogftp admin ...`: the operator's commands (MogileFS's mogadm): init, host, device, domain,
// class, user; file, stats, fsck and rebalance to inspect and repair. Each verb parses its
// flags, calls the store, and prints; the verbs are the other modules in this folder.
import type { Argv, CommandModule } from 'yargs';
import { configurable } from '../../config/cli.ts';
import { mogError, ErrorCodes } from '../../errors.ts';
import { initCommand } from './init.ts';
import { hostCommand } from './host.ts';
import { deviceCommand } from './device.ts';
import { domainCommand } from './domain.ts';
import { classCommand } from './class.ts';
import { userCommand } from './user.ts';
import { loginCommand } from './login.ts';
import { lockCommand } from './lock.ts';
import { fsckCommand } from './fsck.ts';
import { fileCommand } from './file.ts';
import { dirCommand } from './dir.ts';
import { statsCommand } from './stats.ts';
import { rebalanceCommand } from './rebalance.ts';
import { orphansCommand } from './orphans.ts';
import { storageKeyCommand } from './storage-key.ts';
import { importCommand } from './import.ts';

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

export const adminCommand: CommandModule = {
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
      .command(initCommand)
      .command(hostCommand)
      .command(deviceCommand)
      .command(domainCommand)
      .command(classCommand)
      .command(userCommand)
      .command(loginCommand)
      .command(lockCommand)
      .command(fileCommand)
      .command(dirCommand)
      .command(statsCommand)
      .command(fsckCommand)
      .command(rebalanceCommand)
      .command(orphansCommand)
      .command(storageKeyCommand)
      .command(importCommand)
      .demandCommand(1, 'Name an admin command: init, host, device, domain, class, user, file, dir, stats, fsck, rebalance, storage-key or import')
      .strict()
      .fail(failOnOneLine),
  handler: () => {},
};
