// FileZilla over FTPS (explicit TLS, as `ftpes://` asks for): under Xvfb, driven with xdotool.
// It connects with the password in the URL, the self-signed certificate is accepted once (Return
// on the dialog), it lists "/" over a TLS data connection, and an upload from its local file list
// commits; the bytes read back over WebDAV match. Skipped where FileZilla, xdotool or Xvfb are not
// installed (Debian: filezilla xdotool xvfb).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { dav } from '../harness/clients.ts';
import { sha256, useCluster } from '../harness/cluster.ts';
import { fileZillaMissing, startFileZilla, type FileZillaSession } from '../harness/filezilla.ts';

describe('FileZilla over FTPS', { skip: fileZillaMissing.length ? `not installed: ${fileZillaMissing.join(', ')}` : false }, () => {
  const c = useCluster({ db: 'sqlite', ftp: true, ftps: true, dav: true, tmpDir: 'mogftp-ftps-fz-' });
  let fz: FileZillaSession | undefined;
  after(() => fz?.close());

  test('connects with explicit TLS, accepts the certificate once, lists / and uploads a file', async () => {
    const local = join(c.tmpDir, 'local');
    await mkdir(local);
    const body = randomBytes(3_000_000);
    await writeFile(join(local, 'fzftps.bin'), body);
    const started = await startFileZilla({ dir: c.tmpDir, local, url: `ftpes://demo:demo@127.0.0.1:${c.port}`, firstDialog: 'Unknown certificate' });
    fz = started.session;
    fz.confirm(started.dialog);
    await fz.until('the listing of /', async () => ((await fz!.log()).includes('Directory listing of "/" successful') ? true : null));
    const main = await fz.until('the main window', () => fz!.window('ftpes://.* - FileZilla') || null);
    const log = await fz.uploadLastLocalFile(main, 'Unknown certificate', /File transfer successful, transferred 3[,.]?000[,.]?000 bytes/);
    assert.match(log, /Status: TLS connection established\./);
    // Data connections protected too (the listing and the upload), and the 226 came after both copies.
    assert.match(log, /Command: PROT P\n.*Response: 200 Data connections will be protected \(TLS\)/);
    assert.match(log, /Response: 226 Transfer complete: 3000000 bytes stored on 2 replicas/);
    assert.match(log, /Status: Starting upload of .*fzftps\.bin/);
    const got = await dav(c.dav.url, 'GET', '/fzftps.bin');
    assert.equal(got.status, 200);
    assert.equal(sha256(got.body), sha256(body));
  });
});
