// Password hashing for FTP users: `scrypt$N$r$p$<saltB64>$<hashB64>`, self-describing so the
// cost can be raised later without invalidating stored hashes.
//
// New hashes use OWASP's minimum for scrypt (Password Storage Cheat Sheet: N=2^17, r=8, p=1):
// about 128 MiB and half a second of one core per hash. Hashes made with the earlier N=2^14
// still verify. Logins compute them through a HashGate (login-throttle.ts) that caps how many
// run at once, so the cost cannot be multiplied by a flood of guesses.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const N = 1 << 17;
const R = 8;
const P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

// Bounds for parameters read back from storage, so a tampered row cannot make a login burn
// gigabytes of memory or minutes of CPU.
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_MEM = 256 * 1024 * 1024;
const MAX_KEY_BYTES = 128;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

function scryptAsync(plain: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(plain, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Memory scrypt needs is about 128·N·r bytes; Node's default cap (32 MiB) is too tight above N=2^15. */
function optionsFor(n: number, r: number, p: number): ScryptOptions {
  return { N: n, r, p, maxmem: Math.max(32 * 1024 * 1024, 2 * 128 * n * r) };
}

export async function hashPassword(plain: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(plain, salt, KEY_BYTES, optionsFor(N, R, P));
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * A well-formed hash, at today's parameters, of a password nobody knows: an unknown user name is
 * checked against it, so the time a login takes does not tell which names exist.
 */
export const UNKNOWN_USER_HASH = 'scrypt$131072$8$1$bhJnkH0yWMCr8B4ASHXiyA==$ZhkMcZo7sysLMdiNDVMJW7T3zkYJqYBu6Qs8oybJ94I=';

/** True when `stored` was made with weaker parameters than new hashes get (a candidate for re-hashing). */
export function isWeakerThanCurrent(stored: string): boolean {
  const [alg, n, r, p] = stored.split('$');
  return alg !== 'scrypt' || Number(n) < N || Number(r) < R || Number(p) < P;
}

function parseCount(s: string | undefined, max: number): number | null {
  if (s === undefined || !/^[1-9][0-9]{0,9}$/.test(s)) return null;
  const v = Number(s);
  return v <= max ? v : null;
}

/** True when `plain` matches `stored`; false (never a throw) for a wrong password or a malformed hash. */
export async function verifyPassword(plain: string, stored: string): Promise<boolean> {
  if (typeof plain !== 'string' || typeof stored !== 'string') return false;
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const n = parseCount(parts[1], MAX_N);
  const r = parseCount(parts[2], MAX_R);
  const p = parseCount(parts[3], MAX_P);
  if (n === null || r === null || p === null) return false;
  if (n < 2 || (n & (n - 1)) !== 0) return false; // scrypt needs a power of two
  if (128 * n * r > MAX_MEM) return false;
  const [saltB64, hashB64] = [parts[4]!, parts[5]!];
  if (!B64.test(saltB64) || !B64.test(hashB64)) return false;
  const salt = Buffer.from(saltB64, 'base64');
  const expected = Buffer.from(hashB64, 'base64');
  if (salt.length === 0 || expected.length < 16 || expected.length > MAX_KEY_BYTES) return false;
  let actual: Buffer;
  try {
    actual = await scryptAsync(plain, salt, expected.length, optionsFor(n, r, p));
  } catch {
    return false;
  }
  return timingSafeEqual(actual, expected);
}
