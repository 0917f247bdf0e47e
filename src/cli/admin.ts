// Placeholder until its issue lands; replaced by the real command module.
import type { CommandModule } from 'yargs';

export const adminCommand: CommandModule = {
  command: 'admin',
  describe: '(not yet available)',
  handler: () => {
    throw new Error('mogftp admin is not available yet');
  },
};
