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
    keys.push({ file, key, type: parsed.type, fingerprint: fingerprintOf(parsed.getPublicSSH()) });
  }
  return keys;
}

/** DIR/ssh_host_ed25519_key and DIR/ssh_host_rsa_key, made when missing; returns their paths. */
export async function ensureHostKeys(dir: string): Promise<string[]> {
  const made: Array<[string, () => string]> = [
    ['ssh_host_ed25519_key', () => ssh2.utils.generateKeyPairSync('ed25519').private],
    ['ssh_host_rsa_key', () => ssh2.utils.generateKeyPairSync('rsa', { bits: 3072 }).private],
  ];
  const files: string[] = [];
  for (const [name, generate] of made) {
    const file = join(dir, name);
    files.push(file);
    if (await access(file).then(() => true, () => false)) continue;
    // 'wx': never over a key that appeared meanwhile (another run's, or the operator's own).
    await writeFile(file, generate(), { mode: 0o600, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
  return files;
}
