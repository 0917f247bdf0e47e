// The metadata store's authentication roles and their records (the rest are in types.ts,
// whose Users role extends these): the login throttle every door shares, and users' SSH keys.

/** How many password checks one client address gets, and for how long it is refused after. */
export interface LoginPolicy {
  /**
   * Password checks per address and window, in flight or failed: one more is refused as busy
   * (no ban). The `limit`-th failure of a window starts the ban.
   */
  limit: number;
  windowMs: number;
  banMs: number;
}

export interface LoginAttempt {
  /** False: do not check the password; refuse the login. */
  allowed: boolean;
  /** When refused: banned (failures reached the limit), or busy (`limit` checks pending or failed: try again soon). */
  refused?: 'banned' | 'busy';
  /** Checks pending or failed in the current window, this one included when allowed. */
  attempts: number;
  /** When refused: milliseconds until the address may try again (busy: a hint). */
  retryAfterMs: number;
}

/**
 * The login throttle's state, shared by every front-end through the database (store/logins.ts).
 * An attempt is taken before the password is hashed and settled after.
 */
export interface LoginAttempts {
  takeLoginAttempt(address: string, policy: LoginPolicy, now: number): Promise<LoginAttempt>;
  /** Ends a pending check; a failure is counted, and the limit-th failure bans the address. Returns ms banned. */
  settleLoginAttempt(address: string, ok: boolean, policy: LoginPolicy, now: number): Promise<number>;
  loginBannedFor(address: string, now: number): Promise<number>;
  /** Forgets addresses whose window and ban both ended before `before`. */
  pruneLoginAttempts(before: number): Promise<number>;
  /** Lifts an address's ban; false when it had no record. */
  clearLoginAttempts(address: string): Promise<boolean>;
}

/** An SSH public key of a user (store/user-keys.ts; parsed and checked by ssh-keys.ts). */
export interface UserKey {
  userName: string;
  /** The key type as its wire blob names it: 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-rsa', ... */
  algorithm: string;
  /** The SSH wire blob (RFC 4253 §6.6). */
  key: Buffer;
  comment: string;
  /** 'SHA256:' + unpadded base64 of SHA-256(key), as `ssh-keygen -l` prints it. */
  fingerprint: string;
  createdAt: number;
}

/**
 * Users' SSH public keys, for the SFTP door's publickey logins (store/user-keys.ts). A key is
 * checked completely before it is stored (ssh-keys.ts checkPublicKey: accepted type, valid key,
 * the fingerprint its blob has): INVALID_ARGUMENT otherwise, and when the user already has
 * MAX_KEYS_PER_USER keys. Removing a user removes their keys in the same transaction.
 */
export interface UserKeys {
  /** NOT_FOUND if the user is unknown; EXISTS if the user already has this key. */
  addUserKey(name: string, k: { algorithm: string; key: Buffer; comment: string; fingerprint: string; now: number }): Promise<UserKey>;
  /** The user's keys, oldest first. NOT_FOUND if the user is unknown. */
  listUserKeys(name: string): Promise<UserKey[]>;
  /** false if the user has no key with this fingerprint. */
  removeUserKey(name: string, fingerprint: string): Promise<boolean>;
  /**
   * true when `key` (SSH wire blob) of `algorithm` is one of the user's keys. `algorithm` is the
   * key's type; the RSA signature names rsa-sha2-256 and rsa-sha2-512 count as 'ssh-rsa'.
   * false (never an error) for an unknown user or a key no user could have.
   */
  userKeyMatches(name: string, algorithm: string, key: Buffer): Promise<boolean>;
}
