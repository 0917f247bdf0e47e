// A test cluster whose FTP front-end offers FTPS with a fresh self-signed pair (what the
// quickstart makes), for the client tests in test/ftp/ftps-*.test.ts.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSelfSignedCert } from '../../src/ftp/self-signed.ts';
import { startFtpServer, type RunningFtpServer } from '../../src/ftp/server.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';

export interface TlsTestCluster {
  c: TestCluster;
  /** A temp dir holding the certificate; tests may put their files here too. */
  dir: string;
  ftp: RunningFtpServer;
  stop(): Promise<void>;
}

export async function startTlsTestCluster(): Promise<TlsTestCluster> {
  const c = await startTestCluster({ backend: 'sqlite' });
  const dir = await mkdtemp(join(tmpdir(), 'mogftp-ftps-clients-'));
  const made = await ensureSelfSignedCert(dir, 'mogftp test');
  assert.ok(made.pair, 'reason' in made ? made.reason : '');
  const ftp = await startFtpServer({ ...c.services, host: '127.0.0.1', port: 0, pasvPorts: [0, 0], tlsCert: made.pair.cert, tlsKey: made.pair.key });
  return {
    c,
    dir,
    ftp,
    stop: async () => {
      await ftp.close({ graceMs: 0 });
      await c.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
