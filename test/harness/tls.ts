// FTPS for tests: a fresh self-signed pair (what the quickstart makes) as FTP front-end options
// (the cluster's option ftps, or c.startFtp(await selfSignedTls(dir))).
import assert from 'node:assert/strict';
import { ensureSelfSignedCert } from '../../src/ftp/self-signed.ts';

export async function selfSignedTls(dir: string): Promise<{ tlsCert: string; tlsKey: string }> {
  const made = await ensureSelfSignedCert(dir, 'mogftp test');
  assert.ok(made.pair, 'reason' in made ? made.reason : '');
  return { tlsCert: made.pair.cert, tlsKey: made.pair.key };
}
