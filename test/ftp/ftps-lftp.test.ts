// FTPS with lftp: on plain ftp-srv 4.6.3 every lftp transfer with protected data got 425 (lftp
// starts the data handshake after the 150; ftp-srv waited for it before sending 150).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { RunningFtpServer } from '../../src/ftp/server.ts';
import { run } from '../harness/clients.ts';
import { sha256, useCluster } from '../harness/cluster.ts';

describe('FTPS with lftp', () => {
  const c = useCluster({ db: 'sqlite', ftp: true, ftps: true, tmpDir: 'mogftp-ftps-clients-' });
  let dir: string; // the certificate is here too
  let ftp: RunningFtpServer;
  before(() => ({ tmpDir: dir, ftp } = c));

  test('lftp with ftp:ssl-force and ftp:ssl-protect-data mirrors 200 files up and back, no retries', async () => {
    const src = join(dir, 'tree');
    const files = new Map<string, Buffer>();
    for (let d = 0; d < 4; d++) {
      await mkdir(join(src, `d${d}`), { recursive: true });
      for (let i = 0; i < 50; i++) {
        const rel = join(`d${d}`, `f${i}.dat`);
        const data = randomBytes(4096);
        files.set(rel, data);
        await writeFile(join(src, rel), data);
      }
    }
    const back = join(dir, 'tree-back');
    const log = join(dir, 'lftp.log');
    const settings = [
      'set cmd:fail-exit true',
      'set net:max-retries 1',
      'set net:timeout 30',
      'set ftp:ssl-allow true',
      'set ftp:ssl-force true',
      'set ftp:ssl-protect-data true',
      'set ftp:ssl-protect-list true',
      'set ssl:verify-certificate false',
      'set ftp:passive-mode true',
    ].join('; ');
    const r = await run(
      'lftp',
      ['-c', `${settings}; debug -o ${log} 5; open -u demo,demo -p ${ftp.port} 127.0.0.1; mkdir -p /lftp-tls; mirror -R ${src} /lftp-tls; mirror /lftp-tls ${back}`],
      { timeoutMs: 180_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    let count = 0;
    for (const d of await readdir(back)) {
      for (const f of await readdir(join(back, d))) {
        count++;
        assert.equal(sha256(await readFile(join(back, d, f))), sha256(files.get(join(d, f))!), `${d}/${f}`);
      }
    }
    assert.equal(count, 200);
    const trace = await readFile(log, 'utf8');
    assert.match(trace, /---> AUTH TLS/);
    assert.match(trace, /---> PROT P/);
    assert.doesNotMatch(trace, /<--- 4\d\d /, 'no transient failure (lftp would retry it)');
    assert.doesNotMatch(trace, /[Rr]econnect|Delaying before/, 'no reconnects');
  });
});
