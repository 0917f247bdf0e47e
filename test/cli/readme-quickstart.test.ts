// The README's quickstart block is what `mogftp quickstart` prints, and every line of it works
// pasted: the test starts the real quickstart (default data directory, in a fresh working
// directory), compares its first output with the README block literally after putting in the
// paths and ports this run has (the README shows the clone in /home/you/mogftp and the default
// ports), then runs each command line with bash from another directory, as a user would, with
// the real curl, lftp and mogftp admin. FileZilla is not installed here: its line is checked for
// form (`filezilla URL`), and the URL itself is used with curl to log in and list.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { curl, run } from '../harness/clients.ts';
import { sha256 } from '../harness/cluster.ts';
import { freePort } from '../harness/nodes.ts';
import { REPO, spawnQuickstart, type QuickstartProcess } from '../harness/quickstart-process.ts';

const README_CLONE = '/home/you/mogftp';
/** The ed25519 host key fingerprint the README's sftp line shows (each data directory makes its own). */
const README_HOST_KEY = 'SHA256:8UrF8lDukwUjUBWL8ZAa6NJn7WB7ATsWIeMZD5JloHA';

async function askpassFile(dir: string): Promise<string> {
  const file = join(dir, '.askpass.sh');
  await writeFile(file, '#!/bin/sh\necho demo\n', { mode: 0o700 });
  return file;
}
const dirs: string[] = [];
let qs: QuickstartProcess | null = null;
after(async () => {
  await qs?.kill();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The ```sh block in README.md that starts with the quickstart's first line. */
async function readmeBlock(): Promise<string> {
  const readme = await readFile(join(REPO, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => b.startsWith('# mogftp quickstart is running'));
  assert.equal(blocks.length, 1, 'README.md shows the quickstart banner once');
  return blocks[0]!;
}

/** Replaces every `from` (which must occur) with `to`. */
function put(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `the README block has ${from}`);
  return text.split(from).join(to);
}

test('the README shows exactly what the quickstart prints first, and each printed line works pasted', async () => {
  const base = await realpath(await mkdtemp(join(tmpdir(), 'mogftp-readme-')));
  dirs.push(base);
  const cwd = join(base, 'clone-cwd');
  const work = join(base, 'elsewhere');
  await mkdir(cwd);
  await mkdir(join(work, 'site', 'img'), { recursive: true });
  const photo = randomBytes(300_000);
  await writeFile(join(work, 'photo.jpg'), photo);
  await writeFile(join(work, 'site', 'index.html'), '<h1>hello</h1>\n');
  await writeFile(join(work, 'site', 'img', 'logo.png'), randomBytes(5000));

  const [ftpPort, davPort, sftpPort] = [await freePort(), await freePort(), await freePort()];
  qs = spawnQuickstart(['--port', String(ftpPort), '--dav-port', String(davPort), '--sftp-port', String(sftpPort), '--pasv-ports', '0'], { cwd });
  await qs.waitFor(/^# Press Ctrl-C to stop\.\n/m);

  // Literally the README block, with this run's data directory, clone and ports put in.
  let expected = await readmeBlock();
  expected = put(expected, `${README_CLONE}/mogftp-data`, join(cwd, 'mogftp-data'));
  expected = put(expected, `${README_CLONE}/`, `${REPO}/`);
  expected = put(expected, '127.0.0.1:2121', `127.0.0.1:${ftpPort}`);
  expected = put(expected, '-p 2121 ', `-p ${ftpPort} `);
  expected = put(expected, '127.0.0.1:8080', `127.0.0.1:${davPort}`);
  expected = put(expected, '127.0.0.1:2222', `127.0.0.1:${sftpPort}`);
  expected = put(expected, '-P 2222 ', `-P ${sftpPort} `);
  // The host key is made on the first run: its fingerprint is this run's, as ssh-keygen shows it.
  const keygen = await run('ssh-keygen', ['-lf', join(cwd, 'mogftp-data', 'ssh_host_ed25519_key')]);
  expected = put(expected, README_HOST_KEY, keygen.stdout.split(' ')[1]!);
  assert.equal(qs.stdout(), expected, 'the banner is the first output, and the README shows it');
  assert.equal(qs.stderr(), '', 'nothing is logged before the banner');

  const lines = expected.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  assert.ok(lines.length >= 7, lines.join('\n'));
  const outputs = new Map<string, string>();
  for (const line of lines) {
    if (line.startsWith('filezilla ')) {
      // Not installed here: the line must be `filezilla URL`, and the URL must log in.
      const words = line.split(' ');
      assert.equal(words.length, 2, line);
      const url = new URL(words[1]!);
      assert.deepEqual([url.protocol, url.username, url.password, url.hostname, url.port], ['ftp:', 'demo', 'demo', '127.0.0.1', String(ftpPort)]);
      const listed = await curl(['--list-only', `${words[1]}/`]);
      assert.equal(listed.code, 0, `${line}: ${listed.stderr}`);
      continue;
    }
    // HOME is the work directory: no ~/.lftprc or ~/.curlrc of ours changes what the line does.
    // The sftp line asks for the password (typed by the user; here an askpass program answers).
    const askpass = line.startsWith('sftp ') ? { SSH_ASKPASS: await askpassFile(work), SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' } : {};
    const r = await run('bash', ['-c', line], { cwd: work, env: { ...process.env, HOME: work, ...askpass }, timeoutMs: 120_000 });
    assert.equal(r.code, 0, `${line}\nexit ${r.code}\n${r.stdout}\n${r.stderr}`);
    outputs.set(line.split(' ')[0] === 'node' ? 'admin' : line, r.stdout);
  }

  // What the lines did: the uploads are there, the download matches, the site was mirrored.
  assert.equal(sha256(await readFile(join(work, 'copy.jpg'))), sha256(photo), 'copy.jpg is photo.jpg');
  const back = await run('sh', ['-c', `curl -sS ftp://demo:demo@127.0.0.1:${ftpPort}/photo.jpg | sha256sum`]);
  assert.equal(back.stdout.split(' ')[0], sha256(photo));
  const site = await curl(['--list-only', `ftp://demo:demo@127.0.0.1:${ftpPort}/site/img/`]);
  assert.equal(site.stdout.trim(), 'logo.png', site.stderr);
  const index = await curl([`ftp://demo:demo@127.0.0.1:${ftpPort}/site/index.html`]);
  assert.equal(index.stdout, '<h1>hello</h1>\n');
  assert.match(outputs.get('admin') ?? '', /node1[\s\S]*node2[\s\S]*node3/, 'the admin line lists the three devices');
  // Pasted where there is no ./site yet, the lftp line works too (it mirrors an empty folder).
  const lftpLine = lines.find((l) => l.includes(' lftp '))!;
  const bare = await mkdtemp(join(tmpdir(), 'mogftp-readme-bare-'));
  const pasted = await run('bash', ['-c', lftpLine], { cwd: bare, env: { ...process.env, HOME: bare }, timeoutMs: 120_000 });
  assert.equal(pasted.code, 0, `${lftpLine}\n${pasted.stderr}`);
  await rm(bare, { recursive: true, force: true });

  // The certificate check is on, and the ca-file is what lets lftp through: without it, lftp
  // refuses the self-signed certificate (the README's old line failed exactly so).
  const unverified = await run('lftp', ['-u', 'demo,demo', '-p', String(ftpPort), '-e', 'set net:max-retries 1; ls; bye', '127.0.0.1'], {
    cwd: work,
    env: { ...process.env, HOME: work },
    timeoutMs: 60_000,
  });
  assert.notEqual(unverified.code, 0, unverified.stdout);
  assert.match(unverified.stderr, /not trusted|verif/i);

  qs.proc.kill('SIGINT');
  assert.equal((await qs.exited).code, 0, qs.stdout() + qs.stderr());
});
