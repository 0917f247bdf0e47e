// What STAT, FSTAT and READDIR show for an entry: size, the stored permission bits with the file
// type, and the modification time (atime is the same: the store keeps none). No owners are kept,
// so every entry shows as uid and gid 0 and, in the long listing, as the logged-in user.
import type { VolumeStat } from '../vfs/volume.ts';
import type { Attrs, NameEntry } from './wire.ts';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const SIX_MONTHS_MS = 182 * 24 * 3600 * 1000;

export function attrsOf(s: Pick<VolumeStat, 'kind' | 'size' | 'mode' | 'mtime'>): Attrs {
  const secs = Math.floor(s.mtime.getTime() / 1000);
  return {
    size: s.kind === 'dir' ? 0 : s.size,
    uid: 0,
    gid: 0,
    permissions: (s.kind === 'dir' ? S_IFDIR : S_IFREG) | (s.mode & 0o7777),
    atime: secs,
    mtime: secs,
  };
}

function permissionString(kind: 'file' | 'dir', mode: number): string {
  const bits = 'rwxrwxrwx';
  let out = kind === 'dir' ? 'd' : '-';
  for (let i = 0; i < 9; i++) out += mode & (1 << (8 - i)) ? bits[i] : '-';
  return out;
}

/** `ls -l`'s line, which OpenSSH's `ls -l` prints as the server sends it. */
export function longName(s: VolumeStat, owner: string, now = Date.now()): string {
  const t = s.mtime;
  const day = String(t.getUTCDate()).padStart(2, ' ');
  const recent = Math.abs(now - t.getTime()) < SIX_MONTHS_MS;
  const when = recent
    ? `${String(t.getUTCHours()).padStart(2, '0')}:${String(t.getUTCMinutes()).padStart(2, '0')}`
    : ` ${t.getUTCFullYear()}`;
  const size = String(s.kind === 'dir' ? 0 : s.size).padStart(8, ' ');
  return `${permissionString(s.kind, s.mode)}    1 ${owner} ${owner} ${size} ${MONTHS[t.getUTCMonth()]} ${day} ${when} ${s.name}`;
}

export function nameEntry(s: VolumeStat, owner: string): NameEntry {
  return { filename: s.name, longname: longName(s, owner), attrs: attrsOf(s) };
}
