// A self-signed certificate for the quickstart, so FTPS works out of the box with verification
// on (`curl --ssl-reqd --cacert DATA/tls-cert.pem`, lftp's ssl:ca-file): it names every loopback
// name a client may use. Made once with the openssl command-line tool and kept in the data
// directory; Node has no certificate generator of its own, so without openssl the quickstart runs
// without TLS.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { access, chmod, readFile, rename, rm } from 'node:fs/promises';
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

/** The names clients verify the certificate against: 127.0.0.1, ::1 and localhost. */
export const SELF_SIGNED_NAMES = 'DNS:localhost,IP:127.0.0.1,IP:::1';

/** True when the certificate names 127.0.0.1 and localhost (one made elsewhere may not). */
async function namesLoopback(certFile: string): Promise<boolean> {
  try {
    const san = new X509Certificate(await readFile(certFile)).subjectAltName ?? '';
    return san.includes('IP Address:127.0.0.1') && san.includes('DNS:localhost');
  } catch {
    return false;
  }
}

/**
 * `DIR/tls-cert.pem` and `DIR/tls-key.pem`, made with openssl unless both exist already and the
 * certificate names the loopback addresses (else it is made anew, or verification would fail).
 */
export async function ensureSelfSignedCert(dir: string, commonName = 'mogftp quickstart'): Promise<SelfSignedResult> {
  const pair = { cert: join(dir, 'tls-cert.pem'), key: join(dir, 'tls-key.pem') };
  if ((await exists(pair.cert)) && (await exists(pair.key)) && (await namesLoopback(pair.cert))) return { pair, created: false };
  const tmp = { cert: `${pair.cert}.${process.pid}.tmp`, key: `${pair.key}.${process.pid}.tmp` };
  try {
    await run(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', tmp.key, '-out', tmp.cert, '-days', '3650', '-subj', `/CN=${commonName}`,
        '-addext', `subjectAltName=${SELF_SIGNED_NAMES}`,
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
