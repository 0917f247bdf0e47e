// Polling for tests: a condition is checked every few milliseconds until it holds or the time
// is up. The check may return a string instead of false to say what it saw (put in the error).

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type Check = () => Promise<boolean | string> | boolean | string;

/** Polls `check` until it returns true; fails with `what` and its last detail after `timeoutMs`. */
export async function waitFor(what: string, check: Check, timeoutMs = 15_000, stepMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: boolean | string = false;
  while (Date.now() < deadline) {
    last = await check();
    if (last === true) return;
    await sleep(stepMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${typeof last === 'string' ? `: ${last}` : ''}`);
}

/** waitFor at the reliability suite's pace: 30 s by default, a check every 100 ms. */
export function until(what: string, check: Check, timeoutMs = 30_000, stepMs = 100): Promise<void> {
  return waitFor(what, check, timeoutMs, stepMs);
}
