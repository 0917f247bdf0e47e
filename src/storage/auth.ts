// Who may talk to a storage node: whoever holds the cluster's storage key. Every request carries
// an HMAC-SHA256, made with a key derived from it, over the method, the path and an expiry time,
// either in a header (`Authorization: MogSig <expires>.<signature>`, what our client sends) or
// in the URL (`?mogexp=<expires>&mogsig=<signature>`, a signed URL that can be handed to someone
// who holds no key). A signature is good for one method on one path until it expires: a PUT URL
// cannot delete, nor write elsewhere, and a URL or header that leaks (a log, a proxy) is dead
// after its expiry. What it does not do: hide the bytes or stop a replay within the expiry by
// someone who can watch the network (plain HTTP); that needs a private network or a tunnel.
//
// nginx cannot check an HMAC, so it gets a second value derived from the key, a static secret
// header (nginxHeaderValue) that our client sends too. The two are derived separately: the
// nginx value, which sits in nginx's configuration, cannot sign a request for our nodes.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, open, readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCodes, describeError, mogError } from '../errors.ts';

/** The least key material a key file must hold, in characters (a hex key of 128 bits). */
export const MIN_KEY_CHARS = 32;
/** How long the signature on our own requests stays good: covers clock skew between hosts. */
export const REQUEST_TTL_S = 300;
/** The header our client sends for nginx nodes to compare (see docs/operations/storage-auth.md). */
export const NGINX_HEADER = 'x-mogftp-node-key';

const SCHEME = 'MogSig';
const EXPIRES = /^[0-9]{1,12}$/;
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/; // base64url of 32 bytes, unpadded

/** The cluster's storage key, ready for use; the secret itself is not kept. */
export interface StorageKey {
  readonly signing: Buffer;
  /** The static value nginx nodes compare with the NGINX_HEADER header. */
  readonly nginxHeader: string;
}

/** Derives the working keys from the text of a key file (surrounding whitespace ignored). */
export function storageKeyFrom(text: string): StorageKey {
  const secret = text.trim();
  if (secret.length < MIN_KEY_CHARS) {
    throw mogError(ErrorCodes.BAD_CONFIG, `a storage key needs at least ${MIN_KEY_CHARS} characters (e.g. openssl rand -hex 32), this one has ${secret.length}`);
  }
  const derive = (purpose: string) => createHmac('sha256', secret).update(purpose).digest();
  return {
    signing: derive('mogftp storage request signature v1'),
    nginxHeader: derive('mogftp storage nginx header v1').toString('hex'),
  };
}

/** Reads a key file; a missing, unreadable or too short file is a BAD_CONFIG naming the file. */
export function readStorageKeyFile(path: string): StorageKey {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw mogError(ErrorCodes.BAD_CONFIG, `cannot read the storage key file ${path}: ${describeError(err)}`, err);
  }
  try {
    return storageKeyFrom(text);
  } catch (err) {
    throw mogError(ErrorCodes.BAD_CONFIG, `storage key file ${path}: ${describeError(err)}`);
  }
}

/** A fresh random key, as a key file holds it. */
export function newStorageKeyText(): string {
  return `${randomBytes(32).toString('hex')}\n`;
}

/**
 * The key in `path`, made (random, mode 0600, its directory 0700) if there is none yet. Two
 * processes racing to make it both end up with the one that won (O_EXCL).
 */
export async function ensureStorageKeyFile(path: string): Promise<StorageKey> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    const fh = await open(path, 'wx', 0o600);
    try {
      await fh.writeFile(newStorageKeyText());
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw mogError(ErrorCodes.BAD_CONFIG, `cannot create the storage key file ${path}: ${describeError(err)}`, err);
    }
    // An existing key is kept as it is, but never left readable by others.
    await chmod(path, 0o600).catch(() => {});
  }
  return storageKeyFrom(await readFile(path, 'utf8'));
}

/** GET and HEAD read the same thing: a signature for either serves both. */
function canonicalMethod(method: string): string {
  const m = method.toUpperCase();
  return m === 'HEAD' ? 'GET' : m;
}

function signature(key: StorageKey, method: string, path: string, expires: number | string): Buffer {
  return createHmac('sha256', key.signing).update(`${canonicalMethod(method)}\n${path}\n${expires}`).digest();
}

