// The project's paperwork matches the code: LICENSE is the license package.json names, and
// CHANGELOG.md lists every schema migration the code has (a new migration without its entry
// fails here), in the Keep a Changelog shape upgrading.md sends operators to.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIGRATIONS } from '../../src/tracker/store/migrations.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (p: string) => readFileSync(join(REPO, p), 'utf8');

describe('LICENSE and CHANGELOG.md', () => {
  test('LICENSE is the MIT license package.json declares', () => {
    assert.equal(JSON.parse(read('package.json')).license, 'MIT');
    const license = read('LICENSE');
    assert.match(license, /^MIT License\n\nCopyright \(c\) 2026 the mogftp authors\n/);
    assert.match(license, /THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/);
  });

  test('CHANGELOG.md: Keep a Changelog, an Unreleased section first', () => {
    const log = read('CHANGELOG.md');
    assert.match(log, /^# Changelog\n/);
    assert.match(log, /keepachangelog\.com\/en\/1\.1\.0/);
    const versions = [...log.matchAll(/^## \[([^\]]+)\]/gm)].map((m) => m[1]);
    assert.equal(versions[0], 'Unreleased');
    for (const v of versions.slice(1)) assert.match(v!, /^\d+\.\d+\.\d+$/, `release heading ${v}`);
    for (const m of log.matchAll(/^### (.+)$/gm)) assert.ok(['Schema migrations', 'Added', 'Changed', 'Deprecated', 'Removed', 'Fixed', 'Security'].includes(m[1]!), `section ${m[1]}`);
  });

  test('every schema migration is in the changelog, once, by its version', () => {
    const log = read('CHANGELOG.md');
    const rows = [...log.matchAll(/^\| (\d+) \| (.+?) \| (.+?) \|$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(
      rows.sort((a, b) => a - b),
      MIGRATIONS.map((m) => m.version),
      'CHANGELOG.md "Schema migrations" rows vs src/tracker/store/migrations.ts',
    );
  });

  test('upgrading.md sends operators to the changelog, and cites no release notes that do not exist', () => {
    const doc = read('docs/operations/upgrading.md');
    assert.ok(doc.includes('](../../CHANGELOG.md)'));
    assert.doesNotMatch(doc, /release notes/i);
  });
});
