// ftp-srv's FtpConnection as our command handlers see it (ftp-srv ships loose typings). Fields
// only ftp-srv-adapter.ts may replace are read-only here; the parts of ftp-srv that are not on
// this list (its server object, parser, registry and input handling) are reached through the
// adapter alone.
import type { Socket } from 'node:net';
import type { Volume } from '../vfs/volume.ts';

export interface FtpCommand {
  directive: string;
  arg: string | null;
  flags: string[];
  raw: string;
}

/** ftp-srv's data connector protocol: it ends the connector when the control connection closes. */
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
  /** Replaced only on AUTH TLS (ftp-srv-adapter.ts switchControlSocket). */
  readonly commandSocket: Socket;
  /** Replaced only through ftp-srv-adapter.ts setConnector. */
  readonly connector: Connector;
  fs: { volume: Volume } | null;
  username?: string;
  authenticated?: boolean;
  restByteCount: number | undefined;
  renameFrom?: string;
  transferType: string;
  encoding: BufferEncoding;
  /** ftp-srv's flag for a TLS control connection (AUTH TLS done). */
  secure?: boolean;
  login(username: string, password: string): PromiseLike<void>;
  /** Commands received and not yet answered, and when the client last did anything (ftp-srv-adapter.ts). */
  mogInFlight?: number;
  mogLastActive?: number;
  log: { error(...args: unknown[]): void; info(...args: unknown[]): void; debug(...args: unknown[]): void };
  reply(options: number | Record<string, unknown>, ...letters: unknown[]): Promise<unknown>;
  close(code?: number, message?: string): Promise<unknown>;
  /** Set by our handlers while a transfer runs. */
  mogTransfer?: ActiveTransfer | null;
}

export type Handler = (this: FtpConn, args: { command: FtpCommand; log: FtpConn['log'] }) => Promise<unknown> | unknown;

/** A command as we register it in ftp-srv's registry (ftp-srv-adapter.ts). */
export interface CommandSpec {
  handler: Handler;
  /** Allowed before login. */
  noAuth?: boolean;
  syntax: string;
  description: string;
}
