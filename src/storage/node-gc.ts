// Node's HTTP parser hands over each body chunk in a freshly allocated buffer, freed only when
// the GC next runs; left alone, tens of MB of spent chunks (and of the promises around each
// chunk, uploads and downloads alike) pile up between collections. A minor collection (a
// scavenge: well under a millisecond with our small heap) after every few MiB moved keeps
// that flat (bench/storage-rss.ts checks).
//
// `gc` is obtained the way Jest's leak detector does it: enable the flag, fetch the function
// from a fresh context, disable the flag again. That touches V8's flags, so it happens only
// when a node starts (enableMinorGc, from startStorageNode), never in a process that merely
// imports this code.
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

const GC_EVERY_BYTES = 4 * 1024 * 1024;

/** Undefined until enableMinorGc; null when this runtime would not give us gc. */
let minorGc: (() => void) | null | undefined;
let movedSinceGc = 0;

/** Obtains the minor GC once per process; idempotent. */
export function enableMinorGc(): void {
  minorGc ??= obtainGc();
}

/** True once enableMinorGc has obtained a collector. */
export function minorGcEnabled(): boolean {
  return typeof minorGc === 'function';
}

/** Counts bytes moved; runs a minor GC each time GC_EVERY_BYTES more have gone by. */
export function collectGarbageEvery(bytes: number): void {
  movedSinceGc += bytes;
  if (movedSinceGc < GC_EVERY_BYTES || !minorGc) return;
  movedSinceGc = 0;
  minorGc();
}

function obtainGc(): (() => void) | null {
  try {
    let gc = (globalThis as { gc?: unknown }).gc;
    if (typeof gc !== 'function') {
      v8.setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc');
      v8.setFlagsFromString('--no-expose-gc');
    }
    const fn = gc as (opts?: object) => void;
    return () => fn({ type: 'minor' });
  } catch {
    return null;
  }
}
