// FileZilla (the client this server exists for) over SFTP: under Xvfb, driven with xdotool, its
// "Logging file" setting on (test/harness/filezilla.ts). It connects with the password in the
// URL, the unknown host key is accepted once (Return on the dialog), it lists "/", and an upload
// started from its local file list commits; the bytes read back over WebDAV match. Skipped where
// FileZilla, xdotool or Xvfb are not installed (Debian: filezilla xdotool xvfb).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dav } from '../harness/clients.ts';
import { sha256, useCluster } from '../harness/cluster.ts';
import { fileZillaMissing, startFileZilla, type FileZillaSession } from '../harness/filezilla.ts';
import { startTestSftp, type TestSftp } from './lib.ts';

describe('FileZilla over SFTP', { skip: fileZillaMissing.length ? `not installed: ${fileZillaMissing.join(', ')}` : false }, () => {
  const c = useCluster({ db: 'sqlite', dav: true, tmpDir: 'mogftp-sftp-fz-' });
  let t: TestSftp;
  let fz: FileZillaSession | undefined;
  before(async () => {
    t = await startTestSftp(c, join(c.tmpDir, 'keys'));
  });
  after(async () => {
    fz?.close();
    await t?.server.close();
  });

  test('connects, accepts the host key once, lists / and uploads a file', async () => {
    const local = join(c.tmpDir, 'local');
    await mkdir(local);
    const body = randomBytes(3_000_000);
    await writeFile(join(local, 'fzupload.bin'), body);
    const started = await startFileZilla({ dir: c.tmpDir, local, url: `sftp://demo:demo@127.0.0.1:${t.port}`, firstDialog: 'Unknown host key' });
    fz = started.session;
    fz.confirm(started.dialog);
    await fz.until('the listing of /', async () => ((await fz!.log()).includes('Directory listing of "/" successful') ? true : null));
    const main = await fz.until('the main window', () => fz!.window('sftp://.* - FileZilla') || null);
    // A second connection makes the transfer; its host key dialog comes only if the first was not kept.
    const log = await fz.uploadLastLocalFile(main, 'Unknown host key', /File transfer successful, transferred 3[,.]?000[,.]?000 bytes/);
    assert.match(log, /Status: Starting upload of .*fzupload\.bin/);
    const got = await dav(c.dav.url, 'GET', '/fzupload.bin');
    assert.equal(got.status, 200);
    assert.equal(sha256(got.body), sha256(body));
  });
});
