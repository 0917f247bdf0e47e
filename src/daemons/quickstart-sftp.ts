// The quickstart's SFTP door: host keys made once in the data directory (ed25519 and RSA, 0600),
// port 2222 or, when that is taken and none was asked for, any free one (a note says so), and a
// known_hosts file for the address the banner prints, so its sftp line checks the host key
// instead of asking the user to trust whatever answers.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MogError } from '../errors.ts';
import type { LogFn } from '../log.ts';
import { loadHostKeys, type HostKey } from '../sftp/host-keys.ts';
import { startSftpServer, type RunningSftpServer } from '../sftp/server.ts';
import { listenOn } from './ports.ts';
import type { Services } from './services.ts';

/** The SFTP port the quickstart tries when none is given. */
const QS_SFTP_PORT = 2222;

export interface QuickstartSftp {
  server: RunningSftpServer;
  keys: HostKey[];
  /** DATA/known_hosts: the host keys for the address the banner names. */
  knownHosts: string;
}

export async function startQuickstartSftp(
  services: Services,
  where: { dataDir: string; host: string; port: number; sftpPort?: number },
  log: LogFn,
  notes: string[],
  keyFiles: Promise<string[]>,
): Promise<QuickstartSftp> {
  const keys = await loadHostKeys(await keyFiles).catch((err: unknown) => {
    // One the quickstart made before its keys were checked (see generateHostKey) can be malformed.
    if (err instanceof MogError) err.message += ' (remove it, and the quickstart makes a new one)';
    throw err;
  });
  const start = (port: number) => startSftpServer({ ...services, host: where.host, port, hostKeys: keys.map((k) => k.key), log });
  let server: RunningSftpServer;
  if (where.sftpPort !== undefined) server = await listenOn(() => start(where.sftpPort!), `SFTP port ${where.sftpPort} on ${where.host}`, '--sftp-port');
  else if (where.port === 0) server = await start(0); // tests: every port chosen by the OS
  else {
    try {
      server = await start(QS_SFTP_PORT);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      server = await start(0);
      notes.push(`SFTP port ${QS_SFTP_PORT} is taken, so SFTP is on port ${server.port} instead (--sftp-port chooses one).`);
    }
  }
  const knownHosts = join(where.dataDir, 'known_hosts');
  try {
    await writeFile(knownHosts, knownHostsLines(keys, bannerHost(where.host), server.port), { mode: 0o644 });
  } catch (err) {
    await server.close();
    throw err;
  }
  return { server, keys, knownHosts };
}

/** A wildcard listener is reached on loopback, which the banner names. */
export function bannerHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

/** OpenSSH's known_hosts lines: `[host]:port type base64` (a bare host only for port 22). */
function knownHostsLines(keys: HostKey[], host: string, port: number): string {
  const name = port === 22 ? host : `[${host}]:${port}`;
  return keys.map((k) => `${name} ${k.type} ${k.publicBlob.toString('base64')}\n`).join('');
}
