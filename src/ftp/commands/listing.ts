// Directory listings over the data connection: LIST and NLST here, MLSD in mlsx.ts, all sent by
// sendListing. Entries are streamed as they are read, so a listing of any length takes little memory.
import type { VolumeStat } from '../../vfs/volume.ts';
import type { FtpConn, Handler } from '../connection.ts';
import { sendLines } from '../data.ts';
import { listPathArg, lsLine } from './formats.ts';
import { dataSocket, replyError, volumeOf, withTransfer } from './handler.ts';

/** The words of a listing's 150 and 226 replies. */
export interface ListingReplies {
  opening: string;
  complete: string;
}

/**
 * Sends a listing: `open` gives the entries, and the first is read before anything else, so
 * that a failure (no such directory) is answered on its own, before the 150; then the data
 * connection, the 150, the lines `format` makes of the entries, and the 226.
 */
export async function sendListing(
  conn: FtpConn,
  replies: ListingReplies,
  open: () => Promise<AsyncIterator<VolumeStat>>,
  format: (entries: AsyncIterator<VolumeStat>) => AsyncIterable<string>,
): Promise<unknown> {
  let entries: AsyncIterator<VolumeStat>;
  try {
    entries = await peeked(await open());
  } catch (err) {
    return replyError(conn, err);
  }
  const socket = await dataSocket(conn);
  if (!socket) return;
  const lines = format(entries);
  try {
    await withTransfer(conn, (reason) => socket.destroy(reason), async () => {
      await conn.reply(150, replies.opening);
      try {
        await sendLines(lines, socket);
      } catch (err) {
        return replyError(conn, err);
      }
      return conn.reply(226, replies.complete);
    });
  } finally {
    conn.connector.end();
  }
}

/** The same entries, the first of them read already (its failure thrown here). */
async function peeked<T>(entries: AsyncIterator<T>): Promise<AsyncIterator<T>> {
  let first: IteratorResult<T> | null = await entries.next();
  return {
    next: () => {
      if (first === null) return entries.next();
      const item = first;
      first = null;
      return Promise.resolve(item);
    },
  };
}

/** LIST lines (`ls -l`), or NLST's bare names. */
function listingOf(namesOnly: boolean): Handler {
  return function (this: FtpConn, { command }) {
    const replies = { opening: 'Here comes the directory listing', complete: 'Directory send OK' };
    return sendListing(this, replies, async () => volumeOf(this).list(listPathArg(command.arg)), (entries) => {
      const now = Date.now();
      return mapEntries(entries, (stat) => (namesOnly ? stat.name : lsLine(stat, now)));
    });
  };
}

async function* mapEntries(entries: AsyncIterator<VolumeStat>, line: (stat: VolumeStat) => string): AsyncGenerator<string> {
  for (let item = await entries.next(); !item.done; item = await entries.next()) yield line(item.value);
}

export const listingHandlers: Record<string, Handler> = {
  LIST: listingOf(false),
  NLST: listingOf(true),
};
