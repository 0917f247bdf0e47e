// The OpenSSH extensions this server announces (session.ts) and the ones it refuses by name.
// statvfs reports the user's quota room, or the cluster's free space for a user without a quota
// (Volume.available): `df` in sftp shows what an upload can still use.
import { ErrorCodes, isMogError, mogError } from '../errors.ts';
import { MAX_NAME_BYTES } from '../tracker/names.ts';
import type { SftpContext } from './context.ts';
import { type FieldReader, Status, statusPacket, statvfsPacket } from './wire.ts';

const BLOCK = 4096;

export async function handleExtended(s: SftpContext, id: number, name: string, f: FieldReader): Promise<void> {
  switch (name) {
    case 'posix-rename@openssh.com':
      return rename(s, id, f.text(), f.text(), true);
    case 'statvfs@openssh.com':
      await s.volume.stat(f.text());
      return statvfs(s, id);
    case 'fstatvfs@openssh.com':
      s.handleOf(f.bytes());
      return statvfs(s, id);
    case 'fsync@openssh.com':
      return fsync(s, id, f.bytes());
    case 'hardlink@openssh.com':
      return s.send(statusPacket(id, Status.OP_UNSUPPORTED, 'Hard links are not supported'));
    default:
      return s.send(statusPacket(id, Status.OP_UNSUPPORTED, `Extension ${name} is not supported`));
  }
}

async function statvfs(s: SftpContext, id: number): Promise<void> {
  const free = Math.floor((await s.volume.available()) / BLOCK);
  s.send(statvfsPacket(id, { bsize: BLOCK, blocks: free, bfree: free, bavail: free, namemax: MAX_NAME_BYTES, readOnly: s.volume.readOnly }));
}

/**
 * A read handle, or a write handle with nothing written, has nothing to make durable. Bytes of an
 * upload become durable only at CLOSE, which commits them verified on every replica: fsync
 * before then cannot promise what it asks, so it says so instead of answering OK.
 */
function fsync(s: SftpContext, id: number, raw: Buffer): void {
  const h = s.handleOf(raw);
  if (h.kind === 'write' && h.stat.size > 0)
    throw mogError(ErrorCodes.INVALID_ARGUMENT, 'Uploaded bytes become durable when the file is closed (CLOSE commits them on every replica)');
  s.ok(id);
}

/**
 * RENAME (version 3) fails when the target exists, as OpenSSH's server does; the posix-rename
 * extension replaces a file in one step (the store's rename does that for file over file).
 */
export async function rename(s: SftpContext, id: number, from: string, to: string, replace: boolean): Promise<void> {
  if (!replace) {
    const exists = await s.volume.stat(to).then(
      () => true,
      (err: unknown) => {
        if (isMogError(err, ErrorCodes.NOT_FOUND)) return false;
        throw err;
      },
    );
    if (exists) throw mogError(ErrorCodes.EXISTS, `${to} already exists`);
  }
  await s.volume.rename(from, to);
  s.ok(id);
}

