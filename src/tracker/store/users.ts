// The Users role: accounts, their SSH public keys (the SQL in user-keys.ts) and the login
// throttle every front-end shares (the SQL in logins.ts). Units of work over the Driver seam (driver.ts).
import { mogError, ErrorCodes } from '../../errors.ts';
import type { User, Users } from '../types.ts';
import type { LoginAttempt, LoginPolicy, UserKey } from '../auth-types.ts';
import type { Dialect, Driver } from './driver.ts';
import { all, get, run } from './driver.ts';
import { checkClientAddress, checkPolicy, LoginWork } from './logins.ts';
import { checkHomeDir, checkId, checkInt, checkLabel, num, toUser } from './rows.ts';
import { checkNewUserKey, UserKeyWork, type NewUserKey } from './user-keys.ts';

const USER_COLS = 'id, name, password_hash, domain_id, home_dir, read_only, quota_bytes';

const notFound = (msg: string) => mogError(ErrorCodes.NOT_FOUND, msg);
const invalid = (msg: string) => mogError(ErrorCodes.INVALID_ARGUMENT, msg);

function checkUser(u: Omit<User, 'id'>): Omit<User, 'id'> {
  const name = checkLabel('User name', u.name);
  if (typeof u.passwordHash !== 'string' || u.passwordHash.length === 0) throw invalid('A user needs a password hash');
  const domainId = checkId('Domain id', u.domainId);
  const homeDir = checkHomeDir(u.homeDir);
  if (typeof u.readOnly !== 'boolean') throw invalid('readOnly must be true or false');
  const quotaBytes = u.quotaBytes === null ? null : checkInt('Quota', u.quotaBytes, 0);
  return { name, passwordHash: u.passwordHash, domainId, homeDir, readOnly: u.readOnly, quotaBytes };
}

export class SqlUsers implements Users {
  private readonly d: Dialect;
  private readonly logins: LoginWork;
  private readonly keys: UserKeyWork;

  constructor(private readonly driver: Driver) {
    this.d = driver.dialect;
    this.logins = new LoginWork(driver.dialect);
    this.keys = new UserKeyWork(driver.dialect);
  }

  async createUser(u: Omit<User, 'id'>): Promise<User> {
    const user = checkUser(u);
    const d = this.d;
    return this.driver.write(function* () {
      if (!(yield* get(`SELECT id FROM domains WHERE id = ?${d.forShare}`, user.domainId))) throw notFound(`Domain ${user.domainId} does not exist`);
      if (yield* get('SELECT id FROM users WHERE name = ?', user.name)) throw mogError(ErrorCodes.EXISTS, `User "${user.name}" already exists`);
      const { insertId } = yield* run(
        'INSERT INTO users (name, password_hash, domain_id, home_dir, read_only, quota_bytes) VALUES (?, ?, ?, ?, ?, ?)',
        user.name, user.passwordHash, user.domainId, user.homeDir, user.readOnly ? 1 : 0, user.quotaBytes,
      );
      return { id: insertId, ...user };
    });
  }

  async getUser(name: string): Promise<User | null> {
    return this.driver.read(function* () {
      const r = yield* get(`SELECT ${USER_COLS} FROM users WHERE name = ?`, name);
      return r ? toUser(r) : null;
    });
  }

  async listUsers(): Promise<User[]> {
    return this.driver.read(function* () {
      return (yield* all(`SELECT ${USER_COLS} FROM users ORDER BY name`)).map(toUser);
    });
  }

  async updateUser(name: string, changes: Partial<Omit<User, 'id' | 'name'>>): Promise<User> {
    const d = this.d;
    return this.driver.write(function* () {
      const r = yield* get(`SELECT ${USER_COLS} FROM users WHERE name = ?${d.forUpdate}`, name);
      if (!r) throw notFound(`User "${name}" does not exist`);
      const cur = toUser(r);
      const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
      const next = { ...cur, ...checkUser({ ...cur, ...defined }) };
      if (next.domainId !== cur.domainId && !(yield* get(`SELECT id FROM domains WHERE id = ?${d.forShare}`, next.domainId)))
        throw notFound(`Domain ${next.domainId} does not exist`);
      yield* run(
        'UPDATE users SET password_hash = ?, domain_id = ?, home_dir = ?, read_only = ?, quota_bytes = ? WHERE id = ?',
        next.passwordHash, next.domainId, next.homeDir, next.readOnly ? 1 : 0, next.quotaBytes, cur.id,
      );
      return next;
    });
  }

  /** Removes the user and, in the same transaction, their SSH keys. */
  async removeUser(name: string): Promise<void> {
    const d = this.d;
    const keys = this.keys;
    return this.driver.write(function* () {
      const r = yield* get(`SELECT id FROM users WHERE name = ?${d.forUpdate}`, name);
      if (!r) throw notFound(`User "${name}" does not exist`);
      yield* keys.removeAllOf(num(r.id));
      yield* run('DELETE FROM users WHERE id = ?', num(r.id));
    });
  }

  // --- SSH public keys (the SQL lives in user-keys.ts) ---------------------------------

  async addUserKey(name: string, k: NewUserKey): Promise<UserKey> {
    const key = checkNewUserKey(k);
    return this.driver.write(() => this.keys.add(name, key));
  }

  async listUserKeys(name: string): Promise<UserKey[]> {
    return this.driver.read(() => this.keys.list(name));
  }

  async removeUserKey(name: string, fingerprint: string): Promise<boolean> {
    return this.driver.write(() => this.keys.remove(name, fingerprint));
  }

  async userKeyMatches(name: string, algorithm: string, key: Buffer): Promise<boolean> {
    return this.driver.read(() => this.keys.matches(name, algorithm, key));
  }

  // --- login attempts (the SQL lives in logins.ts) -------------------------------------

  async takeLoginAttempt(address: string, policy: LoginPolicy, now: number): Promise<LoginAttempt> {
    checkClientAddress(address);
    checkPolicy(policy);
    return this.driver.write(() => this.logins.take(address, policy, now));
  }

  async settleLoginAttempt(address: string, ok: boolean, policy: LoginPolicy, now: number): Promise<number> {
    checkClientAddress(address);
    checkPolicy(policy);
    return this.driver.write(() => this.logins.settle(address, ok, policy, now));
  }

  async loginBannedFor(address: string, now: number): Promise<number> {
    checkClientAddress(address);
    return this.driver.read(() => this.logins.bannedFor(address, now));
  }

  async pruneLoginAttempts(before: number): Promise<number> {
    return this.driver.write(() => this.logins.prune(before));
  }

  async clearLoginAttempts(address: string): Promise<boolean> {
    checkClientAddress(address);
    return this.driver.write(() => this.logins.clear(address));
  }
}
