// The two baselines, each a process on loopback serving a temp directory:
// pure-ftpd (the ceiling: C, local disk, one copy) and plain ftp-srv (the library mogftp builds on).
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/harness/nodes.ts';
import { waitForLine, waitForPort } from '../../test/harness/processes.ts';
import { startChild, stopChild, tempDir } from './procs.ts';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** What every benchmarked server offers the clients. */
export interface BenchServer {
  /** Short label used in the table. */
  name: string;
  port: number;
  user: string;
  password: string;
  /** The process whose RSS is sampled (the FTP front-end). */
  pid: number;
  /** Creates `dir` (relative to the login root) holding `count` files, as fast as the backend allows. */
  makeListDir(dir: string, count: number): Promise<void>;
  /** Frees the space of big uploads between runs. */
  dropBigFiles(): Promise<void>;
  stop(): Promise<void>;
}

export const USER = 'bench';
export const PASSWORD = 'bench-pw';
const NOBODY = 65534;
export const PURE_FTPD = '/usr/sbin/pure-ftpd';

/** Installs Debian's pure-ftpd when it is missing (the benchmark's only system dependency besides curl/lftp). */
export function ensurePureFtpd(log: (msg: string) => void): void {
  if (existsSync(PURE_FTPD)) return;
  log('pure-ftpd is missing: apt-get install -y pure-ftpd');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', 'pure-ftpd'], { stdio: 'inherit', env });
  } catch {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', 'pure-ftpd'], { stdio: 'inherit', env });
  }
  if (!existsSync(PURE_FTPD)) throw new Error('apt-get did not install /usr/sbin/pure-ftpd');
}

/** Empty files named like the mogftp ones, written straight to disk. */
function diskListDir(root: string, dir: string, count: number, owner?: number): void {
  const path = join(root, dir);
  mkdirSync(path, { recursive: true });
  for (let i = 0; i < count; i++) writeFileSync(join(path, `f${String(i).padStart(7, '0')}`), '');
  if (owner !== undefined) chownSync(path, owner, owner);
}

async function dropBig(root: string): Promise<void> {
  // Both baselines keep uploads as plain files under the root: remove the big ones.
  execFileSync('find', [root, '-maxdepth', '2', '-type', 'f', '-size', '+16M', '-delete']);
}

/**
 * pure-ftpd in the foreground with one virtual user (puredb, chrooted to a temp dir, mapped to
 * nobody), its own passive range, no anonymous access. The password is stored as SHA-512 crypt:
 * pure-pw's default (argon2id with a large cost) takes seconds per login on this machine.
 */
export async function startPureFtpd(): Promise<BenchServer> {
  const base = tempDir('mogftp-bench-pure-');
  const root = join(base, 'root');
  mkdirSync(root);
  chownSync(root, NOBODY, NOBODY);
  const hash = execFileSync('openssl', ['passwd', '-6', '-salt', 'benchsalt', PASSWORD]).toString().trim();
  writeFileSync(join(base, 'passwd'), `${USER}:${hash}:${NOBODY}:${NOBODY}::${root}/./::::::::::::\n`);
  execFileSync('pure-pw', ['mkdb', join(base, 'pdb'), '-f', join(base, 'passwd')]);
  const port = await freePort();
  // A 200-port passive window somewhere in 40000-59999: pure-ftpd picks free ports inside it.
  const pasvLo = 40000 + Math.floor(Math.random() * 99) * 200;
  const args = [
    '-S', `127.0.0.1,${port}`,
    '-l', `puredb:${join(base, 'pdb')}`,
    '-E', // no anonymous logins
    '-A', // chroot
    '-H', // no reverse DNS
    '-p', `${pasvLo}:${pasvLo + 199}`,
    '-c', '200', '-C', '200', // lftp --parallel=8 and friends
    '-L', '100000:8', // LIST limits well above the 10 000-entry directory
    '-u', '1',
    '-I', '60',
  ];
  const child = startChild(PURE_FTPD, args, { cwd: base });
  child.stdout?.resume();
  child.stderr?.resume();
  await waitForPort(port, 10_000, { proc: child, what: 'pure-ftpd' });
  return {
    name: 'pure-ftpd',
    port,
    user: USER,
    password: PASSWORD,
    pid: child.pid!,
    makeListDir: async (dir, count) => diskListDir(root, dir, count, NOBODY),
    dropBigFiles: () => dropBig(root),
    stop: () => stopChild(child),
  };
}

/** bench/ftpsrv-plain.ts as a child process: ftp-srv with its own file system on a temp dir. */
export async function startPlainFtpSrv(): Promise<BenchServer> {
  const base = tempDir('mogftp-bench-ftpsrv-');
  const root = join(base, 'root');
  mkdirSync(root);
  const child = startChild(process.execPath, ['--import', 'tsx', join(REPO, 'bench', 'ftpsrv-plain.ts'), root, USER, PASSWORD], { cwd: REPO });
  const port = Number(await waitForLine(child, /^ftp-srv listening on (\d+)$/, { timeoutMs: 30_000, what: 'ftp-srv' }));
  return {
    name: 'ftp-srv',
    port,
    user: USER,
    password: PASSWORD,
    pid: child.pid!,
    makeListDir: async (dir, count) => diskListDir(root, dir, count),
    dropBigFiles: () => dropBig(root),
    stop: () => stopChild(child),
  };
}
