// What a Volume is built from, each part for what it is: the store roles it reads and writes
// (src/tracker/types.ts), the Tracker for placement, classes, device views and the account as
// it is now, the storage nodes' client, and a log. No part is reached through another.
import type { LogFn } from '../log.ts';
import type { StorageClient } from '../storage/client.ts';
import type { Tracker } from '../tracker/tracker.ts';
import type { DavState, Namespace, Queues, Replicas, Uploads } from '../tracker/types.ts';

/**
 * The store roles a volume uses: the tree (Namespace); reservations, commits and quota
 * (Uploads); file rows (Replicas); the delete queue, for the partial copies an upload leaves
 * (Queues); and the WebDAV locks every door's writes respect (locks.ts).
 */
export type VolumeStore = Namespace & Uploads & Pick<Replicas, 'getFile' | 'getFiles'> & Pick<Queues, 'enqueue'> & Pick<DavState, 'davLocksAt'>;

export interface VolumeDeps {
  store: VolumeStore;
  tracker: Tracker;
  client: StorageClient;
  /** Files up to this many bytes are verified before their first byte is sent (download.ts); default MOGFTP_VERIFY_BEFORE_SEND or 8 MiB. */
  verifyBeforeSend?: number;
  /** Where reads log damaged copies (default: a `vfs` logger on stderr). */
  log?: LogFn;
  /**
   * Refuse writes any active WebDAV lock stands in the way of (locks.ts); default true. The
   * WebDAV door passes false: it checks the client's lock tokens itself (src/dav/context.ts).
   */
  honourLocks?: boolean;
}
