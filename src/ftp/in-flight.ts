// The transfers running on one FTP listener, seen from outside the server: how many there are
// (so a stopping daemon can say what it waits for) and a way to abort them all (a second Ctrl-C).
// Connections are learnt from the control-socket channel listeners.ts publishes on; an aborted
// transfer fails like one the shutdown grace time ran out on: 426, nothing stored.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { ErrorCodes, mogError } from '../errors.ts';
import type { FtpConn } from './connection.ts';
import { controlSocketChannel } from './listeners.ts';

export interface InFlightTransfers {
  /** Transfers (STOR, RETR, ...) running now. */
  count(): number;
  /** Aborts every running transfer; uploads among them store nothing. Returns how many. */
  abortAll(): number;
  stop(): void;
}

/** Starts watching control connections accepted on the local ports `ports()` names. */
export function watchTransfers(ports: () => Array<number | null>): InFlightTransfers {
  const conns = new Set<FtpConn>();
  const onConn = (message: unknown) => {
    const { conn, socket } = message as { conn: FtpConn; socket: Socket };
    if (!ports().includes(socket.localPort ?? -1)) return;
    conns.add(conn);
    socket.once('close', () => conns.delete(conn));
  };
  subscribe(controlSocketChannel.name, onConn);
  const running = () => [...conns].filter((c) => !!c.mogTransfer);
  return {
    count: () => running().length,
    abortAll: () => {
      const now = running();
      for (const c of now) c.mogTransfer?.abort(mogError(ErrorCodes.TRANSFER_ABORTED, 'Server stopped by its operator: transfer aborted, nothing was stored'));
      return now.length;
    },
    stop: () => {
      unsubscribe(controlSocketChannel.name, onConn);
      conns.clear();
    },
  };
}
