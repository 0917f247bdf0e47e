// One quickstart per data directory: a second one would re-point the hosts at its own nodes and
// leave the first reading from ports that no longer answer.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, mogError } from '../errors.ts';

/** Takes DATA/quickstart.pid (or one left by a process that is gone); resolves to its release. */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lock = join(dataDir, 'quickstart.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      return () => rm(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(await readFile(lock, 'utf8').catch(() => ''));
      if (pid > 0 && pid !== process.pid && isAlive(pid))
        throw mogError(ErrorCodes.IN_USE, `Another quickstart (pid ${pid}) is using ${dataDir}; stop it first or pass --data`);
      await rm(lock, { force: true }); // left behind by a quickstart that was killed
    }
  }
  throw mogError(ErrorCodes.IN_USE, `Could not lock ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
