// MogileFS's replica path layout on a storage node: the fid left-padded to 10 digits and
// split 1/3/3 into directories, so a leaf directory holds at most 1000 fids.
// fid 123 on device 7 → /dev7/0/000/000/0000000123.fid

export function fidPath(devid: number, fid: number): string {
  if (!Number.isSafeInteger(devid) || devid <= 0) throw new RangeError(`bad devid ${devid}`);
  if (!Number.isSafeInteger(fid) || fid <= 0 || fid > 9_999_999_999) throw new RangeError(`bad fid ${fid}`);
  const n = String(fid).padStart(10, '0');
  return `/dev${devid}/${n.slice(0, 1)}/${n.slice(1, 4)}/${n.slice(4, 7)}/${n}.fid`;
}

const FID_PATH = /^\/dev([1-9][0-9]{0,9})\/([0-9])\/([0-9]{3})\/([0-9]{3})\/([0-9]{10})\.fid$/;

/** Parses a replica path; null unless it is exactly the layout above. */
export function parseFidPath(path: string): { devid: number; fid: number } | null {
  const m = FID_PATH.exec(path);
  if (!m) return null;
  const [, dev, a, b, c, name] = m;
  if (name!.slice(0, 1) !== a || name!.slice(1, 4) !== b || name!.slice(4, 7) !== c) return null;
  const fid = Number(name);
  if (fid <= 0) return null;
  return { devid: Number(dev), fid };
}

export function nodeBaseUrl(address: string, port: number): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return `http://${host}:${port}`;
}

/** The URL of fid's replica on a device of the node at address:port. */
export function replicaUrl(target: { address: string; port: number; devid: number }, fid: number): string {
  return nodeBaseUrl(target.address, target.port) + fidPath(target.devid, fid);
}

/**
 * The mode of a replica still being written under its final name by `mogftp storage`
 * (write-only, an unlikely mode for anything else): GET and HEAD treat it as absent, and a
 * restarted node removes those a crash left behind.
 */
export const IN_PROGRESS_MODE = 0o200;

/** A replica still being written under its final name (its mode is IN_PROGRESS_MODE). */
export function isInProgress(st: { mode: number }): boolean {
  return (st.mode & 0o777) === IN_PROGRESS_MODE;
}
