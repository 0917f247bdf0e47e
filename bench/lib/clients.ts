// The measured work, done by real clients (curl, lftp) as separate processes; each call
// returns its wall-clock seconds and fails loudly if the client did.
import { spawn } from 'node:child_process';
import type { BenchServer } from './servers.ts';

export interface Timed {
  seconds: number;
  stdout: string;
}

export function runTimed(cmd: string, args: string[], opts: { timeoutMs?: number; cwd?: string; stdinFrom?: string[] } = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    // A producer piped into the client's stdin (e.g. `head -c 4G /dev/zero` for the RSS run).
    const producer = opts.stdinFrom ? spawn(opts.stdinFrom[0]!, opts.stdinFrom.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] }) : null;
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: [producer ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    if (producer) producer.stdout!.pipe(child.stdin!);
    child.stdin?.on('error', () => {});
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20000)));
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 900_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      producer?.kill();
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ').slice(0, 300)} failed (${code ?? signal}): ${err.trim() || out.slice(-2000)}`));
      else resolve({ seconds, stdout: out });
    });
  });
}

function url(s: BenchServer, path: string): string {
  return `ftp://${s.user}:${s.password}@127.0.0.1:${s.port}/${path.replace(/^\/+/, '')}`;
}

const CURL = ['-sS', '--fail', '--max-time', '1800', '--ftp-pasv'];

export function curlStor(s: BenchServer, localFile: string, remote: string): Promise<Timed> {
  return runTimed('curl', [...CURL, '-T', localFile, url(s, remote)]);
}

/** STOR from a producer's stdout (`curl -T -`), for sizes we do not want on disk twice. */
export function curlStorStream(s: BenchServer, producer: string[], remote: string): Promise<Timed> {
  return runTimed('curl', [...CURL, '-T', '-', url(s, remote)], { stdinFrom: producer });
}

export function curlRetr(s: BenchServer, remote: string): Promise<Timed> {
  return runTimed('curl', [...CURL, '-o', '/dev/null', url(s, remote)]);
}

/** `lftp -c` with settings that make failures fail (no retries) and no TLS. */
export function lftp(s: BenchServer, script: string, cwd?: string): Promise<Timed> {
  const settings = [
    'set cmd:fail-exit true',
    'set net:max-retries 1',
    'set net:timeout 60',
    'set ftp:ssl-allow false',
    'set ftp:passive-mode true',
  ].join('; ');
  return runTimed('lftp', ['-c', `${settings}; open -u ${s.user},${s.password} -p ${s.port} 127.0.0.1; ${script}`], { cwd });
}

/** `mirror -R` of a local directory to a new remote one (lftp's defaults otherwise). */
export function mirrorUp(s: BenchServer, localDir: string, remoteDir: string, parallel = 1): Promise<Timed> {
  const par = parallel > 1 ? ` --parallel=${parallel}` : '';
  return lftp(s, `mirror -R${par} ${localDir} ${remoteDir}`);
}

export function mirrorDown(s: BenchServer, remoteDir: string, localDir: string, parallel = 1): Promise<Timed> {
  const par = parallel > 1 ? ` --parallel=${parallel}` : '';
  return lftp(s, `mirror${par} ${remoteDir} ${localDir}`);
}
