// `mogftp quickstart` serves WebDAV beside FTP and prints its URL; both doors open on one tree.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { curl } from '../harness/clients.ts';

const BIN = resolve(import.meta.dirname, '../../bin/mogftp.js');

test('quickstart prints a WebDAV URL beside the FTP line, and the two share the files', async () => {
  const data = await mkdtemp(join(tmpdir(), 'mogftp-qs-dav-'));
  const proc = spawn(process.execPath, [BIN, 'quickstart', '--data', data, '--port', '0', '--pasv-ports', '0', '--no-tls', '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((done) => proc.on('exit', (code) => done(code)));
  try {
    const deadline = Date.now() + 60_000;
    while (!/Press Ctrl-C/.test(out)) {
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`quickstart did not come up:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const davUrl = /WebDAV on (http:\/\/[^\s;]+)/.exec(out)?.[1];
    const ftpUrl = /(ftp:\/\/demo:demo@[\d.]+:\d+)\//.exec(out)?.[1];
    assert.ok(davUrl && ftpUrl, out);
    const put = await curl(['-u', 'demo:demo', '-T', '-', '-w', '%{http_code}', `${davUrl}hello.txt`], { input: 'hello over webdav' });
    assert.equal(put.stdout, '201', put.stderr);
    const viaFtp = await curl([`${ftpUrl}/hello.txt`]);
    assert.equal(viaFtp.stdout, 'hello over webdav', viaFtp.stderr);
    const list = await curl(['-u', 'demo:demo', '-X', 'PROPFIND', '-H', 'Depth: 1', davUrl]);
    assert.match(list.stdout, /<D:href>\/hello\.txt<\/D:href>/);
  } finally {
    proc.kill('SIGINT');
    await exited;
    await rm(data, { recursive: true, force: true });
  }
});