/** The path part of a URL, exactly as it goes on the wire (no query). */
function wirePath(url: string): string {
  return new URL(url).pathname;
}

/** The Authorization header value for one request to `url`, good for `ttlS` seconds. */
export function authorizationFor(key: StorageKey, method: string, url: string, now = Date.now(), ttlS = REQUEST_TTL_S): string {
  return authorizationForTarget(key, method, wirePath(url), now, ttlS);
}

/** The same for a raw request target (what the node sees: path, and any query, which is not signed). */
export function authorizationForTarget(key: StorageKey, method: string, target: string, now = Date.now(), ttlS = REQUEST_TTL_S): string {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const expires = Math.floor(now / 1000) + ttlS;
  return `${SCHEME} ${expires}.${signature(key, method, path, expires).toString('base64url')}`;
}

/**
 * `url` with mogexp and mogsig added: anyone holding it may make that one request (`method` on
 * that path; GET also allows HEAD) until `ttlS` seconds from now, and nothing else.
 */
export function signUrl(key: StorageKey, method: string, url: string, ttlS: number, now = Date.now()): string {
  if (!Number.isSafeInteger(ttlS) || ttlS <= 0) throw mogError(ErrorCodes.INVALID_ARGUMENT, `a signed URL needs a positive whole number of seconds, not ${ttlS}`);
  const u = new URL(url);
  const expires = Math.floor(now / 1000) + ttlS;
  u.searchParams.delete('mogexp');
  u.searchParams.delete('mogsig');
  u.searchParams.append('mogexp', String(expires));
  u.searchParams.append('mogsig', signature(key, method, u.pathname, expires).toString('base64url'));
  return u.toString();
}

export type AuthVerdict = { ok: true } | { ok: false; why: string };

/**
 * Checks a request as the node received it: the raw request target (path and query, as sent)
 * and its Authorization header. A signature in the URL is checked first, then the header.
 * `legacyBearer` (deprecated --token) additionally accepts `Authorization: Bearer <token>`.
 */
export function verifyRequest(
  key: StorageKey,
  method: string,
  rawTarget: string,
  authorization: string | undefined,
  opts: { now?: number; legacyBearer?: string } = {},
): AuthVerdict {
  const q = rawTarget.indexOf('?');
  const path = q < 0 ? rawTarget : rawTarget.slice(0, q);
  let expires: string | null = null;
  let sig: string | null = null;
  if (q >= 0) {
    const params = new URLSearchParams(rawTarget.slice(q + 1));
    if (params.has('mogsig') || params.has('mogexp')) {
      expires = params.get('mogexp');
      sig = params.get('mogsig');
    }
  }
  if (sig === null && expires === null && authorization !== undefined) {
    const a = authorization.trim();
    if (a.slice(0, SCHEME.length + 1).toLowerCase() === `${SCHEME.toLowerCase()} `) {
      const [e, s, ...rest] = a.slice(SCHEME.length + 1).trim().split('.');
      if (rest.length > 0) return { ok: false, why: 'malformed MogSig credential' };
      expires = e ?? null;
      sig = s ?? null;
    } else if (opts.legacyBearer !== undefined && bearerMatches(a, opts.legacyBearer)) {
      return { ok: true };
    }
  }
  if (sig === null && expires === null) return { ok: false, why: 'no credential' };
  if (expires === null || !EXPIRES.test(expires) || sig === null || !SIGNATURE.test(sig)) return { ok: false, why: 'malformed signature' };
  const expected = signature(key, method, path, expires);
  // Constant time: the expected value is a MAC, the given one a fixed-size decoding.
  if (!timingSafeEqual(Buffer.from(sig, 'base64url'), expected)) return { ok: false, why: 'bad signature' };
  if (Number(expires) * 1000 < (opts.now ?? Date.now())) return { ok: false, why: 'signature expired' };
  return { ok: true };
}

function bearerMatches(header: string, token: string): boolean {
  // HMAC both sides with a throwaway key: equal-length digests, so no length or content leaks.
  const k = randomBytes(32);
  const mac = (s: string) => createHmac('sha256', k).update(s).digest();
  return timingSafeEqual(mac(header), mac(`Bearer ${token}`));
}
