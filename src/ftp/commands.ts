// Our handlers for every command that touches files. They replace ftp-srv's own (which map
// every failure to one fixed code, buffer listings and commit killed uploads) in its mutable
// command registry; errors reach the client through replies.ts only.
import type { Socket } from 'node:net';
import { ErrorCodes, describeError, isMogError, mogError } from '../errors.ts';
import type { Volume } from '../vfs/volume.ts';
import type { FtpConn, Handler } from './connection.ts';
import { receive, send, sendLines } from './data.ts';
import { ftpTime, listPathArg, lsLine } from './listing.ts';
import { oneLine, quotePath, replyFor } from './replies.ts';
import type { TransferRecord } from './server.ts';

const DATA_CONNECT_TIMEOUT_MS = 15_000;

export function volumeOf(conn: FtpConn): Volume {
  if (!conn.fs) throw mogError(ErrorCodes.AUTH_FAILED, 'Not logged in');
  return conn.fs.volume;
}

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
function controlGone(conn: FtpConn): boolean {
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

function transferFailed(conn: FtpConn, err: unknown): Promise<unknown> {
  // After a 150, a connection-level failure is 426; a server-side one keeps its mapped code.
  return replyError(conn, err);
}

/** Returns a function that reports how the transfer ended to the server's onTransfer hook. */
function transferReporter(conn: FtpConn, direction: TransferRecord['direction'], command: string) {
  const started = performance.now();
  return (path: string | null, bytes: number, replicas: number | null, err?: unknown) => {
    const hook = conn.server.options.onTransfer as ((t: TransferRecord) => void) | undefined;
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
        return transferFailed(this, err);
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
        return transferFailed(this, err);
      }
      report(command.arg, socket.bytesWritten, null);
      return this.reply(226, 'Transfer complete');
    });
  } finally {
    this.connector.end();
  }
};

function listing(names: boolean): Handler {
  return async function (this: FtpConn, { command }) {
    let entries: AsyncGenerator<import('../vfs/volume.ts').VolumeStat>;
    let first: IteratorResult<import('../vfs/volume.ts').VolumeStat>;
    try {
      entries = volumeOf(this).list(listPathArg(command.arg));
      first = await entries.next(); // errors (no such directory) are answered before the 150
    } catch (err) {
      return replyError(this, err);
    }
    const socket = await dataSocket(this);
    if (!socket) return;
    const now = Date.now();
    async function* lines() {
      let item = first;
      while (!item.done) {
        yield names ? item.value.name : lsLine(item.value, now);
        item = await entries.next();
      }
    }
    try {
      await withTransfer(this, (reason) => socket.destroy(reason), async () => {
        await this.reply(150, 'Here comes the directory listing');
        try {
          await sendLines(lines(), socket);
        } catch (err) {
          return transferFailed(this, err);
        }
        return this.reply(226, 'Directory send OK');
      });
    } finally {
      this.connector.end();
    }
  };
}

const abor: Handler = async function (this: FtpConn) {
  const transfer = this.mogTransfer;
  if (!transfer) return this.reply(225, 'No transfer to abort');
  transfer.abort(mogError(ErrorCodes.TRANSFER_ABORTED, 'Transfer aborted by ABOR'));
  this.connector.end();
  return this.reply(226, 'Abort successful');
};

export const fileCommands: Record<string, Handler> = {
  STOR: stor,
  APPE: stor,
  STOU: stor,
  RETR: retr,
  LIST: listing(false),
  NLST: listing(true),
  ABOR: abor,
  PWD: simple(async (_c, vol) => [257, `${quotePath(vol.pwd())} is the current directory`]),
  XPWD: simple(async (_c, vol) => [257, `${quotePath(vol.pwd())} is the current directory`]),
  CWD: simple(async (_c, vol, arg) => [250, `Directory changed to ${quotePath(await vol.chdir(arg ?? '/'))}`]),
  XCWD: simple(async (_c, vol, arg) => [250, `Directory changed to ${quotePath(await vol.chdir(arg ?? '/'))}`]),
  CDUP: simple(async (_c, vol) => [250, `Directory changed to ${quotePath(await vol.chdir('..'))}`]),
  XCUP: simple(async (_c, vol) => [250, `Directory changed to ${quotePath(await vol.chdir('..'))}`]),
  MKD: simple(async (_c, vol, arg) => [257, `${quotePath(await vol.mkdir(requireArg(arg, 'MKD <path>')))} created`]),
  XMKD: simple(async (_c, vol, arg) => [257, `${quotePath(await vol.mkdir(requireArg(arg, 'MKD <path>')))} created`]),
  RMD: simple(async (_c, vol, arg) => {
    await vol.rmdir(requireArg(arg, 'RMD <path>'));
    return [250, 'Directory removed'];
  }),
  XRMD: simple(async (_c, vol, arg) => {
    await vol.rmdir(requireArg(arg, 'RMD <path>'));
    return [250, 'Directory removed'];
  }),
  DELE: simple(async (_c, vol, arg) => {
    await vol.remove(requireArg(arg, 'DELE <path>'));
    return [250, 'File deleted'];
  }),
  SIZE: simple(async (_c, vol, arg) => {
    const stat = await vol.stat(requireArg(arg, 'SIZE <path>'));
    if (stat.kind === 'dir') throw mogError(ErrorCodes.IS_A_DIRECTORY, `${stat.name} is not a regular file`);
    return [213, String(stat.size)];
  }),
  MDTM: simple(async (_c, vol, arg) => {
    const stat = await vol.stat(requireArg(arg, 'MDTM <path>'));
    return [213, ftpTime(stat.mtime)];
  }),
  RNFR: simple(async (conn, vol, arg) => {
    const path = requireArg(arg, 'RNFR <path>');
    if (vol.readOnly) throw mogError(ErrorCodes.PERMISSION_DENIED, 'Permission denied: this account is read-only');
    await vol.stat(path);
    conn.renameFrom = path;
    return [350, 'Ready for RNTO'];
  }),
  RNTO: simple(async (conn, vol, arg) => {
    const from = conn.renameFrom;
    conn.renameFrom = undefined;
    if (!from) return [503, 'Send RNFR first'];
    await vol.rename(from, requireArg(arg, 'RNTO <path>'));
    return [250, 'Rename successful'];
  }),
};
