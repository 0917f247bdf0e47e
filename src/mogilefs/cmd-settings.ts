// MogileFS's server settings (`mogadm settings list|set`): tunables of its trackers (memcache,
// rebalance and fsck policies, slave databases, case_sensitive_list_keys ...), none of which
// mogftp has: its settings are daemon flags and `mogftp admin`. So the list is empty, every
// setting reads as unset, and setting one is refused with MogileFS's own code for a key it
// does not let be written.
import type { Command } from './context.ts';
import { Refusal } from './errors.ts';

export const serverSettings: Command = async () => ({ key_count: 0 });

export const serverSetting: Command = async (_ctx, args) => {
  const key = args.text('key');
  if (key === '') throw new Refusal('bad_params', 'No key provided');
  return { key, value: '' };
};

export const setServerSetting: Command = async (_ctx, args) => {
  if (args.text('key') === '') throw new Refusal('bad_params', 'No key provided');
  throw new Refusal('not_writable', 'mogftp keeps no MogileFS server settings: use the daemons\' flags and mogftp admin');
};
