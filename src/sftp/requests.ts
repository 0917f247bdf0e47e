// Each SFTP request as Volume calls. Paths are the client's, resolved inside the user's home by
// the volume (absolute paths start at the home; `..` never leaves it). Failures are thrown and
// answered once, in session.ts, through status.ts.
import { ErrorCodes, isMogError, mogError } from '../errors.ts';
import { attrsOf, nameEntry } from './attrs.ts';
import { handleExtended, rename } from './extended.ts';
import { ReadHandle, WriteHandle } from './file-handles.ts';
import type { Handle, SftpContext } from './context.ts';
import {
  type Attrs,
  attrsPacket,
  dataPacket,
  type FieldReader,
  handlePacket,
  namePacket,
  OpenFlags,
  Packet,
  Status,
  statusPacket,
} from './wire.ts';

/** Largest READ answered in full: OpenSSH asks for at most this much and caps replies the same. */
const MAX_READ = 256 * 1024;

export async function handleRequest(s: SftpContext, type: number, id: number, f: FieldReader): Promise<void> {
  switch (type) {
    case Packet.OPEN:
      return open(s, id, f.text(), f.u32());
    case Packet.CLOSE:
      return close(s, id, f.bytes());
    case Packet.READ:
      return read(s, id, f.bytes(), f.u64(), f.u32());
    case Packet.WRITE:
      return write(s, id, f.bytes(), f.u64(), f.bytes());
    case Packet.STAT:
    case Packet.LSTAT:
      return s.send(attrsPacket(id, attrsOf(await s.volume.stat(f.text()))));
    case Packet.FSTAT:
      return s.send(attrsPacket(id, attrsOf(statOfHandle(s.handleOf(f.bytes())))));
    case Packet.SETSTAT:
      return setstat(s, id, f.text(), f.attrs());
    case Packet.FSETSTAT:
      return fsetstat(s, id, s.handleOf(f.bytes()), f.attrs());
    case Packet.OPENDIR:
      return opendir(s, id, f.text());
    case Packet.READDIR:
      return readdir(s, id, f.bytes());
    default:
      return pathRequest(s, type, id, f);
  }
}

async function pathRequest(s: SftpContext, type: number, id: number, f: FieldReader): Promise<void> {
  switch (type) {
    case Packet.REMOVE:
      await s.volume.remove(f.text());
      return s.ok(id);
    case Packet.MKDIR:
      await s.volume.mkdir(f.text());
      return s.ok(id);
    case Packet.RMDIR:
      await s.volume.rmdir(f.text());
      return s.ok(id);
    case Packet.REALPATH:
      return realpath(s, id, f.text());
    case Packet.RENAME:
      return rename(s, id, f.text(), f.text(), false);
    case Packet.READLINK:
      // No entry is a link: a path that exists is "not a link", one that does not is missing.
      await s.volume.stat(f.text());
      throw mogError(ErrorCodes.INVALID_ARGUMENT, 'Not a symbolic link');
    case Packet.SYMLINK:
      return s.send(statusPacket(id, Status.OP_UNSUPPORTED, 'Symbolic links are not supported'));
    case Packet.EXTENDED:
      return handleExtended(s, id, f.text(), f);
    default:
      return s.send(statusPacket(id, Status.OP_UNSUPPORTED, `Request type ${type} is not supported`));
  }
}

/** Resolved inside the home, whether it exists or not (clients ask for "." and for targets). */
function realpath(s: SftpContext, id: number, path: string): void {
  const shown = '/' + s.volume.resolve(path).join('/');
  const attrs: Attrs = {};
  s.send(namePacket(id, [{ filename: shown, longname: shown, attrs }]));
}

async function open(s: SftpContext, id: number, path: string, pflags: number): Promise<void> {
  if (s.handles.size >= s.limits.maxHandles) throw mogError(ErrorCodes.INVALID_ARGUMENT, `Too many open handles (at most ${s.limits.maxHandles})`);
  const writing = (pflags & (OpenFlags.WRITE | OpenFlags.APPEND)) !== 0;
  const existing = await s.volume.stat(path).catch((err: unknown) => {
    if (isMogError(err, ErrorCodes.NOT_FOUND)) return null;
    throw err;
  });
  if (existing?.kind === 'dir') throw mogError(ErrorCodes.IS_A_DIRECTORY, `${path} is a directory`);
  if (!writing) {
    if (!existing) throw mogError(ErrorCodes.NOT_FOUND, `${path}: no such file`);
    return s.send(handlePacket(id, s.newHandle(new ReadHandle(s.volume, path, existing))));
  }
  if (existing && pflags & OpenFlags.CREAT && pflags & OpenFlags.EXCL) throw mogError(ErrorCodes.EXISTS, `${path} already exists`);
  if (!existing && !(pflags & OpenFlags.CREAT)) throw mogError(ErrorCodes.NOT_FOUND, `${path}: no such file`);
  if (s.volume.readOnly) throw mogError(ErrorCodes.PERMISSION_DENIED, 'Permission denied: this account is read-only');
  const mode = { truncate: (pflags & OpenFlags.TRUNC) !== 0, append: (pflags & OpenFlags.APPEND) !== 0, existing };
  const handle = new WriteHandle(s.volume, path, mode, () => s.closed, s.reorder);
  if (mode.truncate || !existing) await handle.begin();
  s.send(handlePacket(id, s.newHandle(handle)));
}

