// A quickstart data directory holding a malformed host key (one the ssh2 generator wrote before
// each key was checked): the quickstart stops with a line that names the file and says what to
// do, and once the file is removed it makes a new key and starts.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { run } from '../harness/clients.ts';
import { freePort } from '../harness/nodes.ts';
import { BIN, spawnQuickstart } from '../harness/quickstart-process.ts';

// Written by ssh2 1.17.0: the public key lost its leading zero byte (31 bytes, "AAAAH").
const MALFORMED = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMgAAAAtz
c2gtZWQyNTUxOQAAAB9tv4z5YWSXrmkPP3G/i5dbNrZ0gtIcF/rGpyq4JqiUAAAA
iIFRaxaBUWsWAAAAC3NzaC1lZDI1NTE5AAAAH22/jPlhZJeuaQ8/cb+Ll1s2tnSC
0hwX+sanKrgmqJQAAAA/LqQyceEkUzA7dM1kWeRS/xoNpPcm4ZF5W5oSCVySJLdt
v4z5YWSXrmkPP3G/i5dbNrZ0gtIcF/rGpyq4JqiUAAAAAAECAwQFBgc=
-----END OPENSSH PRIVATE KEY-----
`;

let base = '';
after(() => rm(base, { recursive: true, force: true }));

test('a malformed host key in the data directory: a line naming it and what to do; removed, a new one is made', async () => {
  base = await mkdtemp(join(tmpdir(), 'mogftp-qs-hostkey-'));
  const data = join(base, 'data');
  await mkdir(data, { mode: 0o700 });
  const keyFile = join(data, 'ssh_host_ed25519_key');
  await writeFile(keyFile, MALFORMED, { mode: 0o600 });
  const args = async () => ['--data', data, '--port', String(await freePort()), '--sftp-port', String(await freePort()), '--pasv-ports', '0', '--no-tls', '--no-dav'];

  const r = await run(process.execPath, [BIN, 'quickstart', ...(await args())], { timeoutMs: 60_000 });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.stderr, `mogftp: ${keyFile} is not an unencrypted SSH private key: Malformed OpenSSH private key (remove it, and the quickstart makes a new one) [MOGFTP_ERR_INVALID_ARGUMENT]\n`);
  assert.doesNotMatch(r.stdout, /is running/);

  await rm(keyFile);
  const qs = spawnQuickstart(await args());
  try {
    await qs.waitFor(/^# Press Ctrl-C to stop\.$/m);
    assert.match(qs.stdout(), /host key SHA256:[A-Za-z0-9+/]{43}$/m);
    qs.proc.kill('SIGINT');
    assert.equal((await qs.exited).code, 0);
  } finally {
    await qs.kill();
  }
});
