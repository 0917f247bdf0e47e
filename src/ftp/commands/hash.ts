// HASH (draft-bryan-ftpext-hash): the digest of a whole file in the algorithm chosen with
// OPTS HASH. When it is the algorithm the store recorded at upload, the stored value is the
// answer; otherwise a replica is streamed through the hash (and a whole-file read is verified
// against the stored checksum on the way, see vfs/download.ts).
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { ErrorCodes, mogError } from '../../errors.ts';
import type { Volume } from '../../vfs/volume.ts';
import type { CommandSpec, FtpConn, Handler } from '../connection.ts';
import { settingsOf } from '../ftp-srv-adapter.ts';
import { oneLine } from '../replies.ts';
import { type HashAlg, stateOf } from '../settings.ts';
import { replyError, requireArg, volumeOf } from './handler.ts';

const NODE_ALG: Record<Exclude<HashAlg, 'CRC32'>, string> = { 'SHA-256': 'sha256', 'SHA-1': 'sha1', MD5: 'md5' };
/** Our algorithm names for the checksums the store keeps (FileRow.checksumAlg). */
const STORED: Record<string, HashAlg> = { sha256: 'SHA-256', md5: 'MD5' };

export async function fileDigest(conn: FtpConn, vol: Volume, path: string, alg: HashAlg): Promise<{ size: number; hex: string }> {
  const stat = await vol.stat(path);
  if (stat.kind === 'dir' || stat.fid === null) throw mogError(ErrorCodes.IS_A_DIRECTORY, `${stat.name} is a directory`);
  const file = await vol.fileOf(stat);
  if (!file) throw mogError(ErrorCodes.NOT_FOUND, `${stat.name} was just removed`);
  if (file.checksum && STORED[file.checksumAlg] === alg) return { size: file.length, hex: file.checksum.toLowerCase() };
  const { stream, size } = await vol.openDownload(path);
  if (alg === 'CRC32') {
    let crc = 0;
    for await (const chunk of stream) crc = crc32(chunk as Buffer, crc);
    return { size, hex: (crc >>> 0).toString(16).padStart(8, '0') };
  }
  const hash = createHash(NODE_ALG[alg]);
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return { size, hex: hash.digest('hex') };
}

const hash: Handler = async function (this: FtpConn, { command }) {
  try {
    const path = requireArg(command.arg, 'HASH <path>');
    const alg = stateOf(this).hashAlg;
    const { size, hex } = await fileDigest(this, volumeOf(this), path, alg);
    return this.reply(213, `${alg} 0-${size} ${hex} ${oneLine(path)}`);
  } catch (err) {
    return replyError(this, err);
  }
};

export const hashCommands: Record<string, CommandSpec> = {
  HASH: { handler: hash, syntax: 'HASH <path>', description: 'Digest of a file in the algorithm chosen with OPTS HASH (SHA-256, SHA-1, MD5, CRC32)' },
};
