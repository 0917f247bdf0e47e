// MLSD and MLST (RFC 3659): machine-readable listings with the facts a client asked for
// (OPTS MLST). Permissions are what this user may do: none of the writing ones when read-only.
// x.class is the storage class: a file's own, a directory's the one files created in it get.
import { ErrorCodes, mogError } from '../../errors.ts';
import type { Volume, VolumeStat } from '../../vfs/volume.ts';
import type { CommandSpec, FtpConn, Handler } from '../connection.ts';
import { oneLine } from '../replies.ts';
import { MLST_FACTS, stateOf } from '../settings.ts';
import { ftpTime } from './formats.ts';
import { replyError, volumeOf } from './handler.ts';
import { sendListing } from './listing.ts';

/** `type=file;size=3;...;` with the selected facts, in the order FEAT lists them. */
export function mlstFacts(stat: VolumeStat, selected: Set<string>, readOnly: boolean, className: string | null = null): string {
  const dir = stat.kind === 'dir';
  const values: Record<(typeof MLST_FACTS)[number], string | null> = {
    type: dir ? 'dir' : 'file',
    size: dir ? null : String(stat.size),
    modify: ftpTime(stat.mtime),
    perm: dir ? (readOnly ? 'el' : 'cdeflmp') : readOnly ? 'r' : 'adfrw',
    unique: `m${stat.id.toString(16)}`,
    'UNIX.mode': '0' + (stat.mode || (dir ? 0o755 : 0o644)).toString(8).padStart(3, '0'),
    // A fact value may not hold ';' or start with a space (RFC 3659 7.5); class names are labels, checked anyway.
    'x.class': className !== null && /^[^;\s][^;\r\n]*$/.test(className) ? className : null,
  };
  let out = '';
  for (const fact of MLST_FACTS) {
    const value = values[fact];
    if (value !== null && selected.has(fact.toLowerCase())) out += `${fact}=${value};`;
  }
  return out;
}

const CLASS_PAGE = 500;

function argOrCwd(arg: string | null): string {
  return arg === null || arg.trim() === '' ? '.' : arg;
}

const mlsd: Handler = async function (this: FtpConn, { command }) {
  const path = argOrCwd(command.arg);
  const replies = { opening: 'Here comes the MLSD listing', complete: 'MLSD complete' };
  const open = async () => {
    const vol = volumeOf(this);
    const target = await vol.stat(path);
    if (target.kind !== 'dir') throw mogError(ErrorCodes.NOT_A_DIRECTORY, `${target.name} is not a directory (use MLST for a file)`);
    return vol.list(path);
  };
  await sendListing(this, replies, open, (entries) => mlsdLines(volumeOf(this), path, stateOf(this).mlstFacts, entries));
};

/** MLSD's lines. Classes are looked up a page at a time (one query for the page's files), only when selected. */
async function* mlsdLines(vol: Volume, path: string, selected: Set<string>, entries: AsyncIterator<VolumeStat>): AsyncGenerator<string> {
  let item = await entries.next();
  while (!item.done) {
    const page: VolumeStat[] = [];
    while (!item.done && page.length < CLASS_PAGE) {
      page.push(item.value);
      item = await entries.next();
    }
    const classes = selected.has('x.class') ? await vol.classesIn(path, page) : null;
    for (const stat of page) yield `${mlstFacts(stat, selected, vol.readOnly, classes?.get(stat.id) ?? null)} ${stat.name}`;
  }
}

const mlst: Handler = async function (this: FtpConn, { command }) {
  try {
    const vol = volumeOf(this);
    const path = argOrCwd(command.arg);
    const stat = await vol.stat(path);
    const shown = oneLine('/' + vol.resolve(path).join('/'));
    const selected = stateOf(this).mlstFacts;
    const cls = selected.has('x.class') ? await vol.classOf(path) : null;
    const facts = mlstFacts(stat, selected, vol.readOnly, cls?.name ?? null);
    return this.reply(250, `Listing ${shown}`, { raw: true, message: ` ${facts} ${shown}` }, 'End');
  } catch (err) {
    return replyError(this, err);
  }
};

export const mlsxCommands: Record<string, CommandSpec> = {
  MLSD: { handler: mlsd, syntax: 'MLSD [<directory>]', description: 'Machine-readable directory listing (RFC 3659) over a data connection' },
  MLST: { handler: mlst, syntax: 'MLST [<path>]', description: 'Machine-readable facts of one file or directory (RFC 3659)' },
};
