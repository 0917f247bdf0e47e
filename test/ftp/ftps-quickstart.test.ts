// FTPS out of the box: the quickstart makes a self-signed pair in its data directory and offers
// explicit FTPS (plain FTP still allowed), so `curl --ssl-reqd --cacert DATA/tls-cert.pem` works
// against it at once, verification on, by 127.0.0.1 or localhost; and `mogftp ftp` takes
// --tls-cert/--tls-key, --ftps-port and --require-tls.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startQuickstart, type RunningQuickstart } from '../../src/daemons/quickstart.ts';
import { curl, ftpUrl, run } from '../harness/clients.ts';
import { ensureSelfSignedCert } from '../../src/ftp/self-signed.ts';
import { freePort } from '../harness/nodes.ts';

describe('FTPS in the quickstart and the CLI', () => {
  let dir: string;
  let qs: RunningQuickstart | null = null;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mogftp-qs-tls-'));
    await writeFile(join(dir, 'hello.txt'), 'hello over TLS\n');
  });
  after(async () => {
    await qs?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('the quickstart offers explicit FTPS with a self-signed pair kept in its data dir; plain FTP still works', async () => {
    const data = join(dir, 'qs');
    qs = await startQuickstart({ dataDir: data, host: '127.0.0.1', port: 0, pasvPorts: [0, 0], logLevel: 'silent' });
    assert.ok('cert' in qs.tls, JSON.stringify(qs.tls));
    assert.equal(qs.tls.cert, join(data, 'tls-cert.pem'));
    assert.equal((await stat(qs.tls.key)).mode & 0o077, 0, 'the key is private');
    const san = new X509Certificate(await readFile(qs.tls.cert)).subjectAltName ?? '';
    for (const name of ['DNS:localhost', 'IP Address:127.0.0.1']) assert.ok(san.includes(name), `the certificate names ${name}: ${san}`);
    const cacert = ['--ssl-reqd', '--cacert', qs.tls.cert];
    const up = await curl([...cacert, '-T', join(dir, 'hello.txt'), ftpUrl(qs.ftp.port, '/hello.txt')]);
    assert.equal(up.code, 0, up.stderr);
    const down = await curl([...cacert, ftpUrl(qs.ftp.port, '/hello.txt')]);
    assert.equal(down.stdout, 'hello over TLS\n', down.stderr);
    const byName = await curl([...cacert, `ftp://demo:demo@localhost:${qs.ftp.port}/hello.txt`]);
    assert.equal(byName.stdout, 'hello over TLS\n', byName.stderr);
    const unverified = await curl(['--ssl-reqd', ftpUrl(qs.ftp.port, '/hello.txt')]);
    assert.notEqual(unverified.code, 0, 'without the CA file the self-signed certificate is refused');
    const plain = await curl([ftpUrl(qs.ftp.port, '/hello.txt')]);
    assert.equal(plain.stdout, 'hello over TLS\n', plain.stderr);
    // A restart keeps the same pair.
    const first = await stat(qs.tls.cert);
    await qs.stop();
    qs = await startQuickstart({ dataDir: data, host: '127.0.0.1', port: 0, pasvPorts: [0, 0], logLevel: 'silent' });
    assert.ok('cert' in qs.tls);
    assert.equal((await stat(qs.tls.cert)).mtimeMs, first.mtimeMs);
  });

  test('mogftp ftp --tls-cert --tls-key --ftps-port --require-tls', async () => {
    assert.ok(qs && 'cert' in qs.tls, 'needs the quickstart from the previous test');
    const [port, ftpsPort] = [await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [
        'bin/mogftp.js', 'ftp', '--db', qs.dbUrl, '--listen', `127.0.0.1:${port}`, '--pasv-ports', '0',
        '--tls-cert', qs.tls.cert, '--tls-key', qs.tls.key, '--ftps-port', String(ftpsPort), '--require-tls', '--log-level', 'warn',
        // The quickstart's nodes take only signed requests: without its key every download failed after 150.
        '--storage-key-file', join(dir, 'qs', 'storage.key'),
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      const deadline = Date.now() + 30_000;
      while (!out.includes('listening')) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `mogftp ftp did not start: ${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(out, new RegExp(`ftps://127\\.0\\.0\\.1:${ftpsPort}`));
      const implicit = await curl(['--cacert', qs.tls.cert, `ftps://demo:demo@127.0.0.1:${ftpsPort}/hello.txt`]);
      assert.equal(implicit.stdout, 'hello over TLS\n', implicit.stderr);
      const explicit = await curl(['--ssl-reqd', '--cacert', qs.tls.cert, ftpUrl(port, '/hello.txt')]);
      assert.equal(explicit.stdout, 'hello over TLS\n', explicit.stderr);
      const plain = await curl(['-v', ftpUrl(port, '/hello.txt')]);
      assert.notEqual(plain.code, 0);
      assert.match(plain.stderr, /< 530 This server requires TLS/);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
    assert.equal(child.exitCode, 0, out);
  });

  test('a kept certificate that does not name 127.0.0.1 and localhost is made anew', async () => {
    const data = join(dir, 'old-cert');
    await mkdir(data);
    const cert = join(data, 'tls-cert.pem');
    const key = join(data, 'tls-key.pem');
    const made = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=old']);
    assert.equal(made.code, 0, made.stderr);
    assert.ok(!(new X509Certificate(await readFile(cert)).subjectAltName ?? '').includes('127.0.0.1'));
    const again = await ensureSelfSignedCert(data);
    assert.ok('created' in again && again.created, 'made anew');
    assert.match(new X509Certificate(await readFile(cert)).subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    const kept = await ensureSelfSignedCert(data);
    assert.ok('created' in kept && !kept.created, 'then kept');
  });
});
