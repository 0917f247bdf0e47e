// What each reliability file did, as numbers for RELIABILITY.md: scenarios run, bytes moved
// through FTP, files verified (RETR and on disk), faults injected, and losses (acknowledged files
// missing or wrong: every test asserts 0). With MOGFTP_RELIABILITY_FIGURES=DIR each file writes
// DIR/<suite>.json; `node --import tsx test/reliability/summary.ts DIR` adds them up.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';

export interface FigureSet {
  suite: string;
  scenarios: string[];
  bytesUp: number;
  bytesDown: number;
  filesVerified: number;
  faults: number;
  losses: number;
  wrongBytesServed: number;
  durationMs: number;
}

export class Figures implements FigureSet {
  scenarios: string[] = [];
  bytesUp = 0;
  bytesDown = 0;
  filesVerified = 0;
  faults = 0;
  losses = 0;
  wrongBytesServed = 0;
  durationMs = 0;
  private readonly started = Date.now();

  constructor(readonly suite: string) {}

  scenario(name: string): void {
    this.scenarios.push(name);
  }

  fault(n = 1): void {
    this.faults += n;
  }

  up(bytes: number): void {
    this.bytesUp += bytes;
  }

  down(bytes: number): void {
    this.bytesDown += bytes;
  }

  verified(n = 1): void {
    this.filesVerified += n;
  }

  lost(n = 1): void {
    this.losses += n;
  }

  wrong(n = 1): void {
    this.wrongBytesServed += n;
  }

  toJSON(): FigureSet {
    const { suite, scenarios, bytesUp, bytesDown, filesVerified, faults, losses, wrongBytesServed } = this;
    return { suite, scenarios, bytesUp, bytesDown, filesVerified, faults, losses, wrongBytesServed, durationMs: Date.now() - this.started };
  }
}

/** Figures for one test file, saved (and printed) when the file's tests end. */
export function trackFigures(suite: string): Figures {
  const f = new Figures(suite);
  after(() => {
    const json = f.toJSON();
    process.stdout.write(`# figures ${JSON.stringify(json)}\n`);
    const dir = process.env.MOGFTP_RELIABILITY_FIGURES;
    if (dir) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${suite}.json`), JSON.stringify(json, null, 2));
    }
  });
  return f;
}
