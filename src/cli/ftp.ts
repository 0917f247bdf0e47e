// Placeholder until its issue lands; replaced by the real command module.
import type { CommandModule } from 'yargs';

export const ftpCommand: CommandModule = {
  command: 'ftp',
  describe: '(not yet available)',
  handler: () => {
    throw new Error('mogftp ftp is not available yet');
  },
};
