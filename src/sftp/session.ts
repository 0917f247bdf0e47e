// One SFTP subsystem channel: reads packets off the SSH channel one at a time and answers each
// before reading the next (a WRITE is "answered" once its bytes are in the fan-out or parked for
// reordering), so a client sending faster than the storage nodes accept stops being read, the SSH
// window closes and it waits: memory stays bounded whatever it sends. Handles are this channel's
// own; when the channel goes, every upload not yet CLOSEd is aborted and leaves nothing.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { describeError, ErrorCodes, mogError } from '../errors.ts';
import type { LogFn } from '../log.ts';
import type { Volume } from '../vfs/volume.ts';
import type { Handle, SessionLimits, SftpContext } from './context.ts';
import type { ReorderBudget } from './file-handles.ts';
import { handleRequest } from './requests.ts';
import { statusOf } from './status.ts';
import { BadMessage, FieldReader, Packet, PacketSplitter, Status, statusPacket, versionPacket } from './wire.ts';

/** What this server announces in VERSION; OpenSSH's sftp uses an extension only when announced. */
const EXTENSIONS = {
  'posix-rename@openssh.com': '1',
  'statvfs@openssh.com': '2',
  'fstatvfs@openssh.com': '2',
  'fsync@openssh.com': '1',
};

export const DEFAULT_SESSION_LIMITS: SessionLimits = { maxHandles: 64, readdirPage: 128, reorderBytes: 4 * 1024 * 1024 };

export class SftpSession implements SftpContext {
  readonly handles = new Map<string, Handle>();
  readonly reorder: ReorderBudget;
  closed = false;

  constructor(
    readonly volume: Volume,
    private readonly channel: Duplex,
    readonly log: LogFn,
    readonly limits: SessionLimits,
    /** Called on every request: the connection's idle clock. */
    private readonly touch: () => void,
  ) {
    this.reorder = { used: 0, limit: limits.reorderBytes };
  }

  /** Serves the channel until it ends; every handle left open is then closed, uploads aborted. */
  async run(): Promise<void> {
    const splitter = new PacketSplitter();
    let initialised = false;
    try {
      for await (const chunk of this.channel) {
        for (const packet of splitter.push(chunk as Buffer)) {
          this.touch();
          if (!initialised) {
            if (packet[0] !== Packet.INIT) throw new BadMessage('the first packet must be INIT');
            this.send(versionPacket(EXTENSIONS));
            initialised = true;
            continue;
          }
          await this.dispatch(packet);
        }
      }
    } catch (err) {
      if (!(err instanceof BadMessage)) throw err;
      this.log('info', 'sftp channel closed: malformed packet', { error: err.message });
    } finally {
      await this.release();
    }
  }

  private async dispatch(packet: Buffer): Promise<void> {
    const type = packet[0]!;
    const fields = new FieldReader(packet.subarray(1));
    let id: number;
    try {
      id = fields.u32();
    } catch {
      throw new BadMessage('a request without an id');
    }
    try {
      await handleRequest(this, type, id, fields);
    } catch (err) {
      this.replyError(id, err, type);
    }
  }

  /** Answers `id` with the status an error maps to, logging what was not expected. */
  replyError(id: number, err: unknown, type?: number): void {
    const reply = statusOf(err);
    if (reply.unexpected) this.log('error', 'sftp request failed', { type, error: describeError(err), cause: err });
    else this.log('debug', 'sftp request refused', { type, status: reply.code, message: reply.message });
    this.send(statusPacket(id, reply.code, reply.message));
  }

  ok(id: number): void {
    this.send(statusPacket(id, Status.OK, 'OK'));
  }

  send(packet: Buffer): void {
    if (!this.closed && !this.channel.destroyed) this.channel.write(packet);
  }

  newHandle(h: Handle): Buffer {
    const id = randomBytes(8);
    this.handles.set(id.toString('hex'), h);
    return id;
  }

  handleOf(raw: Buffer): Handle {
    const h = this.handles.get(raw.toString('hex'));
    if (!h) throw mogError(ErrorCodes.INVALID_ARGUMENT, 'No such handle');
    return h;
  }

  private async release(): Promise<void> {
    this.closed = true;
    const open = [...this.handles.values()];
    this.handles.clear();
    for (const h of open) {
      if (h.kind === 'write') await h.abort().catch((err: unknown) => this.log('warn', 'aborting an upload failed', { error: describeError(err) }));
      else if (h.kind === 'read') h.close();
    }
  }
}
