// Commands that change or report attributes: MFMT (RFC draft-somers-ftp-mfxx), SITE CHMOD,
// SITE UTIME (both forms clients send), AVBL (draft-peterson-streamlined-ftp-command-extensions).
import { ErrorCodes, mogError } from '../../errors.ts';
import { replyError, volumeOf } from './handler.ts';
import type { CommandSpec, FtpConn, Handler } from '../connection.ts';
import { ftpTime } from './formats.ts';
import { oneLine } from '../replies.ts';

/** YYYYMMDDHHMM[SS][.fff] in UTC, or null when it is not a valid time. */
export function parseFtpTime(text: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.(\d{1,3}))?$/.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, s = '0', ms = '0'] = m.slice(1).map((v) => v ?? undefined) as string[];
  const date = new Date(Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s, +ms.padEnd(3, '0')));
  if (date.getUTCMonth() !== +mo! - 1 || date.getUTCDate() !== +d! || +h! > 23 || +mi! > 59 || +s > 60) return null;
  return date;
}

const mfmt: Handler = async function (this: FtpConn, { command }) {
  try {
    const m = /^(\S+)\s+(.+)$/.exec(command.arg ?? '');
    const when = m ? parseFtpTime(m[1]!) : null;
    if (!m || !when) return this.reply(501, 'Syntax: MFMT YYYYMMDDHHMMSS <path>');
    await volumeOf(this).setMtime(m[2]!, when);
    return this.reply(213, `Modify=${ftpTime(when)}; ${oneLine(m[2]!)}`);
  } catch (err) {
    return replyError(this, err);
  }
};

const avbl: Handler = async function (this: FtpConn, { command }) {
  try {
    const vol = volumeOf(this);
    if (command.arg && command.arg.trim() !== '') {
      const target = await vol.stat(command.arg);
      if (target.kind !== 'dir') throw mogError(ErrorCodes.NOT_A_DIRECTORY, `${target.name} is not a directory`);
    }
    return this.reply(213, String(await vol.available()));
  } catch (err) {
    return replyError(this, err);
  }
};

/** SITE UTIME <time> <path> (lftp, Pure-FTPd) or SITE UTIME <path> <atime> <mtime> <ctime> UTC (ProFTPD). */
function parseUtime(arg: string): { path: string; mtime: Date } | null {
  const five = /^(.+?)\s+(\d{12,14})\s+(\d{12,14})\s+(\d{12,14})\s+UTC$/i.exec(arg);
  if (five) {
    const mtime = parseFtpTime(five[3]!);
    return mtime ? { path: five[1]!, mtime } : null;
  }
  const two = /^(\d{12,14})\s+(.+)$/.exec(arg);
  if (two) {
    const mtime = parseFtpTime(two[1]!);
    return mtime ? { path: two[2]!, mtime } : null;
  }
  return null;
}

const SITE_HELP = ['CHMOD <mode> <path>', 'UTIME <YYYYMMDDHHMMSS> <path>', 'UTIME <path> <atime> <mtime> <ctime> UTC', 'HELP'];

const site: Handler = async function (this: FtpConn, { command }) {
  const arg = (command.arg ?? '').trim();
  const space = arg.indexOf(' ');
  const sub = (space < 0 ? arg : arg.slice(0, space)).toUpperCase();
  const rest = space < 0 ? '' : arg.slice(space + 1).replace(/^\s+/, '');
  try {
    if (sub === 'CHMOD') {
      const m = /^([0-7]{1,4})\s+(.+)$/.exec(rest);
      if (!m) return this.reply(501, 'Syntax: SITE CHMOD <octal mode> <path>');
      await volumeOf(this).chmod(m[2]!, parseInt(m[1]!, 8));
      return this.reply(200, `SITE CHMOD ${m[1]} done`);
    }
    if (sub === 'UTIME') {
      const parsed = parseUtime(rest);
      if (!parsed) return this.reply(501, 'Syntax: SITE UTIME YYYYMMDDHHMMSS <path>');
      await volumeOf(this).setMtime(parsed.path, parsed.mtime);
      return this.reply(200, `Modification time set to ${ftpTime(parsed.mtime)}`);
    }
    if (sub === 'HELP' || sub === '') return this.reply(214, 'SITE commands:', ...SITE_HELP.map((l) => ({ raw: true, message: ` ${l}` })), 'End');
    return this.reply(502, `Unknown SITE command ${oneLine(sub)}; try SITE HELP`);
  } catch (err) {
    return replyError(this, err);
  }
};

export const attributeCommands: Record<string, CommandSpec> = {
  MFMT: { handler: mfmt, syntax: 'MFMT YYYYMMDDHHMMSS <path>', description: 'Set a file\'s modification time (UTC)' },
  AVBL: { handler: avbl, syntax: 'AVBL [<directory>]', description: 'Bytes you may still store (quota, else the cluster\'s free space)' },
  SITE: { handler: site, syntax: 'SITE CHMOD|UTIME|HELP ...', description: 'Site commands: CHMOD, UTIME' },
};
