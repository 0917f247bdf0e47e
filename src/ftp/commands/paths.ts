// The commands that name a path and answer on the control connection: where the session is
// (PWD, CWD, CDUP), directories (MKD, RMD), DELE, SIZE, MDTM and renames (RNFR, RNTO), with the
// X-forms of RFC 775 that some clients still send.
import { ErrorCodes, mogError } from '../../errors.ts';
import type { Handler } from '../connection.ts';
import { quotePath } from '../replies.ts';
import { ftpTime } from './formats.ts';
import { requireArg, simple } from './handler.ts';

export const pathHandlers: Record<string, Handler> = {
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
