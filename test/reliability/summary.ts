// Adds up the figures the reliability tests wrote (MOGFTP_RELIABILITY_FIGURES=DIR) into the
// Markdown table RELIABILITY.md shows:
//   node --import tsx test/reliability/summary.ts DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FigureSet } from './lib/figures.ts';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node --import tsx test/reliability/summary.ts DIR\n');
  process.exit(2);
}
const sets: FigureSet[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as FigureSet);

const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
const rows = sets.map((s) => [s.suite, s.scenarios.length, mib(s.bytesUp + s.bytesDown), s.filesVerified, s.faults, s.losses, s.wrongBytesServed, (s.durationMs / 1000).toFixed(0)]);
const total = (k: keyof FigureSet) => sets.reduce((sum, s) => sum + (s[k] as number), 0);
rows.push([
  '**total**',
  sets.reduce((n, s) => n + s.scenarios.length, 0),
  mib(total('bytesUp') + total('bytesDown')),
  total('filesVerified'),
  total('faults'),
  total('losses'),
  total('wrongBytesServed'),
  '',
]);
const header = ['suite', 'scenarios', 'MiB moved', 'files verified', 'faults injected', 'losses', 'wrong bytes served', 'seconds'];
const line = (cells: unknown[]) => `| ${cells.join(' | ')} |`;
process.stdout.write([line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n') + '\n\n');
for (const s of sets) process.stdout.write(`- ${s.suite}: ${s.scenarios.join('; ')}\n`);
