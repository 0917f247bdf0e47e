// The SFTP version 3 wire format (draft-ietf-secsh-filexfer-02, which OpenSSH, curl's libssh2,
// lftp, rclone and FileZilla speak): length-prefixed packets of a type byte, a request id and
// fields of big-endian integers and length-prefixed strings. This module only encodes and
// decodes; what a request does is session.ts's business.

/** Request and response packet types (draft-02 section 3). */
export const Packet = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

/** Status codes (draft-02 section 7): all a version 3 client knows. */
export const Status = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

/** SSH_FXF_* bits of OPEN's pflags. */
export const OpenFlags = { READ: 1, WRITE: 2, APPEND: 4, CREAT: 8, TRUNC: 0x10, EXCL: 0x20 } as const;

const ATTR_SIZE = 1;
const ATTR_UIDGID = 2;
const ATTR_PERMISSIONS = 4;
const ATTR_ACMODTIME = 8;
const ATTR_EXTENDED = 0x80000000;

/** File attributes as a client sends or receives them; absent fields were not sent. */
export interface Attrs {
  size?: number;
  uid?: number;
  gid?: number;
  /** st_mode: type bits and permission bits. */
  permissions?: number;
  atime?: number;
  mtime?: number;
}

/** A malformed packet: the session answers BAD_MESSAGE (or ends, when the framing itself is broken). */
export class BadMessage extends Error {}

/** Reads the fields of one packet's body in order; running past the end throws BadMessage. */
export class FieldReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  u32(): number {
    if (this.pos + 4 > this.buf.length) throw new BadMessage('packet too short');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): number {
    if (this.pos + 8 > this.buf.length) throw new BadMessage('packet too short');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new BadMessage('64-bit value out of range');
    return Number(v);
  }

  bytes(): Buffer {
    const len = this.u32();
    if (this.pos + len > this.buf.length) throw new BadMessage('string runs past the packet');
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  /** A UTF-8 string: a path or name. Invalid UTF-8 is refused rather than silently replaced. */
  text(): string {
    const raw = this.bytes();
    const s = raw.toString('utf8');
    if (!Buffer.from(s, 'utf8').equals(raw)) throw new BadMessage('a name is not valid UTF-8');
    return s;
  }

  attrs(): Attrs {
    const flags = this.u32();
    const a: Attrs = {};
    if (flags & ATTR_SIZE) a.size = this.u64();
    if (flags & ATTR_UIDGID) {
      a.uid = this.u32();
      a.gid = this.u32();
    }
    if (flags & ATTR_PERMISSIONS) a.permissions = this.u32();
    if (flags & ATTR_ACMODTIME) {
      a.atime = this.u32();
      a.mtime = this.u32();
    }
    if (flags & ATTR_EXTENDED) {
      const count = this.u32();
      for (let i = 0; i < count; i++) {
        this.bytes();
        this.bytes();
      }
    }
    return a;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }
}

/** Builds one outgoing packet: length, type, then fields. */
class PacketWriter {
  private readonly parts: Buffer[] = [];
  private size = 0;

  constructor(type: number) {
    this.push(Buffer.from([type]));
  }

  private push(b: Buffer): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }

  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v >>> 0);
    return this.push(b);
  }

  u64(v: number): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(v))));
    return this.push(b);
  }

  bytes(v: Buffer | string): this {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    return this.u32(b.length).push(b);
  }

  attrs(a: Attrs): this {
    let flags = 0;
    if (a.size !== undefined) flags |= ATTR_SIZE;
    if (a.uid !== undefined && a.gid !== undefined) flags |= ATTR_UIDGID;
    if (a.permissions !== undefined) flags |= ATTR_PERMISSIONS;
    if (a.atime !== undefined && a.mtime !== undefined) flags |= ATTR_ACMODTIME;
    this.u32(flags);
    if (a.size !== undefined) this.u64(a.size);
    if (flags & ATTR_UIDGID) this.u32(a.uid!).u32(a.gid!);
    if (a.permissions !== undefined) this.u32(a.permissions);
    if (flags & ATTR_ACMODTIME) this.u32(a.atime!).u32(a.mtime!);
    return this;
  }

  done(): Buffer {
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(this.size);
    return Buffer.concat([len, ...this.parts], 4 + this.size);
  }
}

/** VERSION 3 with the extensions this server answers (OpenSSH clients use only what is announced). */
export function versionPacket(extensions: Record<string, string>): Buffer {
  const w = new PacketWriter(Packet.VERSION).u32(3);
  for (const [name, data] of Object.entries(extensions)) w.bytes(name).bytes(data);
  return w.done();
}

export function statusPacket(id: number, code: StatusCode, message: string): Buffer {
  return new PacketWriter(Packet.STATUS).u32(id).u32(code).bytes(message).bytes('en').done();
}

export function handlePacket(id: number, handle: Buffer): Buffer {
  return new PacketWriter(Packet.HANDLE).u32(id).bytes(handle).done();
}

export function dataPacket(id: number, data: Buffer): Buffer {
  return new PacketWriter(Packet.DATA).u32(id).bytes(data).done();
}

export interface NameEntry {
  filename: string;
  longname: string;
  attrs: Attrs;
}

export function namePacket(id: number, names: NameEntry[]): Buffer {
  const w = new PacketWriter(Packet.NAME).u32(id).u32(names.length);
  for (const n of names) w.bytes(n.filename).bytes(n.longname).attrs(n.attrs);
  return w.done();
}

export function attrsPacket(id: number, attrs: Attrs): Buffer {
  return new PacketWriter(Packet.ATTRS).u32(id).attrs(attrs).done();
}

/** statvfs@openssh.com's reply: eleven 64-bit fields (OpenSSH PROTOCOL, section 4.4). */
export function statvfsPacket(id: number, v: { bsize: number; blocks: number; bfree: number; bavail: number; namemax: number; readOnly: boolean }): Buffer {
  const w = new PacketWriter(Packet.EXTENDED_REPLY).u32(id);
  // f_bsize, f_frsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree, f_favail, f_fsid, f_flag, f_namemax
  for (const n of [v.bsize, v.bsize, v.blocks, v.bfree, v.bavail, 0, 0, 0, 0, v.readOnly ? 1 : 0, v.namemax]) w.u64(n);
  return w.done();
}

/** The largest packet a client may send: OpenSSH's own limit (256 KiB) plus the request's header. */
export const MAX_PACKET = 256 * 1024 + 1024;

/**
 * Cuts a byte stream into packets. Returns the complete ones and keeps the rest; a declared
 * length of zero or above MAX_PACKET throws (the framing cannot be trusted after that).
 */
export class PacketSplitter {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.pending.length >= 4) {
      const len = this.pending.readUInt32BE(0);
      if (len === 0 || len > MAX_PACKET) throw new BadMessage(`packet length ${len} out of range`);
      if (this.pending.length < 4 + len) break;
      out.push(this.pending.subarray(4, 4 + len));
      this.pending = this.pending.subarray(4 + len);
    }
    return out;
  }

  /** Bytes held waiting for the rest of a packet. */
  get buffered(): number {
    return this.pending.length;
  }
}
