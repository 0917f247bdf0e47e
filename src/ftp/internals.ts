// ftp-srv 4.6.3 is unmaintained; we keep it and own our fixes. This module is the only place
// that reaches into its internals (all CommonJS), and it patches them once per process:
// - the command registry gets our handlers (src/ftp/commands.ts);
// - the parser keeps the argument verbatim (4.6.3 strips every `"` and eats `-x` as a flag);
// - input is line-buffered and run strictly in order (4.6.3 parses each TCP packet on its own,
//   so a command split across packets became two commands), with ABOR let through at once;
// - a line longer than MAX_LINE closes the connection instead of growing a buffer.
import { createRequire } from 'node:module';
import type { FtpConn, Handler } from './connection.ts';

const require = createRequire(import.meta.url);

/* eslint-disable @typescript-eslint/no-explicit-any */
export const FtpSrv: new (options: Record<string, unknown>) => any = require('ftp-srv/src/index.js');
const FtpConnection: { prototype: any } = require('ftp-srv/src/connection.js');
const FtpCommands: { prototype: any } = require('ftp-srv/src/commands/index.js');
const registry: Record<string, { directive: string | string[]; handler: Handler; flags?: Record<string, unknown>; syntax?: string; description?: string }> =
  require('ftp-srv/src/commands/registry.js');

export const MAX_LINE = 8192;
const IMMEDIATE = new Set(['ABOR']);

let patched = false;

export function patchFtpSrv(handlers: Record<string, Handler>): void {
  if (patched) return;
  patched = true;
  for (const [directive, handler] of Object.entries(handlers)) {
    const existing = registry[directive];
    registry[directive] = { ...(existing ?? {}), directive, handler };
  }

  FtpCommands.prototype.parse = function parse(message: string) {
    const space = message.indexOf(' ');
    const directive = (space < 0 ? message : message.slice(0, space)).trim().toUpperCase();
    const rest = space < 0 ? '' : message.slice(space + 1);
    return { directive, arg: rest === '' ? null : rest, flags: [], raw: message };
  };

  FtpConnection.prototype._handleData = function handleData(this: FtpConn & Record<string, any>, data: Buffer) {
    this._mogPending = this._mogPending ? Buffer.concat([this._mogPending, data]) : data;
    this._mogQueue ??= Promise.resolve();
    for (;;) {
      const pending: Buffer = this._mogPending;
      const nl = pending.indexOf(0x0a);
      if (nl < 0) {
        if (pending.length > MAX_LINE) {
          this._mogPending = null;
          this.close(500, 'Command line too long');
        }
        return;
      }
      const line = stripTelnet(pending.subarray(0, nl)).toString(this.encoding).replace(/\r$/, '');
      this._mogPending = pending.subarray(nl + 1);
      if (nl > MAX_LINE) {
        this.reply(500, 'Command line too long');
        continue;
      }
      if (line.trim() === '') continue;
      const directive = line.split(' ', 1)[0]!.toUpperCase();
      if (IMMEDIATE.has(directive)) {
        this.commands.handle(line);
        continue;
      }
      this._mogQueue = this._mogQueue.then(
        () => this.commands.handle(line),
        () => this.commands.handle(line),
      ).catch((err: unknown) => this.log.error({ err }, 'command handler failed'));
    }
  };
}

/** Drops Telnet IAC sequences (clients send IP/Synch before an urgent ABOR). */
function stripTelnet(line: Buffer): Buffer {
  if (!line.includes(0xff)) return line;
  const out: number[] = [];
  for (let i = 0; i < line.length; i++) {
    if (line[i] === 0xff && i + 1 < line.length && line[i + 1]! >= 0xf0) i++;
    else out.push(line[i]!);
  }
  return Buffer.from(out);
}