async function close(s: SftpContext, id: number, raw: Buffer): Promise<void> {
  const h = s.handleOf(raw);
  s.handles.delete(raw.toString('hex'));
  if (h.kind === 'write') await h.close();
  else if (h.kind === 'read') h.close();
  s.ok(id);
}

async function read(s: SftpContext, id: number, raw: Buffer, offset: number, len: number): Promise<void> {
  const h = s.handleOf(raw);
  if (h.kind !== 'read') throw mogError(ErrorCodes.INVALID_ARGUMENT, 'This handle was not opened for reading');
  const data = await h.read(offset, Math.min(len, MAX_READ));
  s.send(data ? dataPacket(id, data) : statusPacket(id, Status.EOF, 'End of file'));
}

async function write(s: SftpContext, id: number, raw: Buffer, offset: number, data: Buffer): Promise<void> {
  const h = s.handleOf(raw);
  if (h.kind !== 'write') throw mogError(ErrorCodes.INVALID_ARGUMENT, 'This handle was not opened for writing');
  await h.write(offset, data, (err) => (err ? s.replyError(id, err, Packet.WRITE) : s.ok(id)));
}

/** Mode and modification time; a size equal to the file's is accepted, any other change refused. */
async function setstat(s: SftpContext, id: number, path: string, a: Attrs): Promise<void> {
  if (a.size !== undefined && a.size !== (await s.volume.stat(path)).size) return unsupportedSize(s, id);
  if (a.uid !== undefined) return s.send(statusPacket(id, Status.OP_UNSUPPORTED, 'Owners cannot be changed'));
  if (a.permissions !== undefined) await s.volume.chmod(path, a.permissions);
  if (a.mtime !== undefined) await s.volume.setMtime(path, new Date(a.mtime * 1000));
  s.ok(id);
}

async function fsetstat(s: SftpContext, id: number, h: Handle, a: Attrs): Promise<void> {
  if (h.kind === 'dir' || h.kind === 'read') return setstat(s, id, h.path, a);
  if (a.size !== undefined && a.size !== h.stat.size) return unsupportedSize(s, id);
  if (a.uid !== undefined) return s.send(statusPacket(id, Status.OP_UNSUPPORTED, 'Owners cannot be changed'));
  // ftruncate() at the end of the writes: the new version may end before the old one.
  if (a.size !== undefined) h.sizeSet = true;
  // An upload's new version does not exist yet: its mode and time are set when CLOSE commits it.
  if (a.permissions !== undefined) h.pendingAttrs.mode = a.permissions;
  if (a.mtime !== undefined) h.pendingAttrs.mtime = new Date(a.mtime * 1000);
  s.ok(id);
}

function unsupportedSize(s: SftpContext, id: number): void {
  s.send(statusPacket(id, Status.OP_UNSUPPORTED, 'Changing a file size in place is not supported; upload it again'));
}

async function opendir(s: SftpContext, id: number, path: string): Promise<void> {
  if (s.handles.size >= s.limits.maxHandles) throw mogError(ErrorCodes.INVALID_ARGUMENT, `Too many open handles (at most ${s.limits.maxHandles})`);
  const st = await s.volume.stat(path);
  if (st.kind !== 'dir') throw mogError(ErrorCodes.NOT_A_DIRECTORY, `${path} is not a directory`);
  const entries = s.volume.list(path)[Symbol.asyncIterator]();
  s.send(handlePacket(id, s.newHandle({ kind: 'dir', path, entries, done: false })));
}

/** One page of entries per READDIR, read from the store a page at a time: large directories stream. */
async function readdir(s: SftpContext, id: number, raw: Buffer): Promise<void> {
  const h = s.handleOf(raw);
  if (h.kind !== 'dir') throw mogError(ErrorCodes.NOT_A_DIRECTORY, 'This handle is not a directory');
  const owner = s.volume.user.name;
  const page = [];
  while (!h.done && page.length < s.limits.readdirPage) {
    const next = await h.entries.next();
    if (next.done) h.done = true;
    else page.push(nameEntry(next.value, owner));
  }
  if (page.length === 0) return s.send(statusPacket(id, Status.EOF, 'End of directory'));
  s.send(namePacket(id, page));
}

function statOfHandle(h: Handle): import('../vfs/volume.ts').VolumeStat {
  if (h.kind === 'dir') return { id: 0, name: h.path, kind: 'dir', size: 0, mtime: new Date(), mode: 0o755, fid: null, classId: null, isDirectory: () => true };
  return h.stat;
}
