// The SFTP door for tests: an in-process server on a running test cluster, with a fresh ed25519
// host key, and OpenSSH's sftp run in batch mode against it. The
// password reaches ssh through SSH_ASKPASS (SSH_ASKPASS_REQUIRE=force, OpenSSH 8.4+): no
// terminal and no sshpass needed.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { fingerprintOf, generateHostKey, loadHostKeys } from '../../src/sftp/host-keys.ts';
import { startSftpServer, type RunningSftpServer, type SftpLimits } from '../../src/sftp/server.ts';
import type { Cluster } from '../harness/cluster.ts';
import { run, type RunResult } from '../harness/clients.ts';

export interface TestSftp {
  server: RunningSftpServer;
  port: number;
  /** The ed25519 host key's SHA256 fingerprint, base64 without padding (curl's --hostpubsha256). */
  hostSha256: string;
  dir: string;
}

export async function startTestSftp(c: Cluster, dir: string, limits: Partial<SftpLimits> = {}): Promise<TestSftp> {
  await mkdir(dir, { recursive: true });
  // An ed25519 host key only: an RSA one costs seconds of CPU to make (the quickstart and
  // daemon tests cover RSA host keys).
  const file = join(dir, 'ssh_host_ed25519_key');
  await writeFile(file, await generateHostKey('ed25519'), { mode: 0o600, flag: 'w' });
  const keys = await loadHostKeys([file]);
  const server = await startSftpServer({ ...c.services, host: '127.0.0.1', port: 0, hostKeys: keys.map((k) => k.key), log: process.env.SFTP_TEST_LOG ? (level, msg, fields) => console.error(level, msg, fields) : () => {}, limits });
  const ed = keys.find((k) => k.type === 'ssh-ed25519')!;
  return { server, port: server.port, hostSha256: ed.fingerprint.slice('SHA256:'.length), dir };
}

/** Options every OpenSSH client run gets: no host key store, no agent, no config from $HOME. */
export function sshOptions(port: number, extra: string[] = []): string[] {
  return ['-F', '/dev/null', '-P', String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=no', '-o', 'NumberOfPasswordPrompts=1', ...extra];
}

/** An askpass program that answers `password` (made once per directory). */
export async function askpass(dir: string, password: string): Promise<string> {
  const file = join(dir, `askpass-${Buffer.from(password).toString('hex')}.sh`);
  await writeFile(file, `#!/bin/sh\nprintf '%s\\n' '${password.replace(/'/g, `'\\''`)}'\n`);
  await chmod(file, 0o700);
  return file;
}

/** `sftp -b -` with the batch on stdin, logging in with a password or a key. */
export async function sftpBatch(
  t: TestSftp,
  batch: string,
  how: { password?: string; identity?: string; user?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const user = how.user ?? 'demo';
  const auth = how.identity
    ? ['-i', how.identity, '-o', 'PreferredAuthentications=publickey', '-o', 'IdentitiesOnly=yes', '-o', 'PasswordAuthentication=no']
    : ['-o', 'PreferredAuthentications=password', '-o', 'PubkeyAuthentication=no'];
  const env: NodeJS.ProcessEnv = { ...process.env, SSH_ASKPASS: await askpass(t.dir, how.password ?? 'demo'), SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' };
  delete env.SSH_AUTH_SOCK;
  return run('sftp', [...sshOptions(t.port, auth), '-b', '-', `${user}@127.0.0.1`], { input: batch, env, cwd: how.cwd, timeoutMs: how.timeoutMs ?? 60_000 });
}

/** A client key pair in OpenSSH format: the private key file's path and the .pub line. */
export async function clientKey(dir: string, type: 'ed25519' | 'rsa' = 'ed25519'): Promise<{ file: string; pub: string; fingerprint: string }> {
  const make = () => (type === 'rsa' ? ssh2.utils.generateKeyPairSync('rsa', { bits: 2048 }) : ssh2.utils.generateKeyPairSync('ed25519'));
  let pair = make();
  // ssh2 1.17.0 writes 1 ed25519 key in 256 malformed (see generateHostKey): make another.
  while (ssh2.utils.parseKey(pair.private) instanceof Error) pair = make();
  const file = join(dir, `id_${type}`);
  await writeFile(file, pair.private, { mode: 0o600 });
  await writeFile(`${file}.pub`, `${pair.public}\n`);
  const parsed = ssh2.utils.parseKey(pair.public);
  if (parsed instanceof Error) throw parsed;
  return { file, pub: pair.public, fingerprint: fingerprintOf(parsed.getPublicSSH()) };
}
