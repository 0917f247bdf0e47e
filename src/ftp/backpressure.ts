// Backpressure on the control connection (issue 15). A client that sends commands faster than it
// reads the replies must not make the server hold its input or its output: the input loop
// (ftp-srv-adapter.ts) stops reading from the socket while a few commands are queued or replies are
// waiting to go out, so memory per connection stays at a few socket buffers; and a client that
// leaves its replies unread for the stall timeout is disconnected (watchReplies below), since
// it otherwise holds its slot, and its queue, for as long as it likes.
import type { Socket } from 'node:net';
import type { FtpConn } from './connection.ts';

/** Commands received and not yet answered, above which the socket is no longer read. */
export const MAX_QUEUED_COMMANDS = 16;
/** Reply bytes not yet taken by the kernel, above which the socket is no longer read. */
export const REPLY_PAUSE_BYTES = 64 * 1024;
/** Reply bytes not yet taken by the kernel that end the session at once. */
export const REPLY_LIMIT_BYTES = 1024 * 1024;
/** Unparsed input held while the socket is paused: a few socket reads; beyond it, the session ends. */
export const MAX_HELD_INPUT = 256 * 1024;

/** True while the connection should not take more commands: queue full or replies backed up. */
export function congested(conn: FtpConn, socket: Socket): boolean {
  return (conn.mogInFlight ?? 0) >= MAX_QUEUED_COMMANDS || socket.writableLength > REPLY_PAUSE_BYTES;
}

/** Bytes of replies the kernel has taken so far (written, minus what is still queued in Node). */
function repliesFlushed(socket: Socket): number {
  return socket.bytesWritten - socket.writableLength;
}

/**
 * Closes the connection once replies have been waiting for the client, with none of them taken
 * by the kernel, for `stallMs`; or at once when more than REPLY_LIMIT_BYTES are waiting. A
 * client that reads at all makes progress and is never closed by this; a transfer does not
 * count (it runs on the data connection, not here). Stops when the connection closes.
 */
export function watchReplies(conn: FtpConn, raw: Socket, stallMs: number, log: (msg: string, fields: Record<string, unknown>) => void): void {
  if (!(stallMs > 0)) return;
  let flushed = -1;
  let stalledSince: number | null = null;
  const drop = (why: string) => {
    clearInterval(timer);
    log('client dropped: it does not read its replies', { ip: conn.ip, session: conn.id, reason: why });
    conn.commandSocket.destroy();
    raw.destroy();
  };
  const timer = setInterval(
    () => {
      const socket = conn.commandSocket;
      if (!socket || socket.destroyed) return;
      const waiting = socket.writableLength;
      if (waiting > REPLY_LIMIT_BYTES) return drop(`${waiting} reply bytes waiting`);
      const now = Date.now();
      const mark = repliesFlushed(socket);
      if (waiting === 0 || mark !== flushed) {
        flushed = mark;
        stalledSince = waiting === 0 ? null : now;
        return;
      }
      stalledSince ??= now;
      if (now - stalledSince >= stallMs) drop(`no reply taken for ${Math.round(stallMs / 1000)} s`);
    },
    Math.max(50, Math.min(1000, Math.floor(stallMs / 4))),
  );
  timer.unref();
  raw.once('close', () => clearInterval(timer));
}
