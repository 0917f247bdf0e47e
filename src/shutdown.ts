// How a daemon with FTP transfers stops on Ctrl-C (or SIGTERM): the first signal stops accepting
// and lets running transfers finish for a grace time, saying how many it waits for; a second
// aborts them (an aborted upload stores nothing), and a third exits at once. Without this the
// second Ctrl-C found no handler left and Node killed the process mid-commit, silently.
import type { InFlightTransfers } from './ftp/in-flight.ts';
import { onStopSignals, untilSignal } from './signals.ts';

export interface StopParts {
  transfers: InFlightTransfers;
  /** How long the FTP server waits for running transfers (its shutdownGraceMs). */
  graceMs: number;
  /** Stops everything; resolves when done. */
  stop: () => Promise<void>;
  /** Where the operator reads what is happening (stdout: they pressed the key). */
  say: (line: string) => void;
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** Waits for the first stop signal, then stops as described above. */
export async function serveUntilStopped(parts: StopParts): Promise<void> {
  await untilSignal();
  let presses = 1;
  const running = parts.transfers.count();
  if (running > 0)
    parts.say(
      `Stopping: waiting for ${plural(running, 'transfer')} to finish (up to ${Math.round(parts.graceMs / 1000)} s); press Ctrl-C again to abort ${running === 1 ? 'it' : 'them'}.`,
    );
  else parts.say('Stopping.');
  const off = onStopSignals(() => {
    presses++;
    if (presses === 2) {
      const aborted = parts.transfers.abortAll();
      if (aborted > 0) parts.say(`Aborting ${plural(aborted, 'transfer')} (an aborted upload stores nothing); press Ctrl-C again to exit at once.`);
      else parts.say('No transfer is running; still stopping. Press Ctrl-C again to exit at once.');
    } else {
      parts.say('Exiting at once.');
      process.exit(130);
    }
  });
  try {
    await parts.stop();
  } finally {
    off();
    parts.transfers.stop();
  }
}
