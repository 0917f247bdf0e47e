// The transfer commands: STOR, APPE, STOU (uploads, committed only on a clean end of the data
// stream), RETR, and ABOR, which stops whichever runs. Each finished transfer is reported to the
// server's onTransfer hook.
import { ErrorCodes, describeError, isMogError, mogError } from '../../errors.ts';
import type { Volume } from '../../vfs/volume.ts';
import type { FtpConn, Handler } from '../connection.ts';
import { receive, send } from '../data.ts';
import type { TransferRecord } from '../events.ts';
import { settingsOf } from '../ftp-srv-adapter.ts';
import { oneLine } from '../replies.ts';
import { controlGone, dataSocket, replyError, requireArg, volumeOf, withTransfer } from './handler.ts';

/** Returns a function that reports how the transfer ended to the server's onTransfer hook. */
function transferReporter(conn: FtpConn, direction: TransferRecord['direction'], command: string) {
  const started = performance.now();
  return (path: string | null, bytes: number, replicas: number | null, err?: unknown) => {
    const hook = settingsOf(conn).onTransfer;
    if (!hook) return;
    let abs = path ?? '';
    try {
      if (path && conn.fs) abs = '/' + conn.fs.volume.resolve(path).join('/');
    } catch {
      // an unresolvable path is logged as given
    }
    const result = err === undefined ? 'ok' : isMogError(err, ErrorCodes.UPLOAD_ABORTED) || isMogError(err, ErrorCodes.TRANSFER_ABORTED) ? 'aborted' : 'failed';
    hook({ direction, command, session: conn.id, user: conn.fs?.volume.user.name ?? conn.username, ip: conn.ip, path: abs, bytes, durationMs: Math.round(performance.now() - started), result, replicas, ...(err === undefined ? {} : { error: describeError(err) }) });
  };
}

const stor: Handler = async function (this: FtpConn, { command }) {
  const report = transferReporter(this, 'upload', command.directive);
  const append = command.directive === 'APPE';
  const offset = this.restByteCount ?? 0;
  this.restByteCount = 0;
  let path = command.arg;
  let vol: Volume;
  try {
    vol = volumeOf(this);
    if (command.directive === 'STOU') path = await uniqueName(vol, path ?? 'file');
    path = requireArg(path, `${command.directive} <path>`);
  } catch (err) {
    return replyError(this, err);
  }
  const socket = await dataSocket(this);
  if (!socket) return;
  try {
    const upload = await vol.openUpload(path, { offset, append, isCancelled: () => controlGone(this) }).catch(async (err) => {
      this.connector.end();
      report(path, 0, null, err);
      await replyError(this, err);
      return null;
    });
    if (!upload) return;
    await withTransfer(this, (reason) => upload.destroy(reason), async () => {
      const what = command.directive === 'STOU' ? `FILE: ${oneLine(path!)}` : 'Ok to send data';
      await this.reply(150, what);
      try {
        await receive(socket, upload);
      } catch (err) {
        this.connector.end();
        report(path, upload.bytesWritten, upload.storedReplicas, err);
        return replyError(this, err);
      }
      this.connector.end();
      report(path, upload.bytesWritten, upload.storedReplicas);
      return this.reply(226, `Transfer complete: ${upload.bytesWritten} bytes stored on ${upload.storedReplicas} replicas`);
    });
  } finally {
    this.connector.end();
  }
};

async function uniqueName(vol: Volume, base: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const name = i === 0 ? base : `${base}.${i}`;
    try {
      await vol.stat(name);
    } catch (err) {
      // Only "no such file" makes a name free. Any other failure (the database not answering)
      // must not send STOU to write over a name it could not check.
      if (isMogError(err, ErrorCodes.NOT_FOUND)) return name;
      throw err;
    }
  }
  return `${base}.${Date.now()}`;
}

const retr: Handler = async function (this: FtpConn, { command }) {
  const report = transferReporter(this, 'download', command.directive);
  const offset = this.restByteCount ?? 0;
  this.restByteCount = 0;
  let download: Awaited<ReturnType<Volume['openDownload']>>;
  try {
    const path = requireArg(command.arg, 'RETR <path>');
    download = await volumeOf(this).openDownload(path, offset, { verifyResume: true });
  } catch (err) {
    return replyError(this, err);
  }
  const socket = await dataSocket(this);
  if (!socket) {
    download.stream.destroy();
    return;
  }
  try {
    await withTransfer(this, (reason) => download.stream.destroy(reason), async () => {
      await this.reply(150, `Opening BINARY mode data connection for ${oneLine(download.name)} (${download.size - offset} bytes)`);
      try {
        await send(download.stream, socket);
      } catch (err) {
        report(command.arg, socket.bytesWritten, null, err);
        return replyError(this, err);
      }
      report(command.arg, socket.bytesWritten, null);
      return this.reply(226, 'Transfer complete');
    });
  } finally {
    this.connector.end();
  }
};

const abor: Handler = async function (this: FtpConn) {
  const transfer = this.mogTransfer;
  if (!transfer) return this.reply(225, 'No transfer to abort');
  transfer.abort(mogError(ErrorCodes.TRANSFER_ABORTED, 'Transfer aborted by ABOR'));
  this.connector.end();
  return this.reply(226, 'Abort successful');
};

export const transferHandlers: Record<string, Handler> = {
  STOR: stor,
  APPE: stor,
  STOU: stor,
  RETR: retr,
  ABOR: abor,
};
