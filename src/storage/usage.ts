// MogileFS's per-device usage file: `key: value` lines with sizes in KiB, as mogstored wrote
// them (available, device, disk, time, total, use, used). Our node computes it on request from
// statfs(2) on the device directory; the monitor parses it.
import { readFile, statfs } from 'node:fs/promises';

export interface NodeUsage {
  availableKb: number;
  usedKb: number;
  totalKb: number;
  /** When the node measured, ms since the epoch (the file carries seconds). */
  time: number;
}

export async function renderUsage(devDir: string, devid: number): Promise<string> {
  const s = await statfs(devDir);
  const kb = (blocks: number) => Math.floor((blocks * s.bsize) / 1024);
  const total = kb(s.blocks);
  const available = kb(s.bavail);
  const used = kb(s.blocks - s.bfree);
  // df's Use%: used over what an unprivileged writer could have, rounded up.
  const use = used + available > 0 ? Math.ceil((used * 100) / (used + available)) : 0;
  const fields: Record<string, string | number> = {
    available,
    device: (await mountSource(devDir)) ?? `dev${devid}`,
    disk: devDir,
    time: Math.floor(Date.now() / 1000),
    total,
    use: `${use}%`,
    used,
  };
  return Object.entries(fields).map(([k, v]) => `${k}: ${v}\n`).join('');
}

/** Null unless the text has numeric available, used and total lines. */
export function parseUsage(text: string): NodeUsage | null {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const num = (k: string) => {
    const v = kv.get(k);
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
  };
  const availableKb = num('available');
  const usedKb = num('used');
  const totalKb = num('total');
  if (availableKb === null || usedKb === null || totalKb === null) return null;
  const seconds = num('time');
  return { availableKb, usedKb, totalKb, time: seconds === null ? Date.now() : seconds * 1000 };
}

/** The file system's source (e.g. /dev/sda1) holding `dir`, from /proc/self/mountinfo; null off Linux. */
async function mountSource(dir: string): Promise<string | null> {
  let info: string;
  try {
    info = await readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return null;
  }
  let best: { point: string; source: string } | null = null;
  for (const line of info.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const point = unescapeMount(left.split(' ')[4] ?? '');
    const source = unescapeMount(right.split(' ')[1] ?? '');
    const under = point === '/' || dir === point || dir.startsWith(`${point}/`);
    if (under && (!best || point.length >= best.point.length)) best = { point, source };
  }
  return best?.source ?? null;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}
