// The server's host keys: read from files an operator names (`--host-key`, OpenSSH or PEM
// private keys), or, for the quickstart, made once in its data directory (ed25519 and RSA 3072,
// mode 0600) and reused, so clients see the same fingerprint on every run.
import { createHash } from 'node:crypto';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { describeError, ErrorCodes, mogError } from '../errors.ts';

export interface HostKey {
  file: string;
  key: Buffer;
  /** The key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-…). */
  type: string;
  /** As `ssh-keygen -lf` and OpenSSH's prompts show it: SHA256:base64. */
  fingerprint: string;
  /** The public key in SSH wire format (known_hosts, authorized_keys). */
  publicBlob: Buffer;
}

export function fingerprintOf(publicBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicBlob).digest('base64').replace(/=+$/, '')}`;
}

export async function loadHostKeys(files: string[]): Promise<HostKey[]> {
  if (files.length === 0) throw mogError(ErrorCodes.INVALID_ARGUMENT, 'The SFTP server needs at least one --host-key FILE (ssh-keygen -t ed25519 -N "" -f FILE makes one)');
  const keys: HostKey[] = [];
  for (const file of files) {
    const key = await readFile(file).catch((err: unknown) => {
      throw mogError(ErrorCodes.INVALID_ARGUMENT, `Cannot read the host key ${file}: ${describeError(err)}`);
    });
    const parsed = ssh2.utils.parseKey(key);
    if (parsed instanceof Error || Array.isArray(parsed) || !parsed.isPrivateKey())
      throw mogError(ErrorCodes.INVALID_ARGUMENT, `${file} is not an unencrypted SSH private key${parsed instanceof Error ? `: ${parsed.message}` : ''}`);
    if (parsed.type === 'ssh-dss') throw mogError(ErrorCodes.INVALID_ARGUMENT, `${file} is a DSA key, which this server does not offer; use ed25519, ECDSA or RSA`);
    const publicBlob = parsed.getPublicSSH();
    keys.push({ file, key, type: parsed.type, fingerprint: fingerprintOf(publicBlob), publicBlob });
  }
  return keys;
}

/** One private key in OpenSSH format from ssh2's generator, made off the event loop (RSA 3072 takes seconds). */
function generateOnce(type: 'ed25519' | 'rsa'): Promise<string> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, pair: { private: string }) => (err ? reject(err) : resolve(pair.private));
    if (type === 'rsa') ssh2.utils.generateKeyPair('rsa', { bits: 3072 }, done);
    else ssh2.utils.generateKeyPair('ed25519', done);
  });
}

// ssh2 1.17.0 strips every leading zero byte of the public key's BIT STRING, meant to drop only the
// unused-bits byte: an ed25519 key whose first byte is 0 (1 in 256) comes out 31 bytes long and is
// "Malformed" to every reader, ssh2's included (CI's quickstart died on one). So each new key is
// parsed before it is kept, and one that does not parse is thrown away and made again.
const GENERATE_TRIES = 8;

/** A new private key in OpenSSH format that parses back as a private key of its type. */
export async function generateHostKey(type: 'ed25519' | 'rsa'): Promise<string> {
  for (let i = 1; ; i++) {
    const key = await generateOnce(type);
    const parsed = ssh2.utils.parseKey(key);
    if (!(parsed instanceof Error) && !Array.isArray(parsed) && parsed.isPrivateKey() && parsed.type === `ssh-${type}`) return key;
    if (i === GENERATE_TRIES) throw mogError(ErrorCodes.INTERNAL, `Cannot make an ${type} host key: ${GENERATE_TRIES} generated keys did not parse back${parsed instanceof Error ? ` (${parsed.message})` : ''}`);
  }
}

/** DIR/ssh_host_ed25519_key and DIR/ssh_host_rsa_key, made (at once) when missing; returns their paths. */
export async function ensureHostKeys(dir: string): Promise<string[]> {
  const made = (['ed25519', 'rsa'] as const).map(async (type) => {
    const file = join(dir, `ssh_host_${type}_key`);
    if (await access(file).then(() => true, () => false)) return file;
    // 'wx': never over a key that appeared meanwhile (another run's, or the operator's own).
    await writeFile(file, await generateHostKey(type), { mode: 0o600, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    return file;
  });
  return Promise.all(made);
}
