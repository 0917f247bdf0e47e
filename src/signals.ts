// Daemons run until the operator stops them; this is how they wait for that, and how a second
// Ctrl-C during a graceful stop becomes "stop now".

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      for (const s of STOP_SIGNALS) process.off(s, on);
      resolve(sig);
    };
    for (const s of STOP_SIGNALS) process.on(s, on);
  });
}

/**
 * Calls `onSignal` for every SIGINT or SIGTERM until the returned function is called. While it
 * is installed Node's default (die at once) is off, so the caller decides what a repeated Ctrl-C
 * means.
 */
export function onStopSignals(onSignal: (sig: NodeJS.Signals) => void): () => void {
  const on = (sig: NodeJS.Signals) => onSignal(sig);
  for (const s of STOP_SIGNALS) process.on(s, on);
  return () => {
    for (const s of STOP_SIGNALS) process.off(s, on);
  };
}
