// Placeholder until its issue lands; replaced by the real command module.
import type { CommandModule } from 'yargs';

export const jobsCommand: CommandModule = {
  command: 'jobs',
  describe: '(not yet available)',
  handler: () => {
    throw new Error('mogftp jobs is not available yet');
  },
};
