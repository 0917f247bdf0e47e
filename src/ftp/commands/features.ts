// What the server says about itself: FEAT (only what is really offered: the TLS lines only with
// TLS configured, MLST and HASH with the current selections starred), OPTS, HELP and STAT.
import type { CommandSpec, FtpConn, Handler } from '../connection.ts';
import { registeredCommands, settingsOf } from '../ftp-srv-adapter.ts';
import { oneLine } from '../replies.ts';
import { HASH_ALGS, type HashAlg, MLST_FACTS, stateOf } from '../settings.ts';
import { lsLine } from './formats.ts';
import { replyError, volumeOf } from './handler.ts';

const STAT_LIMIT = 10_000;

/** The FEAT lines for this connection, without the leading space. */
export function featureLines(conn: FtpConn): string[] {
  const state = stateOf(conn);
  const mlst = MLST_FACTS.map((f) => `${f}${state.mlstFacts.has(f.toLowerCase()) ? '*' : ''};`).join('');
  const hash = HASH_ALGS.map((a) => `${a}${a === state.hashAlg ? '*' : ''}`).join(';');
  const lines = [
    'AVBL',
    'EPRT',
    'EPSV',
    `HASH ${hash}`,
    'MDTM',
    'MFMT',
    `MLST ${mlst}`,
    'REST STREAM',
    'SIZE',
    'TVFS',
    'UTF8',
  ];
  if (settingsOf(conn).tls) lines.unshift('AUTH TLS', 'PBSZ', 'PROT');
  return lines;
}

const feat: Handler = function (this: FtpConn) {
  return this.reply(211, 'Extensions supported:', ...featureLines(this).map((l) => ({ raw: true, message: ` ${l}` })), 'End');
};

const opts: Handler = function (this: FtpConn, { command }) {
  const arg = (command.arg ?? '').trim();
  const space = arg.indexOf(' ');
  const option = (space < 0 ? arg : arg.slice(0, space)).toUpperCase();
  const value = space < 0 ? '' : arg.slice(space + 1).trim();
  const state = stateOf(this);
  switch (option) {
    case 'UTF8':
    case 'UTF-8': {
      const v = value.toUpperCase();
      if (v !== 'ON' && v !== 'OFF' && v !== '') return this.reply(501, 'Syntax: OPTS UTF8 ON');
      // Names are always UTF-8 here; OFF is accepted and changes nothing (RFC 2640 lets us).
      return this.reply(200, 'UTF8 mode is always on');
    }
    case 'MLST': {
      const known = new Map(MLST_FACTS.map((f) => [f.toLowerCase(), f] as const));
      const chosen = value.split(';').map((f) => f.trim().toLowerCase()).filter((f) => known.has(f));
      state.mlstFacts = new Set(chosen);
      return this.reply(200, `MLST OPTS ${chosen.map((f) => `${known.get(f)};`).join('')}`);
    }
    case 'HASH': {
      if (value === '') return this.reply(200, state.hashAlg);
      const alg = HASH_ALGS.find((a) => a === value.toUpperCase());
      if (!alg) return this.reply(501, `Unknown hash algorithm; choose one of ${HASH_ALGS.join(', ')}`);
      state.hashAlg = alg as HashAlg;
      return this.reply(200, alg);
    }
    default:
      return this.reply(501, `Unknown option ${oneLine(option)}`);
  }
};

const help: Handler = function (this: FtpConn, { command }) {
  const all = registeredCommands();
  const want = (command.arg ?? '').trim().toUpperCase();
  if (want) {
    const found = all.find((c) => c.directive === want);
    if (!found) return this.reply(502, `Unknown command ${oneLine(want)}`);
    return this.reply(214, `Syntax: ${found.syntax}${found.description ? ` (${found.description})` : ''}`);
  }
  const rows: string[] = [];
  for (let i = 0; i < all.length; i += 8) rows.push(' ' + all.slice(i, i + 8).map((c) => c.directive.padEnd(5)).join(' '));
  return this.reply(214, 'The following commands are recognized:', ...rows.map((r) => ({ raw: true, message: r })), 'Help OK');
};

const stat: Handler = async function (this: FtpConn, { command }) {
  const state = stateOf(this);
  if (command.arg === null || command.arg.trim() === '') {
    const lines = [
      `Connected from ${this.ip ?? 'unknown'}`,
      this.fs ? `Logged in as ${oneLine(this.fs.volume.user.name)}` : 'Not logged in',
      `TYPE: ${this.transferType === 'ascii' ? 'ASCII' : 'BINARY'}; STRUcture: File; transfer MODE: Stream`,
      `Control connection: ${state.tls ? 'TLS' : 'clear text'}; data connections: ${state.prot === 'P' ? 'TLS (PROT P)' : 'clear text (PROT C)'}`,
    ];
    return this.reply(211, 'mogftp status:', ...lines.map((l) => ({ raw: true, message: ` ${l}` })), 'End of status');
  }
  try {
    const vol = volumeOf(this);
    const target = await vol.stat(command.arg);
    const now = Date.now();
    const lines: string[] = [];
    for await (const entry of vol.list(command.arg)) {
      if (lines.length >= STAT_LIMIT) {
        lines.push(`(listing cut at ${STAT_LIMIT} entries: use LIST or MLSD)`);
        break;
      }
      lines.push(lsLine(entry, now));
    }
    const code = target.kind === 'dir' ? 212 : 213;
    return this.reply(code, 'Status follows:', ...lines.map((l) => ({ raw: true, message: ` ${oneLine(l)}` })), 'End of status');
  } catch (err) {
    return replyError(this, err);
  }
};

export const featureCommands: Record<string, CommandSpec> = {
  FEAT: { handler: feat, noAuth: true, syntax: 'FEAT', description: 'List the extensions this server supports' },
  OPTS: { handler: opts, noAuth: true, syntax: 'OPTS UTF8 ON | MLST <facts> | HASH <algorithm>', description: 'Set options of a command' },
  HELP: { handler: help, noAuth: true, syntax: 'HELP [<command>]', description: 'Commands and their syntax' },
  STAT: { handler: stat, syntax: 'STAT [<path>]', description: 'Connection status, or a listing over the control connection' },
};
