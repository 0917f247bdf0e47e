// The parts of ftp-srv's FtpConnection our command handlers use (ftp-srv ships loose typings).
import type { Socket } from 'node:net';
import type { Volume } from '../vfs/volume.ts';
import type { ConnState, FtpSettings } from './settings.ts';

export interface FtpCommand {
  directive: string;
  arg: string | null;
  flags: string[];
  raw: string;
}

export interface Connector {
  type: string | false;
  socket: Socket | null;
  dataServer?: { close(): void } | null;
  waitForConnection(opts?: { timeout?: number }): PromiseLike<Socket>;
  closeServer(): void;
  end(): void;
}

/** A running transfer, so that ABOR and a lost control connection can stop it. */
export interface ActiveTransfer {
  abort(reason: Error): void;
}

export interface FtpConn {
  id: string;
  ip: string | undefined;
  commandSocket: Socket;
  connector: Connector;
  fs: { volume: Volume } | null;
  username?: string;
  authenticated?: boolean;
  restByteCount: number | undefined;
  renameFrom?: string;
  transferType: string;
  encoding: BufferEncoding;
  server: { options: Record<string, unknown>; mog?: FtpSettings };
  /** ftp-srv's flag for a TLS control connection (AUTH TLS done). */
  secure?: boolean;
  login(username: string, password: string): PromiseLike<void>;
  /** Our protocol state (settings.ts stateOf). */
  mogState?: ConnState;
  /** Commands received and not yet answered, and when the client last did anything (internals.ts). */
  mogInFlight?: number;
  mogLastActive?: number;
  log: { error(...args: unknown[]): void; info(...args: unknown[]): void; debug(...args: unknown[]): void };
  reply(options: number | Record<string, unknown>, ...letters: unknown[]): Promise<unknown>;
  close(code?: number, message?: string): Promise<unknown>;
  /** Set by our handlers while a transfer runs. */
  mogTransfer?: ActiveTransfer | null;
}

export type Handler = (this: FtpConn, args: { command: FtpCommand; log: FtpConn['log'] }) => Promise<unknown> | unknown;

/** A command as we register it in ftp-srv's registry (internals.ts registerCommands). */
export interface CommandSpec {
  handler: Handler;
  /** Allowed before login. */
  noAuth?: boolean;
  syntax: string;
  description: string;
}
