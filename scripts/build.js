#!/usr/bin/env node
// Compiles src/ to dist/src/ (tsconfig.build.json: same layout, `./x.ts` imports become `./x.js`)
// so that the daemons run plain JavaScript, without tsx's loader in their memory.
//   node scripts/build.js              type-check src/, then emit        (npm run build)
//   node scripts/build.js --no-check   emit only: the caller type-checks (npm test)
//   node scripts/build.js --prepare    emit only, and a no-op when the compiler is not installed
//                                      (npm ci's prepare; `npm ci --omit=dev` has no typescript)
// A file is rewritten only when its text changed, through a temporary file and a rename, so a
// daemon starting meanwhile never reads half a module. Files whose source is gone are removed.
// Last, dist/.build-stamp records when the build read the sources: bin/mogftp.js runs dist/ only
// while no file under src/ is newer than that (a source edited during the build counts as newer).
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist');
const STAMP = join(OUT, '.build-stamp');
const args = new Set(process.argv.slice(2));
const prepare = args.has('--prepare');
const check = !prepare && !args.has('--no-check');

let ts;
try {
  ts = (await import('typescript')).default;
} catch (err) {
  if (!prepare || err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  process.stderr.write("mogftp: typescript is not installed (--omit=dev?), dist/ not built: install with dev dependencies, then 'npm prune --omit=dev' keeps dist/\n");
  process.exit(0);
}

const startedAt = Date.now();
const host = {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => fail([d]),
};
const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.build.json'), check ? {} : { noCheck: true }, host);
if (config.errors.length > 0) fail(config.errors);
const program = ts.createProgram({
  rootNames: config.fileNames,
  options: config.options,
  configFileParsingDiagnostics: ts.getConfigFileParsingDiagnostics(config),
});
const before = check ? ts.getPreEmitDiagnostics(program) : [...program.getConfigFileParsingDiagnostics(), ...program.getOptionsDiagnostics(), ...program.getSyntacticDiagnostics()];
if (before.length > 0) fail(before);

const written = new Set();
const emitted = program.emit(undefined, (file, text) => {
  const path = resolve(file);
  written.add(path);
  let old = null;
  try {
    old = readFileSync(path, 'utf8');
  } catch {
    // new file
  }
  if (old !== text) writeAtomically(path, text);
});
if (emitted.diagnostics.length > 0 || emitted.emitSkipped) fail(emitted.diagnostics);
removeOthers(join(OUT, 'src'));
writeAtomically(STAMP, `${startedAt}\n`);

function writeAtomically(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Removes what this build did not write (outputs of deleted sources), then empty directories. */
function removeOthers(dir) {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      removeOthers(path);
      if (readdirSync(path).length === 0) rmdirSync(path);
    } else if (!written.has(path) && !e.name.endsWith('.tmp')) {
      rmSync(path, { force: true });
    }
  }
}

function fail(diagnostics) {
  const format = process.stderr.isTTY ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics;
  process.stderr.write(
    format(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' }),
  );
  process.stderr.write('mogftp: build failed (bin/mogftp.js keeps running the sources through tsx until a build succeeds)\n');
  process.exit(1);
}
