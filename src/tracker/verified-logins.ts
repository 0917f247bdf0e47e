// Logins this process verified lately. FTP clients open a new control connection for every
// transfer (curl per file, lftp's parallel mirror, backup scripts), and each would cost a full
// scrypt (~128 MiB and half a second of a core at today's parameters). A name and password that
// verified against a user's CURRENT stored hash within `ttlMs` are trusted again without hashing.
//
// What is kept is an HMAC of the name and password under a key that never leaves this process,
// next to the stored hash it matched, never the password itself. A wrong password never matches
// an entry, so guessing gains nothing here: it takes the throttled path. A changed password (a
// new stored hash) or a removed user makes every entry for that user useless at once.
import { createHmac, randomBytes } from 'node:crypto';

export class VerifiedLogins {
  private readonly secret = randomBytes(32);
  private readonly entries = new Map<string, { passwordHash: string; until: number }>();

  constructor(
    private readonly ttlMs = 5 * 60_000,
    private readonly maxEntries = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  private key(name: string, password: string): string {
    return createHmac('sha256', this.secret).update(name).update('\0').update(password).digest('base64');
  }

  /** The stored hash this name and password verified against lately, or null. */
  recall(name: string, password: string): string | null {
    const k = this.key(name, password);
    const e = this.entries.get(k);
    if (!e) return null;
    if (e.until <= this.now()) {
      this.entries.delete(k);
      return null;
    }
    return e.passwordHash;
  }

  remember(name: string, password: string, passwordHash: string): void {
    const k = this.key(name, password);
    this.entries.delete(k); // re-inserted last: the map's order is oldest first
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(k, { passwordHash, until: this.now() + this.ttlMs });
  }

  forget(name: string, password: string): void {
    this.entries.delete(this.key(name, password));
  }
}
