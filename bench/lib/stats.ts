// Small helpers for figures: median/min/max of repeated runs, load sampling, RSS sampling.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spread(values: number[]): Spread {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}

/** The 1-minute load average, as `uptime` shows it. */
export function load1(): number {
  return loadavg()[0]!;
}

/** VmRSS (or VmHWM, the peak) of a process in MiB, NaN when it is gone. */
export function memMiB(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Samples a process's VmRSS every `everyMs` until stopped; keeps every sample with its time. */
export function sampleRss(pid: number, everyMs = 100): { stop(): Array<{ t: number; mib: number }> } {
  const samples: Array<{ t: number; mib: number }> = [];
  const start = Date.now();
  const take = () => {
    const mib = memMiB(pid);
    if (Number.isFinite(mib)) samples.push({ t: Date.now() - start, mib });
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '—';
  if (s < 0.01) return `${(s * 1000).toFixed(1)} ms`;
  return s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`;
}

export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? r.toFixed(2) : '—';
}
