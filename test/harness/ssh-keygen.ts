// Real SSH key pairs for tests, made by OpenSSH's ssh-keygen (apt openssh-client), with the
// fingerprint ssh-keygen itself prints, so tests compare mogftp's fingerprints with OpenSSH's.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type KeygenType = 'ed25519' | 'ecdsa' | 'rsa' | 'dsa';

export interface GeneratedKey {
  /** The private key file (mode 0600, no passphrase). */
  privatePath: string;
  /** The public key file, `TYPE BASE64 COMMENT`. */
  publicPath: string;
  /** The public key line, without its newline. */
  line: string;
  /** What `ssh-keygen -l -E sha256` prints: 'SHA256:...'. */
  fingerprint: string;
  /** The key type on the line, e.g. 'ssh-ed25519'. */
  algorithm: string;
  /** The SSH wire blob (the line's base64, decoded). */
  blob: Buffer;
}

/** Makes a key pair in `dir` named `name` (`name` and `name.pub`). */
export async function sshKeygen(dir: string, name: string, type: KeygenType, opts: { bits?: number; comment?: string } = {}): Promise<GeneratedKey> {
  const privatePath = join(dir, name);
  const args = ['-q', '-t', type, '-N', '', '-C', opts.comment ?? `${name}@test`, '-f', privatePath];
  if (opts.bits !== undefined) args.push('-b', String(opts.bits));
  await run('ssh-keygen', args);
  const publicPath = `${privatePath}.pub`;
  const line = (await readFile(publicPath, 'utf8')).trim();
  const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicPath]);
  const fingerprint = stdout.split(' ')[1]!;
  const [algorithm, b64] = line.split(' ');
  return { privatePath, publicPath, line, fingerprint, algorithm: algorithm!, blob: Buffer.from(b64!, 'base64') };
}
