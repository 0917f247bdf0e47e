// `mogftp admin init`: create the database if needed and bring its schema up to date.
import { leaf, withStore } from './context.ts';
import { say } from './output.ts';

export const initCommand = leaf<object>({
  command: 'init',
  describe: 'Create the database (if missing) and its schema, or upgrade it; safe to repeat',
  handler: async (args) => {
    await withStore(
      args,
      async (store) => {
        const before = await store.schemaVersion();
        const after = await store.migrate();
        say(before === after ? `Schema version ${after} (already up to date)` : `Schema version ${after} (was ${before})`);
      },
      { init: true },
    );
  },
});
