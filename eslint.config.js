// `npm run lint` (scripts/lint.js) runs this, scripts/check-cycles.js (no import circle, type
// imports included) and knip (unused files, exports and dependencies; knip.jsonc): the
// architecture rules of issue 18, checked so they stay true. Deliberately no type-aware rules:
// each file is parsed on its own, which keeps the run short enough for every `npm test`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import eslintComments from '@eslint-community/eslint-plugin-eslint-comments';
import tsParser from '@typescript-eslint/parser';
import tsPlugin from '@typescript-eslint/eslint-plugin';
import { layersRule } from './scripts/eslint/layers.js';

const ROOT = path.dirname(fileURLToPath(import.meta.url));

// The layers of src/, highest first. A module may import from its own layer or any lower one, never
// from a higher one; members of an isolated layer may not import one another. A new file or
// folder in src/ must be placed here (the rule reports one that is not). Where a folder's place
// is not obvious, the comment says which real imports put it there.
const LAYERS = [
  { name: 'cli', members: ['src/cli/'] },
  // One module per daemon (ftp, dav, storage, jobs, quickstart) on one shared openServices.
  { name: 'daemons', members: ['src/daemons/'] },
  // What daemons share, above the doors because of real imports: metrics/ftp.ts reads
  // ftp's session events (ftp/events.ts), shutdown.ts drains ftp/in-flight.ts.
  // The cli reads config too (config/cli.ts), so config sits below cli and daemons.
  { name: 'daemon services', members: ['src/config/', 'src/metrics/', 'src/shutdown.ts'] },
  // The protocol doors. Isolated: `mogftp ftp` must load neither dav nor jobs.
  {
    name: 'doors',
    members: ['src/ftp/', 'src/dav/', 'src/jobs/', 'src/sftp/', 'src/mogilefs/'],
    isolated: true,
  },
  { name: 'vfs', members: ['src/vfs/'] },
  { name: 'storage', members: ['src/storage/'] },
  { name: 'tracker', members: ['src/tracker/'] },
  // Leaves every layer may use; they import nothing from src/ (signals.ts: process signals only).
  { name: 'bottom', members: ['src/errors.ts', 'src/log.ts', 'src/signals.ts', 'src/checksum.ts', 'src/addresses.ts'] },
];

const local = { rules: { layers: layersRule } };

export default [
  { ignores: ['dist/**', 'node_modules/**', 'vendor/**', 'coverage/**'] },
  {
    // Every linted file: parse TypeScript and keep disable comments honest.
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    languageOptions: { parser: tsParser, ecmaVersion: 2022, sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: {
      '@eslint-community/eslint-comments': eslintComments,
      '@typescript-eslint': tsPlugin,
      local,
    },
    rules: {
      // A rule switched off for a line says why: `// eslint-disable-next-line rule -- reason`.
      '@eslint-community/eslint-comments/require-description': ['error', { ignore: [] }],
      '@eslint-community/eslint-comments/no-unlimited-disable': 'error',
    },
  },
  {
    // The shipped code and the benchmarks are read and changed most: small files, short functions.
    // Counted without blank lines and comments, so explaining why never costs a split.
    files: ['src/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'local/layers': ['error', { root: ROOT, layers: LAYERS }] },
  },
  // test/**: only the rule every file gets (honest disable comments; circles are checked everywhere
  // by scripts/check-cycles.js). A test file is a list of scenarios inside one describe() callback,
  // which max-lines-per-function would count as one function, and tests may import from any layer.
];
