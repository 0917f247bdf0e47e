// The SQL of users' SSH public keys (the UserKeys part of the Users role, composed by users.ts):
// one user_keys row per key (schema v9), keyed by the user's id and the key's fingerprint.
//
// Every key is checked before it is stored (ssh-keys.ts: an accepted type, a valid key, the
// fingerprint of its blob), so a row is always a key the SFTP door can verify a signature with.
// Adding locks the user's row: it serialises a user's adds (the per-user limit holds under
// concurrency) and waits for a removeUser in flight, which deletes the user's keys with the user.
import { mogError, ErrorCodes } from '../../errors.ts';
import { checkKeyComment, checkPublicKey, MAX_KEY_BYTES, MAX_KEYS_PER_USER, sshFingerprint } from '../ssh-keys.ts';
import type { UserKey } from '../auth-types.ts';
import type { Dialect, Row, Work } from './driver.ts';
import { all, get, run } from './driver.ts';
import { checkTime, num, str } from './rows.ts';

const invalid = (msg: string) => mogError(ErrorCodes.INVALID_ARGUMENT, msg);

export interface NewUserKey {
  algorithm: string;
  key: Buffer;
  comment: string;
  fingerprint: string;
  now: number;
}

/** Checks a key to add: INVALID_ARGUMENT unless every field is sound and they agree with each other. */
export function checkNewUserKey(k: NewUserKey): NewUserKey {
  if (typeof k.algorithm !== 'string') throw invalid('A key needs its type (algorithm)');
  checkPublicKey(k.algorithm, k.key);
  if (k.fingerprint !== sshFingerprint(k.key)) throw invalid(`The fingerprint ${String(k.fingerprint)} is not the key's (${sshFingerprint(k.key)})`);
  return { algorithm: k.algorithm, key: Buffer.from(k.key), comment: checkKeyComment(k.comment), fingerprint: k.fingerprint, now: checkTime('Key time', k.now) };
}

/** The key type a signature algorithm name stands for (ssh2 already reports 'ssh-rsa'; others may not). */
function keyTypeOf(algorithm: string): string {
  return algorithm === 'rsa-sha2-256' || algorithm === 'rsa-sha2-512' ? 'ssh-rsa' : algorithm;
}

function blob(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return Buffer.from(v);
  if (v instanceof Uint8Array) return Buffer.from(v);
  throw mogError(ErrorCodes.INTERNAL, `Expected a key blob from the database, got ${typeof v}`);
}

const toUserKey = (userName: string, r: Row): UserKey => ({
  userName,
  algorithm: str(r.algorithm),
  key: blob(r.key_blob),
  comment: str(r.comment),
  fingerprint: str(r.fingerprint),
  createdAt: num(r.created_at),
});

const KEY_COLS = 'fingerprint, algorithm, key_blob, comment, created_at';

export class UserKeyWork {
  constructor(private readonly d: Dialect) {}

  /** The user's id, its row locked until commit; NOT_FOUND if there is no such user. */
  private *lockUser(name: string): Work<number> {
    const u = yield* get(`SELECT id FROM users WHERE name = ?${this.d.forUpdate}`, name);
    if (!u) throw mogError(ErrorCodes.NOT_FOUND, `User "${name}" does not exist`);
    return num(u.id);
  }

  *add(name: string, k: NewUserKey): Work<UserKey> {
    const userId = yield* this.lockUser(name);
    if (yield* get('SELECT 1 AS x FROM user_keys WHERE user_id = ? AND fingerprint = ?', userId, k.fingerprint)) {
      throw mogError(ErrorCodes.EXISTS, `User "${name}" already has the key ${k.fingerprint}`);
    }
    const count = yield* get('SELECT COUNT(*) AS n FROM user_keys WHERE user_id = ?', userId);
    if (num(count?.n ?? 0) >= MAX_KEYS_PER_USER) {
      throw invalid(`User "${name}" already has ${MAX_KEYS_PER_USER} keys, the most a user may have: remove one first`);
    }
    yield* run(
      'INSERT INTO user_keys (user_id, fingerprint, algorithm, key_blob, comment, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      userId, k.fingerprint, k.algorithm, k.key, k.comment, k.now,
    );
    return { userName: name, algorithm: k.algorithm, key: k.key, comment: k.comment, fingerprint: k.fingerprint, createdAt: k.now };
  }

  *list(name: string): Work<UserKey[]> {
    const u = yield* get('SELECT id FROM users WHERE name = ?', name);
    if (!u) throw mogError(ErrorCodes.NOT_FOUND, `User "${name}" does not exist`);
    const rows = yield* all(`SELECT ${KEY_COLS} FROM user_keys WHERE user_id = ? ORDER BY created_at, fingerprint`, num(u.id));
    return rows.map((r) => toUserKey(name, r));
  }

  *remove(name: string, fingerprint: string): Work<boolean> {
    if (typeof fingerprint !== 'string') throw invalid('A key fingerprint must be text');
    const { changes } = yield* run('DELETE FROM user_keys WHERE fingerprint = ? AND user_id = (SELECT id FROM users WHERE name = ?)', fingerprint, name);
    return changes > 0;
  }

  /** Whether the user has this very key: found by fingerprint, then compared byte for byte. */
  *matches(name: string, algorithm: string, key: Buffer): Work<boolean> {
    if (typeof algorithm !== 'string' || !Buffer.isBuffer(key) || key.length === 0 || key.length > MAX_KEY_BYTES) return false;
    const r = yield* get(
      'SELECT k.algorithm, k.key_blob FROM user_keys k JOIN users u ON u.id = k.user_id WHERE u.name = ? AND k.fingerprint = ?',
      name, sshFingerprint(key),
    );
    return r !== undefined && str(r.algorithm) === keyTypeOf(algorithm) && blob(r.key_blob).equals(key);
  }

  /** Deletes every key of a user (removeUser calls it in its transaction); returns how many. */
  *removeAllOf(userId: number): Work<number> {
    const { changes } = yield* run('DELETE FROM user_keys WHERE user_id = ?', userId);
    return changes;
  }
}
