// What the tracker door's commands work with: the store roles they use, the tracker's placement
// and device views, the storage client (which signs what it hands out), the key space, and the
// door's settings. One per server, shared by every connection; it holds no per-client state.
import type { LogFn } from '../log.ts';
import type { StorageClient } from '../storage/client.ts';
import type { Tracker } from '../tracker/tracker.ts';
import type { Catalog, Domain, Namespace, Queues, Replicas, Repair, Uploads } from '../tracker/types.ts';
import type { Args, Reply } from './protocol.ts';
import { Refusal } from './errors.ts';
import type { Keyspace } from './keyspace.ts';

/** The store roles the door touches. */
export type DoorStore = Catalog & Namespace & Uploads & Replicas & Pick<Queues, 'queueDepth'> & Pick<Repair, 'fixDevcount'>;

export interface DoorSettings {
  /** Seconds a create_open PUT URL stays good (the client's upload must start within it). */
  putUrlTtlS: number;
  /** Seconds a get_paths URL stays good. */
  getUrlTtlS: number;
  /** Admin commands (domains, classes, hosts, devices, set_state) answered; off: refused. */
  admin: boolean;
  /**
   * Hosts (by name) whose URLs go out unsigned: nodes that check no signature and refuse a PUT
   * with a query string (mogstored answers 400), e.g. those of an imported MogileFS cluster.
   */
  unsignedHosts: string[];
}

export interface DoorContext {
  store: DoorStore;
  tracker: Tracker;
  client: StorageClient;
  keys: Keyspace;
  /** Whether URLs handed to clients are signed (the door holds the storage key). */
  signs: boolean;
  settings: DoorSettings;
  log: LogFn;
}

export type Command = (ctx: DoorContext, args: Args) => Promise<Reply>;

/** The domain a request names (unreg_domain when unknown, no_domain when none). */
export async function domainOf(ctx: DoorContext, args: Args): Promise<Domain> {
  const name = args.text('domain');
  if (name === '') throw new Refusal('no_domain', 'No domain provided');
  const domain = await ctx.store.getDomain(name);
  if (!domain) throw new Refusal('unreg_domain', 'Domain name invalid/not found');
  return domain;
}

/**
 * The longest key taken: MogileFS's schema holds 255 bytes; 2048 keeps even an escaped key's
 * path (base64, a third longer) within the 4096 bytes a path may have in every door.
 */
const MAX_KEY_BYTES = 2048;

/** The `key` argument (no_key when missing or empty, key_too_long over MAX_KEY_BYTES). */
export function keyOf(args: Args, name = 'key'): Buffer {
  const key = args.bytes(name);
  if (!key || key.length === 0) throw new Refusal('no_key', 'No key provided');
  if (key.length > MAX_KEY_BYTES) throw new Refusal('key_too_long', `Keys are limited to ${MAX_KEY_BYTES} bytes`);
  return key;
}

/**
 * A URL of a copy on device `devid` handed to a client for one method: signed when the door
 * holds the storage key, unless the device's host is one that takes no signature.
 */
export async function clientUrl(ctx: DoorContext, method: 'GET' | 'PUT', url: string, devid: number): Promise<string> {
  if (!ctx.signs) return url;
  if (ctx.settings.unsignedHosts.length > 0) {
    const host = (await ctx.tracker.devices()).find((d) => d.id === devid)?.hostName;
    if (host !== undefined && ctx.settings.unsignedHosts.includes(host)) return url;
  }
  return ctx.client.signedUrl(method, url, method === 'PUT' ? ctx.settings.putUrlTtlS : ctx.settings.getUrlTtlS);
}
