// What a storage node's request handlers share, passed to them explicitly: one per started node.
import type { DeviceTree } from './node-devices.ts';
import type { UnfinishedFiles } from './node-sweep.ts';

export interface NodeState {
  /** The device directories under the root, and what has been proven inside it. */
  readonly devices: DeviceTree;
  /** Temp and in-progress files being written, and the crash-leftover sweep. */
  readonly unfinished: UnfinishedFiles;
  /** Where unexpected errors are reported. */
  readonly log: (msg: string) => void;
}
