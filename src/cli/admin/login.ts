// `mogftp admin login ...`: the login throttle every door shares (src/tracker/login-throttle.ts).
// `status` says whether an address is banned; `clear` lifts its ban and forgets its failures,
// on every front-end at once (the count lives in the database).
import { clientKey } from '../../tracker/login-throttle.ts';
import { leaf, noun, withStore } from './context.ts';
import { say } from './output.ts';

const addressArg = { type: 'string', describe: 'Client address as the front-ends see it, e.g. 203.0.113.5 or 2001:db8::1' } as const;

const status = leaf<{ address: string }>({
  command: 'status <address>',
  describe: 'Say whether an address is refused for too many failed logins',
  builder: (y) => y.positional('address', addressArg),
  handler: async (args) => {
    const address = clientKey(args.address);
    await withStore(args, async (store) => {
      const ms = await store.loginBannedFor(address, Date.now());
      say(ms > 0 ? `${address} is banned for another ${Math.ceil(ms / 1000)} s` : `${address} is not banned`);
    });
  },
});

const clear = leaf<{ address: string }>({
  command: 'clear <address>',
  describe: "Lift an address's login ban and forget its failed logins",
  builder: (y) => y.positional('address', addressArg),
  handler: async (args) => {
    const address = clientKey(args.address);
    await withStore(args, async (store) => {
      const had = await store.clearLoginAttempts(address);
      say(had ? `Cleared the failed logins of ${address}; it may log in again` : `${address} had no failed logins on record`);
    });
  },
});

export const loginCommand = noun('login', 'Inspect and lift login bans (too many failed logins from one address)', [status, clear]);
