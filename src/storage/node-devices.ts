// The storage node's device tree: DIR/dev<devid>/ directories, and the proof that a device, or a
// directory within one, really lies inside the root (symlinks included) before any file in it is
// touched.
import { mkdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { NodeFailure } from './failures.ts';
import { HttpFail, isMissing } from './node-http.ts';

/** How long a device or directory, once proven inside the root, is taken on trust. */
const TRUST_MS = 2000;
/** Past this many trusted directories the cache starts over, so it cannot grow without bound. */
const MAX_TRUSTED_DIRS = 10_000;

// Each request would otherwise spend several file-system round trips (realpath, stat, mkdir)
// re-proving that its device and directory lie inside the root; a positive answer is trusted
// for a moment. Requests cannot create symlinks, so only someone with write access to the
// device tree could change the answer, and not for longer than TRUST_MS.
export class DeviceTree {
  private readonly trustedDevices = new Map<number, { real: string; until: number }>();
  private readonly trustedDirs = new Map<string, number>();

  /** `rootReal` is the realpath of the storage root. */
  constructor(readonly rootReal: string) {}

  /** realpath of DIR/dev<devid>, which must be a directory inside DIR (symlinks included). */
  async deviceDir(devid: number): Promise<string> {
    const now = Date.now();
    const hit = this.trustedDevices.get(devid);
    if (hit && hit.until > now) return hit.real;
    let real: string;
    try {
      real = await realpath(join(this.rootReal, `dev${devid}`));
    } catch (err) {
      if (isMissing(err)) throw new HttpFail(404, NodeFailure.UNKNOWN_DEVICE, `no device dev${devid} on this node`);
      throw err;
    }
    if (!inside(this.rootReal, real)) throw new HttpFail(400, NodeFailure.BAD_PATH, `dev${devid} leads outside the storage root`);
    if (!(await stat(real)).isDirectory()) throw new HttpFail(404, NodeFailure.UNKNOWN_DEVICE, `dev${devid} is not a directory`);
    this.trustedDevices.set(devid, { real, until: now + TRUST_MS });
    return real;
  }

  /** Proves `dir` (created first when `create`) resolves inside the device; ENOENT when absent. */
  async checkedDir(devDir: string, dir: string, create: boolean): Promise<void> {
    const now = Date.now();
    if ((this.trustedDirs.get(dir) ?? 0) > now) return;
    if (create) await mkdir(dir, { recursive: true });
    const real = await realpath(dir);
    if (real !== devDir && !inside(devDir, real)) throw new HttpFail(400, NodeFailure.BAD_PATH, 'path leads outside the device');
    if (this.trustedDirs.size >= MAX_TRUSTED_DIRS) this.trustedDirs.clear();
    this.trustedDirs.set(dir, now + TRUST_MS);
  }

  /** Drops every trusted answer: a trusted directory turned out to be gone. */
  forgetTrust(): void {
    this.trustedDirs.clear();
    this.trustedDevices.clear();
  }
}

function inside(parent: string, child: string): boolean {
  return child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}
