// Placeholder until its issue lands; replaced by the real command module.
import type { CommandModule } from 'yargs';

export const quickstartCommand: CommandModule = {
  command: 'quickstart',
  describe: '(not yet available)',
  handler: () => {
    throw new Error('mogftp quickstart is not available yet');
  },
};
