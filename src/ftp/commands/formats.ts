// The text formats of listings and times. LIST uses the `ls -l` shape every client parses
// (FileZilla, lftp, curl); times older than six months show the year instead of the time, as ls does.
import type { VolumeStat } from '../../vfs/volume.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const SIX_MONTHS_MS = 182 * 24 * 3600 * 1000;

export function lsLine(stat: VolumeStat, now: number): string {
  const type = stat.kind === 'dir' ? 'd' : '-';
  const mode = stat.mode || (stat.kind === 'dir' ? 0o755 : 0o644);
  const perms = [0o400, 0o200, 0o100, 0o040, 0o020, 0o010, 0o004, 0o002, 0o001]
    .map((bit, i) => (mode & bit ? 'rwx'[i % 3] : '-'))
    .join('');
  const t = stat.mtime;
  const day = String(t.getUTCDate()).padStart(2, ' ');
  const recent = Math.abs(now - t.getTime()) < SIX_MONTHS_MS;
  const when = recent
    ? `${String(t.getUTCHours()).padStart(2, '0')}:${String(t.getUTCMinutes()).padStart(2, '0')}`
    : ` ${t.getUTCFullYear()}`;
  const links = stat.kind === 'dir' ? 2 : 1;
  return `${type}${perms} ${links} ftp ftp ${String(stat.size).padStart(12)} ${MONTHS[t.getUTCMonth()]} ${day} ${when} ${stat.name}`;
}

/** MDTM's and MLSD's time format: YYYYMMDDHHMMSS in UTC. */
export function ftpTime(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(date.getUTCFullYear(), 4)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`;
}

/** Separates ls-style options (`LIST -la`, `NLST -1`) from the path argument. */
export function listPathArg(arg: string | null): string {
  if (!arg) return '.';
  const rest = arg.replace(/^(?:-[A-Za-z1]+(?:\s+|$))+/, '');
  return rest.trim() === '' ? '.' : rest;
}
