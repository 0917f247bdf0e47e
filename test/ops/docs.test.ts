// The operator docs match the program: every mogftp command they show exists with the flags
// they use, and the metrics reference lists exactly the metrics the daemons export.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRegistry, registerClusterMetrics, registerFtpMetrics, registerStorageMetrics } from '../../src/metrics/index.ts';
import { openStore } from '../../src/tracker/open.ts';
import { buildCli } from '../../src/cli/main.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOCS = join(REPO, 'docs', 'operations');
const docs = readdirSync(DOCS)
  .filter((f) => f.endsWith('.md'))
  .map((f) => ({ file: f, text: readFileSync(join(DOCS, f), 'utf8') }));

/** The CLI's own help text for a command path (in this process: the real command definitions). */
async function helpOf(path: string[]): Promise<string> {
  const cli = await buildCli([...path, '--help']);
  return new Promise((resolve, reject) => {
    cli.exitProcess(false).parse([...path, '--help'], {}, (err: unknown, _argv: unknown, output: string) => (err ? reject(err) : resolve(output)));
  });
}

/** Shell-ish words: quotes kept together, stopping at a comment, a pipe, a redirect or `;`. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /'[^']*'|"[^"]*"|[^\s'"]+/g;
  for (const m of line.matchAll(re)) {
    const w = m[0];
    if (w.startsWith('#') || w === '|' || w === ';' || w === '&&' || w.startsWith('>') || w.startsWith('2>')) break;
    out.push(w);
  }
  return out;
}

/** `mogftp ...` invocations in the docs' shell blocks (docker compose run ... admin counts as mogftp admin). */
function invocations(): Array<{ where: string; args: string[] }> {
  const found: Array<{ where: string; args: string[] }> = [];
  for (const { file, text } of docs) {
    for (const block of text.matchAll(/```(?:sh|ini)\n([\s\S]*?)```/g)) {
      for (const raw of block[1]!.split('\n')) {
        const line = raw.trim();
        const at = [/(?:^|\|\s*)mogftp (.*)$/, /mogftp\.js (.*)$/, /docker compose run --rm (?:-T )?admin (.*)$/]
          .map((re, i) => ({ m: re.exec(line), admin: i === 2 }))
          .find((x) => x.m);
        if (!at) continue;
        const args = words(at.m![1]!);
        found.push({ where: `${file}: ${line}`, args: at.admin ? ['admin', ...args] : args });
      }
    }
  }
  return found;
}

describe('docs/operations', () => {
  test('every mogftp command shown exists, with every flag it uses', async () => {
    const calls = invocations();
    assert.ok(calls.length >= 30, `found only ${calls.length} commands`);
    const helpCache = new Map<string, Promise<string>>();
    const problems: string[] = [];
    for (const c of calls) {
      const path = c.args.slice(0, c.args.findIndex((a) => /^[-[]/.test(a)) >>> 0).slice(0, 4);
      const key = path.join(' ');
      if (!helpCache.has(key)) helpCache.set(key, helpOf(path));
      let help: string;
      try {
        help = await helpCache.get(key)!;
      } catch (err) {
        problems.push(`${c.where}\n    'mogftp ${key} --help' failed: ${String(err)}`);
        continue;
      }
      const usage = help.split('\n')[0]!;
      // A positional value among the first three words is fine; an unknown command word is not.
      const usageWords = usage.replace(/^mogftp\s*/, '').split(' ').filter(Boolean);
      const commandWords = usageWords.filter((w) => !/^[<[]/.test(w));
      const positionals = usageWords.length - commandWords.length;
      if (!commandWords.every((w, i) => path[i] === w) || path.length - commandWords.length > positionals)
        problems.push(`${c.where}\n    no such command (help says: ${usage})`);
      for (const flag of c.args.filter((a) => a.startsWith('--'))) {
        const bare = flag.split('=')[0]!.replace(/^--no-/, '--');
        if (!new RegExp(`(^|\\s)${bare}(\\s|$)`, 'm').test(help)) problems.push(`${c.where}\n    'mogftp ${commandWords.join(' ')}' has no ${flag}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('metrics.md lists every metric the daemons export, and no other', async () => {
    const store = await openStore('sqlite::memory:');
    await store.migrate();
    const registry = createRegistry('docs');
    registerFtpMetrics(registry);
    registerStorageMetrics(registry, REPO);
    const cluster = registerClusterMetrics(registry, store);
    try {
      const exported = new Set((await registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('mogftp_')));
      const reference = readFileSync(join(DOCS, 'metrics.md'), 'utf8');
      const documented = new Set([...reference.matchAll(/^\| `(mogftp_[a-z_]+)` \|/gm)].map((m) => m[1]!));
      documented.add('mogftp_build_info'); // described in the text above the tables
      assert.match(reference, /`mogftp_build_info\{version, daemon\}`/);
      assert.deepEqual([...exported].filter((n) => !documented.has(n)), [], 'exported but not documented');
      assert.deepEqual([...documented].filter((n) => !exported.has(n)), [], 'documented but not exported');
      // Any metric named anywhere in the docs exists (histogram/counter suffixes aside).
      for (const { file, text } of docs) {
        for (const m of text.matchAll(/\bmogftp_[a-z_]+/g)) {
          const name = m[0].replace(/_(bucket|sum|count)$/, '');
          assert.ok(exported.has(name), `${file} names ${m[0]}, which no daemon exports`);
        }
      }
    } finally {
      await cluster.stop();
      await store.close();
    }
  });

  test('every relative link between the docs leads to a file', () => {
    // Resolved from the doc's own directory: ../../CHANGELOG.md is the repository's.
    for (const { file, text } of docs) {
      for (const m of text.matchAll(/\]\(([^)#:]+\.md)\)/g)) assert.ok(existsSync(join(DOCS, m[1]!)), `${file} links to missing ${m[1]}`);
    }
  });
});
