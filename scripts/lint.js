#!/usr/bin/env node
// `npm run lint` (and so the first step of `npm test`): ESLint (eslint.config.js: layers, file and
// function length, honest disable comments), the import circle check, and knip (knip.jsonc: unused
// files, exports, dependencies). All three run even when one fails, so one run shows every finding.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'node_modules', '.bin');

const STEPS = [
  // The cache lives under node_modules/ so it is never committed; ESLint drops it when the config changes.
  ['eslint', '--cache', '--cache-location', 'node_modules/.cache/eslint/', '.'],
  [process.execPath, path.join('scripts', 'check-cycles.js')],
  ['knip'],
];

let failed = 0;
for (const [cmd, ...args] of STEPS) {
  const name = path.basename(cmd) === path.basename(process.execPath) ? args[0] : cmd;
  const run = spawnSync(cmd, args, {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ''}` },
  });
  if (run.status !== 0) {
    failed++;
    console.error(`lint: ${name} failed${run.error ? ` (${run.error.message})` : ''}`);
  }
}
if (failed > 0) process.exit(1);
console.log('lint: clean');
