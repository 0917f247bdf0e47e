// What a request handler (requests.ts, extended.ts) sees of its channel's session (session.ts):
// the user's volume, the open handles, and the ways to answer.
import type { LogFn } from '../log.ts';
import type { Volume, VolumeStat } from '../vfs/volume.ts';
import type { ReadHandle, ReorderBudget, WriteHandle } from './file-handles.ts';

/** An OPENDIR handle: the listing's iterator, read a page per READDIR. */
export interface DirHandle {
  readonly kind: 'dir';
  path: string;
  entries: AsyncIterator<VolumeStat>;
  done: boolean;
}

export type Handle = ReadHandle | WriteHandle | DirHandle;

export interface SessionLimits {
  /** Open handles (files and directories) one channel may hold. */
  maxHandles: number;
  /** Entries per READDIR reply. */
  readdirPage: number;
  /** Bytes of out-of-order WRITEs the channel holds for all its handles. */
  reorderBytes: number;
}

export interface SftpContext {
  readonly volume: Volume;
  readonly log: LogFn;
  readonly limits: SessionLimits;
  readonly handles: Map<string, Handle>;
  readonly reorder: ReorderBudget;
  /** True once the channel is gone: an upload still running must not commit. */
  readonly closed: boolean;
  send(packet: Buffer): void;
  ok(id: number): void;
  replyError(id: number, err: unknown, type?: number): void;
  newHandle(h: Handle): Buffer;
  /** The open handle, or INVALID_ARGUMENT. */
  handleOf(raw: Buffer): Handle;
}
