// Placeholder until its issue lands; replaced by the real command module.
import type { CommandModule } from 'yargs';

export const storageCommand: CommandModule = {
  command: 'storage',
  describe: '(not yet available)',
  handler: () => {
    throw new Error('mogftp storage is not available yet');
  },
};
