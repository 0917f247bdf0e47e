// `device add --root DIR`: when the storage node runs on this machine, make its dev<devid>
// directory right away so the node can serve the new device without a manual mkdir.
import { mkdir } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';

/** True when `address` names this machine: loopback, one of its interface addresses, or its host name. */
export function isLocalAddress(address: string): boolean {
  const a = address.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (a === 'localhost' || a === hostname().toLowerCase()) return true;
  if (isIP(a) === 4 && a.startsWith('127.')) return true;
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  for (const list of Object.values(networkInterfaces())) {
    for (const nic of list ?? []) if (nic.address.toLowerCase() === a) return true;
  }
  return false;
}

/** Creates (if missing) and returns ROOT/dev<devid>. */
export async function createDeviceDir(root: string, devid: number): Promise<string> {
  const dir = join(root, `dev${devid}`);
  await mkdir(dir, { recursive: true });
  return dir;
}
