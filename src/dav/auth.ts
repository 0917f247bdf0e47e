// HTTP Basic authentication against the store's users (Tracker.authenticate, the same scrypt
// check FTP uses). Desktop clients send credentials with every request, so a successful login
// is remembered briefly (keyed by a hash, never the password) with the user's Volume: the
// next request costs no scrypt and no home lookup. Changes to a user apply after `cacheMs`.
import { createHash } from 'node:crypto';
import { ErrorCodes, isMogError } from '../errors.ts';
import { Volume, type VolumeDeps } from '../vfs/volume.ts';

const MAX_ENTRIES = 1000;

export class BasicAuth {
  private readonly cache = new Map<string, { at: number; volume: Promise<Volume> }>();

  constructor(
    private readonly deps: VolumeDeps,
    private readonly cacheMs = 10_000,
  ) {}

  /** The user's Volume, or null when the header is missing or the credentials are wrong. */
  async login(header: string | undefined): Promise<Volume | null> {
    const creds = parseBasic(header);
    if (!creds) return null;
    const key = createHash('sha256').update(`${creds.user}\0${creds.password}`).digest('base64');
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && now - hit.at < this.cacheMs) return hit.volume.catch(() => null);
    const volume = (async () => Volume.open(this.deps, await this.deps.tracker.authenticate(creds.user, creds.password)))();
    if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { at: now, volume });
    try {
      return await volume;
    } catch (err) {
      this.cache.delete(key);
      if (isMogError(err, ErrorCodes.AUTH_FAILED)) return null;
      throw err;
    }
  }
}

export function parseBasic(header: string | undefined): { user: string; password: string } | null {
  const m = /^\s*Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return null;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return null;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}
