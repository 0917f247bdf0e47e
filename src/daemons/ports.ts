// Taken ports as the quickstart reports them: one line that names the option to change, instead
// of a bare EADDRINUSE (or, from the FTP listener, an error record logged on top of it).
import { createServer } from 'node:net';
import { ErrorCodes, mogError } from '../errors.ts';

/** Fails with listenOn's error if host:port is taken, before the real listener tries. */
export async function ensureFree(host: string, port: number, what: string, flag: string): Promise<void> {
  if (port === 0) return;
  await listenOn(
    () =>
      new Promise<void>((resolve, reject) => {
        const probe = createServer();
        probe.once('error', reject);
        probe.listen(port, host, () => probe.close(() => resolve()));
      }),
    what,
    flag,
  );
}

/** Turns "address in use" into an error that names the option to change. */
export async function listenOn<T>(start: () => Promise<T>, what: string, flag: string): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw mogError(ErrorCodes.IN_USE, `${what} is already in use: stop what holds it, or choose another with ${flag}`, err);
  }
}
