// A self-signed certificate for the quickstart, so FTPS works out of the box (`curl --ssl-reqd
// -k`). Made once with the openssl command-line tool and kept in the data directory; Node has no
// certificate generator of its own, so without openssl the quickstart runs without TLS.
import { execFile } from 'node:child_process';
import { access, chmod, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertPair {
  cert: string;
  key: string;
}

export type SelfSignedResult = { pair: CertPair; created: boolean } | { pair: null; reason: string };

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** `DIR/tls-cert.pem` and `DIR/tls-key.pem`, made with openssl unless both exist already. */
export async function ensureSelfSignedCert(dir: string, commonName = 'mogftp quickstart'): Promise<SelfSignedResult> {
  const pair = { cert: join(dir, 'tls-cert.pem'), key: join(dir, 'tls-key.pem') };
  if ((await exists(pair.cert)) && (await exists(pair.key))) return { pair, created: false };
  const tmp = { cert: `${pair.cert}.${process.pid}.tmp`, key: `${pair.key}.${process.pid}.tmp` };
  try {
    await run(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', tmp.key, '-out', tmp.cert, '-days', '3650', '-subj', `/CN=${commonName}`,
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      ],
      { timeout: 30_000 },
    );
    await chmod(tmp.key, 0o600);
    await rename(tmp.key, pair.key);
    await rename(tmp.cert, pair.cert);
    return { pair, created: true };
  } catch (err) {
    await rm(tmp.key, { force: true });
    await rm(tmp.cert, { force: true });
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const reason = e.code === 'ENOENT' ? 'the openssl command is not installed' : `openssl failed: ${(e.stderr || e.message).trim().split('\n')[0]}`;
    return { pair: null, reason };
  }
}
