// FTPS with curl, which lost plain ftp-srv 4.6.3's AUTH TLS race (9 of 20 failed): the
// ClientHello was sometimes read by the plain-text parser.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { RunningFtpServer } from '../../src/ftp/server.ts';
import { curl, ftpUrl } from '../harness/clients.ts';
import { sha256, useCluster } from '../harness/cluster.ts';

describe('FTPS with curl', () => {
  const c = useCluster({ db: 'sqlite', ftp: true, ftps: true, tmpDir: 'mogftp-ftps-clients-' });
  let dir: string; // the certificate is here too
  let ftp: RunningFtpServer;
  before(() => ({ tmpDir: dir, ftp } = c));

  test('curl --ssl-reqd -k: 50 of 50 uploads and 50 of 50 downloads', async () => {
    const files = Array.from({ length: 50 }, (_, i) => ({ name: `c${i}.bin`, data: randomBytes(1024 + i * 97) }));
    await mkdir(join(dir, 'curl'));
    const failures: string[] = [];
    for (const f of files) {
      await writeFile(join(dir, 'curl', f.name), f.data);
      const r = await curl(['--ssl-reqd', '-k', '-T', join(dir, 'curl', f.name), ftpUrl(ftp.port, `/curl/${f.name}`), '--ftp-create-dirs']);
      if (r.code !== 0) failures.push(`up ${f.name}: ${r.stderr.trim()}`);
    }
    for (const f of files) {
      const r = await curl(['--ssl-reqd', '-k', ftpUrl(ftp.port, `/curl/${f.name}`), '-o', join(dir, 'curl', `${f.name}.back`)]);
      if (r.code !== 0) failures.push(`down ${f.name}: ${r.stderr.trim()}`);
      else if (sha256(await readFile(join(dir, 'curl', `${f.name}.back`))) !== sha256(f.data)) failures.push(`down ${f.name}: different bytes`);
    }
    assert.deepEqual(failures, []);
  });
});
