// What every daemon that serves the cluster's files opens first: the metadata store, the tracker
// over it and the client for the storage nodes. The daemons, the quickstart and the test
// harnesses all open them here, so what the tests run is what users run.
import { ErrorCodes, mogError } from '../errors.ts';
import type { LogFn } from '../log.ts';
import type { StorageKey } from '../storage/auth.ts';
import { StorageClient } from '../storage/client.ts';
import { openStore } from '../tracker/open.ts';
import { Tracker } from '../tracker/tracker.ts';
import type { Store } from '../tracker/types.ts';

export interface Services {
  store: Store;
  tracker: Tracker;
  client: StorageClient;
  close(): Promise<void>;
}

export interface ServicesOptions {
  dbUrl: string;
  /** The cluster's storage key, which signs every request to the storage nodes. */
  storageKey?: StorageKey;
  /** Deprecated bearer token. */
  storageToken?: string;
  createDatabase?: boolean;
  /** Bring the schema up to date; without it a database with no schema is refused. */
  migrate?: boolean;
  /** Where the store reports a move to another database address. */
  log?: LogFn;
}

/** Opens the database (which must already have the schema) and the shared clients. */
export async function openServices(opts: ServicesOptions): Promise<Services> {
  const store = await openStore(opts.dbUrl, { createDatabase: opts.createDatabase, log: opts.log });
  try {
    if (opts.migrate) await store.migrate();
    else if ((await store.schemaVersion()) === 0)
      throw mogError(ErrorCodes.INVALID_ARGUMENT, "The database has no mogftp schema yet: run 'mogftp admin init' first");
  } catch (err) {
    await store.close();
    throw err;
  }
  const tracker = new Tracker(store);
  const client = new StorageClient({ key: opts.storageKey, token: opts.storageToken });
  return {
    store,
    tracker,
    client,
    close: async () => {
      client.close();
      await store.close();
    },
  };
}
