// The storage node daemon: plain HTTP over device directories DIR/dev<devid>/, in MogileFS's
// replica layout. This module checks the options, builds the node's shared state and starts the
// server; the work is in its parts:
//   node-server.ts   credentials, routing, failure answers, graceful close
//   node-devices.ts  the device tree, and the proof that a path lies inside it
//   node-put.ts      PUT: a replica is whole or absent, never half-written
//   node-get.ts      GET and HEAD, whole or one range, in two reused buffers
//   node-sweep.ts    unfinished files: removed on failure, on close, and after a crash
//   node-gc.ts       the minor GC that keeps memory flat whatever the size moved
//   listing.ts       the device's replicas, for the orphan sweep
import { realpath, stat } from 'node:fs/promises';
import { ErrorCodes, describeError, mogError } from '../errors.ts';
import type { StorageKey } from './auth.ts';
import { DeviceTree } from './node-devices.ts';
import { enableMinorGc } from './node-gc.ts';
import { createNodeServer } from './node-server.ts';
import type { NodeState } from './node-state.ts';
import { UnfinishedFiles } from './node-sweep.ts';

export interface StorageNodeOptions {
  /** The directory holding dev<devid>/ subdirectories; must exist. */
  root: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /**
   * The cluster's storage key: every request must be signed with it (src/storage/auth.ts).
   * Required unless insecureNoAuth is set.
   */
  key?: StorageKey;
  /** Serve without checking anyone (loopback addresses only): tests, a laptop. */
  insecureNoAuth?: boolean;
  /**
   * Deprecated: `Authorization: Bearer <token>` is also accepted (with a key), or required
   * (with insecureNoAuth), for front-ends not yet given the key during an upgrade.
   */
  token?: string;
  /** A connection idle this long in the middle of a request is dropped. Default 120 s. */
  idleTimeoutMs?: number;
  /** How long close() lets in-flight requests finish before cutting them off. Default 5 s. */
  graceMs?: number;
  /** Where unexpected errors are reported. Default: stderr. */
  log?: (msg: string) => void;
  /** Called as each request's answer ends (or its connection drops): metrics. */
  onRequest?: (r: { method: string; status: number; durationMs: number }) => void;
}

export interface StorageNode {
  url: string;
  host: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish (up to graceMs), then cuts the rest. */
  close(): Promise<void>;
}

export async function startStorageNode(opts: StorageNodeOptions): Promise<StorageNode> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? ((msg: string) => process.stderr.write(`mogftp storage: ${msg}\n`));
  const rootReal = await usableRoot(opts.root);
  if (!opts.key && !opts.insecureNoAuth) {
    throw mogError(ErrorCodes.INVALID_ARGUMENT, 'a storage node needs the cluster storage key (or insecureNoAuth on a loopback address)');
  }
  if (!opts.key && !isLoopbackHost(host)) {
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `a storage node without a storage key may only listen on a loopback address, not ${host}`);
  }
  enableMinorGc();
  const state: NodeState = { devices: new DeviceTree(rootReal), unfinished: new UnfinishedFiles(log), log };
  const { server, close } = createNodeServer(state, {
    key: opts.key ?? null,
    token: opts.token,
    idleTimeoutMs: opts.idleTimeoutMs ?? 120_000,
    graceMs: opts.graceMs ?? 5000,
    onRequest: opts.onRequest,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: opts.port ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 0);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return { url, host, port, close };
}

/** The realpath of the storage root, which must be a directory. */
async function usableRoot(root: string): Promise<string> {
  try {
    const real = await realpath(root);
    if (!(await stat(real)).isDirectory()) throw new Error('not a directory');
    return real;
  } catch (err) {
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `storage root ${root} is not a usable directory: ${describeError(err)}`, err);
  }
}

/** 127.0.0.0/8, ::1 (also v4-mapped) and localhost: addresses no other machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^(?:::ffff:)?127(?:\.[0-9]{1,3}){3}$/.test(h);
}
