#!/usr/bin/env node
// The `mogftp` command. It runs the compiled JavaScript in dist/ (built by `npm ci`, `npm run
// build` and `npm test`; see scripts/build.js) while that is current: no file under src/ newer
// than the build's stamp, or no src/ at all (the Docker image). Otherwise it runs the TypeScript
// sources through tsx, so an edit takes effect without a build. Compiled, a daemon carries no
// tsx loader (about 30 MB less memory, and it starts faster). MOGFTP_RUN=src or MOGFTP_RUN=dist
// forces one of the two. Nothing is printed about the choice: tests parse the daemons' output.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// A reader that goes away is no error of ours (`mogftp admin stats | head -1`): stop at once and
// quietly, with the status a shell reports for a process killed by SIGPIPE (128 + 13), as cat
// and ls do. Node ignores SIGPIPE, so without this the failed write is an unhandled 'error'
// event: a stack trace on stderr. Anything but EPIPE is still thrown.
const SIGPIPE_STATUS = 141;
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(SIGPIPE_STATUS);
    throw err;
  });
}

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const COMPILED = new URL('../dist/src/cli/main.js', import.meta.url).href;

/** The newest modification time of `dir`, anything under it included (an added or removed file changes its directory's). */
function newest(dir) {
  let max = statSync(dir).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    max = Math.max(max, e.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return max;
}

function compiledIsCurrent() {
  let builtFrom;
  try {
    builtFrom = Number(readFileSync(join(ROOT, 'dist', '.build-stamp'), 'utf8'));
  } catch {
    return false;
  }
  try {
    return newest(join(ROOT, 'src')) <= builtFrom;
  } catch (err) {
    if (err.code === 'ENOENT') return true; // no sources next to dist/
    throw err;
  }
}

async function fromSources() {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch (err) {
    if (err.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    // A production install (no dev dependencies): dist/ is all there is.
    try {
      statSync(new URL(COMPILED));
    } catch {
      process.stderr.write("mogftp: dist/ is missing and tsx is not installed: run 'npm ci' with dev dependencies (a later 'npm prune --omit=dev' keeps dist/)\n");
      process.exit(1);
    }
    process.stderr.write("mogftp: dist/ is older than src/ and tsx is not installed: running dist/ ('npm run build' updates it)\n");
    return import(COMPILED);
  }
  tsx.register();
  return import('../src/cli/main.ts');
}

const how = process.env.MOGFTP_RUN;
const useCompiled = how === 'dist' || (how !== 'src' && compiledIsCurrent());
const { main } = useCompiled ? await import(COMPILED) : await fromSources();
await main(process.argv.slice(2));
