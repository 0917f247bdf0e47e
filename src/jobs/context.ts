// What every job needs: the store, the storage client, a log, and an optional event hook.
import { fidPath, nodeBaseUrl } from '../storage/layout.ts';
import type { StorageClient } from '../storage/client.ts';
import type { SpaceLimits } from '../tracker/policy.ts';
import type { DeviceView, FsckCode, QueueName, Store } from '../tracker/types.ts';
import type { JobLog } from './runner.ts';

/** Something a job did to a replica, reported for observability (and tests that count work). */
export type JobEvent =
  | { type: 'copied'; fid: number; from: number; to: number; bytes: number }
  | { type: 'bad-source'; fid: number; devid: number; reason: string }
  | { type: 'trimmed'; fid: number; devid: number }
  | { type: 'deleted'; fid: number; devid: number }
  | { type: 'lost-copy'; fid: number; devid: number }
  | { type: 'reaped'; fid: number }
  | { type: 'device-emptied'; devid: number; fids: number }
  /** fsck looked at a fid (one per check, whatever it found). */
  | { type: 'fsck-checked'; fid: number }
  | { type: 'fsck'; fid: number; devid: number | null; code: FsckCode; detail: string }
  /** Rebalance moved a copy: copied, verified, recorded, then the old one removed. */
  | { type: 'moved'; fid: number; from: number; to: number; bytes: number }
  /** A draining device holds no more replicas. */
  | { type: 'device-drained'; devid: number };

export interface JobContext {
  store: Store;
  client: StorageClient;
  log: JobLog;
  onEvent?: (e: JobEvent) => void;
  /** How full a device may be to receive copies (the policy's defaults when absent). */
  spaceLimits?: SpaceLimits;
  /** Asks this process's runner of `queue` to poll now (after enqueueing work for it). */
  wake?: (queue: QueueName) => void;
  /**
   * Takes or renews this process's lease on a device task (e.g. 'drain/dev/3') for `ttlMs`; false
   * while another live jobs process holds it. Absent (admin commands, tests): always ours.
   */
  claimTask?: (task: string, ttlMs: number) => Promise<boolean>;
  /** How fast fsck reads a copy to compute a checksum the file lacks (fill-checksum.ts); default 20 MiB/s. */
  checksumBytesPerSecond?: number;
}

/** Whether this process may work `task` now (see JobContext.claimTask). */
export async function mayWork(ctx: Pick<JobContext, 'claimTask'>, task: string, ttlMs: number): Promise<boolean> {
  return ctx.claimTask ? ctx.claimTask(task, ttlMs) : true;
}

export function replicaUrlOf(d: DeviceView, fid: number): string {
  return nodeBaseUrl(d.hostAddress, d.hostPort) + fidPath(d.id, fid);
}

/** The device's bytes are gone for good: the device or its whole host is dead. */
export function isGoneDevice(d: DeviceView): boolean {
  return d.status === 'dead' || d.hostStatus === 'dead';
}
