#!/usr/bin/env node
// Fails when modules import one another in a circle (part of `npm run lint`). Type-only imports
// count: a type circle still means two modules that cannot be understood or moved apart, and
// eslint-plugin-import's no-cycle skips them (the two circles issue 18 found in src/ftp were of
// that kind). TypeScript's own scanner finds every import form (static, type, re-export,
// dynamic) without type-checking, so the whole repository takes well under a second.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIRS = ['src', 'test', 'bench', 'scripts', 'bin'];
const SOURCE = /\.(ts|js)$/;

function sourceFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return SOURCE.test(entry.name) ? [full] : [];
  });
}

/** The repository files `file` imports by a relative path (packages are no part of a circle). */
function importsOf(file, known) {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map((imported) => imported.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => path.resolve(path.dirname(file), spec))
    .filter((target) => known.has(target));
}

/** Tarjan's strongly connected components: each one with more than one module is a circle. */
function circlesIn(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const circles = [];
  const visit = (node) => {
    index.set(node, index.size);
    low.set(node, index.get(node));
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node)) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node), low.get(next)));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node), index.get(next)));
    }
    if (low.get(node) !== index.get(node)) return;
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || graph.get(node).includes(node)) circles.push(component);
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return circles;
}

const files = DIRS.flatMap((dir) => sourceFiles(path.join(ROOT, dir)));
const known = new Set(files);
const graph = new Map(files.map((file) => [file, importsOf(file, known)]));
const circles = circlesIn(graph);
const rel = (file) => path.relative(ROOT, file);
for (const circle of circles) {
  const members = new Set(circle);
  console.error(`import circle of ${circle.length} modules:`);
  for (const file of circle.sort()) {
    const into = graph.get(file).filter((target) => members.has(target)).map(rel);
    console.error(`  ${rel(file)} -> ${into.join(', ')}`);
  }
}
if (circles.length > 0) process.exit(1);
console.log(`no import circle among ${files.length} modules`);
