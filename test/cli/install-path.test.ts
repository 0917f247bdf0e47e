// README "Running a real cluster" uses a bare `mogftp`; it says `npm install -g .` in a clone
// puts it on PATH (`--prefix DIR` without root). This does that with a throwaway prefix, on a
// clone of this repository (the checkout itself is left alone: npm is not let near it), and
// runs the commands the README shows through PATH.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { run } from '../harness/clients.ts';
import { REPO } from '../harness/quickstart-process.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('npm install -g --prefix DIR . puts a working mogftp on PATH', async () => {
  const readme = await readFile(join(REPO, 'README.md'), 'utf8');
  assert.match(readme, /`npm ci && npm install -g \.`/, 'the README says how mogftp gets on PATH');
  assert.match(readme, /`npm install -g\s+--prefix ~\/\.local \.`/);

  const base = await mkdtemp(join(tmpdir(), 'mogftp-install-'));
  dirs.push(base);
  const clone = join(base, 'clone');
  const prefix = join(base, 'prefix');
  const cloned = await run('git', ['clone', '-q', REPO, clone]);
  assert.equal(cloned.code, 0, cloned.stderr);
  // `npm ci` stands in as this checkout's node_modules; scripts off: the build is not the subject.
  await symlink(join(REPO, 'node_modules'), join(clone, 'node_modules'));
  const installed = await run('npm', ['install', '-g', '--prefix', prefix, '--ignore-scripts', '--no-audit', '--no-fund', '.'], { cwd: clone, timeoutMs: 300_000 });
  assert.equal(installed.code, 0, installed.stdout + installed.stderr);

  const env = { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env.PATH}` };
  const help = await run('bash', ['-c', 'mogftp --help'], { cwd: base, env });
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /quickstart/);
  const db = `sqlite:${join(base, 'meta.db')}`;
  for (const line of [`mogftp admin --db ${db} init`, `mogftp admin --db ${db} domain add default`, `mogftp admin --db ${db} domain list --json`]) {
    const r = await run('bash', ['-c', line], { cwd: base, env });
    assert.equal(r.code, 0, `${line}: ${r.stderr}`);
    if (line.endsWith('--json')) assert.match(r.stdout, /"default"/);
  }
});
