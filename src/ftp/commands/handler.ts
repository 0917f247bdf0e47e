// What every command handler uses: the logged-in volume, the one way a failure becomes a reply
// (replies.ts), and the data connection with the transfer bookkeeping ABOR and a lost control
// connection act on.
import type { Socket } from 'node:net';
import { ErrorCodes, mogError } from '../../errors.ts';
import type { Volume } from '../../vfs/volume.ts';
import type { FtpConn, Handler } from '../connection.ts';
import { replyFor } from '../replies.ts';

const DATA_CONNECT_TIMEOUT_MS = 15_000;

export function volumeOf(conn: FtpConn): Volume {
  if (!conn.fs) throw mogError(ErrorCodes.AUTH_FAILED, 'Not logged in');
  return conn.fs.volume;
}

/**
 * Answers a failed command with its mapped reply. After a 150 this is the transfer's end: a
 * connection-level failure (UPLOAD_ABORTED, TRANSFER_ABORTED) is 426, a server-side one keeps its mapped code.
 */
export function replyError(conn: FtpConn, err: unknown): Promise<unknown> {
  const { code, message } = replyFor(err);
  if (code === 451) conn.log.error({ err }, 'command failed');
  return conn.reply(code, message);
}

/** Runs a simple command: any thrown error becomes its mapped reply. */
export function simple(fn: (conn: FtpConn, vol: Volume, arg: string | null) => Promise<[number, string]>): Handler {
  return async function (this: FtpConn, { command }) {
    try {
      const [code, message] = await fn(this, volumeOf(this), command.arg);
      return this.reply(code, message);
    } catch (err) {
      return replyError(this, err);
    }
  };
}

export function requireArg(arg: string | null, usage: string): string {
  if (!arg) throw mogError(ErrorCodes.INVALID_ARGUMENT, `Syntax error: ${usage}`);
  return arg;
}

/** The client went away (its control connection ended): an upload must not be committed. */
export function controlGone(conn: FtpConn): boolean {
  const s = conn.commandSocket;
  return !s || s.destroyed || s.readableEnded || !s.writable;
}

export async function dataSocket(conn: FtpConn): Promise<Socket | null> {
  try {
    return await conn.connector.waitForConnection({ timeout: DATA_CONNECT_TIMEOUT_MS });
  } catch {
    await conn.reply(425, 'No data connection: send PASV or EPSV (or PORT) first, then connect');
    return null;
  }
}

/** Wraps a transfer so ABOR and a dropped control connection can interrupt it. */
export async function withTransfer<T>(conn: FtpConn, abort: (reason: Error) => void, run: () => Promise<T>): Promise<T> {
  const onClose = () => abort(mogError(ErrorCodes.TRANSFER_ABORTED, 'Control connection closed'));
  conn.mogTransfer = { abort };
  conn.commandSocket.once('close', onClose);
  try {
    return await run();
  } finally {
    conn.mogTransfer = null;
    conn.commandSocket.off('close', onClose);
  }
}
