// SSH user authentication against the store's users. Passwords go through Tracker.authenticate:
// the same scrypt hashes, the login throttle every door shares (a banned address is refused
// without hashing) and the verified-login cache, as FTP and WebDAV. Public keys are the user's
// registered keys (`mogftp admin user key add`); a key that matches and whose signature verifies
// logs in, once the shared throttle has said the address is not banned. A key offered without
// a signature (the client asking whether it would do) counts as no failure: clients offer every
// key they hold. RSA signatures over SHA-1 (`ssh-rsa`) and DSA keys are refused.
import ssh2 from 'ssh2';
import type { AuthContext, PublicKeyAuthContext } from 'ssh2';
import { describeError, ErrorCodes, isMogError } from '../errors.ts';
import type { LogFn } from '../log.ts';
import { LoginDenied, loginThrottleOf } from '../tracker/login-throttle.ts';
import type { LoginAttempts } from '../tracker/auth-types.ts';
import type { User, Users } from '../tracker/types.ts';
import type { VolumeDeps } from '../vfs/deps.ts';
import { Volume } from '../vfs/volume.ts';

export type SftpAuthDeps = VolumeDeps & { store: VolumeDeps['store'] & LoginAttempts & Pick<Users, 'getUser' | 'userKeyMatches'> };

/** What an authentication request came to. */
export type AuthOutcome = { volume: Volume } | { denied: 'wrong' | 'banned' | 'busy' | 'unsupported' } | { pkOk: true };

const METHODS: Array<'password' | 'publickey'> = ['password', 'publickey'];

export async function authenticate(deps: SftpAuthDeps, ctx: AuthContext, address: string, log: LogFn): Promise<AuthOutcome> {
  const from = { address, door: 'sftp' as const, log };
  try {
    let user: User | null;
    if (ctx.method === 'password') user = await deps.tracker.authenticate(ctx.username, ctx.password, from);
    else if (ctx.method === 'publickey') {
      const result = await checkKey(deps, ctx);
      if (result !== 'verified') return result === 'query-ok' ? { pkOk: true } : { denied: result };
      await loginThrottleOf(deps.store).admitProven(from, ctx.username);
      user = await deps.store.getUser(ctx.username);
      if (!user) return { denied: 'wrong' };
    } else return { denied: 'unsupported' };
    return { volume: await Volume.open(deps, user) };
  } catch (err) {
    if (err instanceof LoginDenied && err.reason !== 'wrong-password') return { denied: err.reason };
    if (isMogError(err, ErrorCodes.AUTH_FAILED)) return { denied: 'wrong' };
    log('error', 'sftp login could not be checked', { user: ctx.username, error: describeError(err), cause: err });
    return { denied: 'busy' };
  }
}

async function checkKey(deps: SftpAuthDeps, ctx: PublicKeyAuthContext): Promise<'verified' | 'query-ok' | 'wrong' | 'unsupported'> {
  const algo = ctx.key.algo;
  // ssh2 names an RSA key 'ssh-rsa' whatever the signature; hashAlgo is set only for rsa-sha2-*.
  if (algo === 'ssh-dss' || (algo === 'ssh-rsa' && ctx.signature && !ctx.hashAlgo)) return 'unsupported';
  if (!(await deps.store.userKeyMatches(ctx.username, algo, ctx.key.data))) return 'wrong';
  if (!ctx.signature || !ctx.blob) return 'query-ok';
  const parsed = ssh2.utils.parseKey(ctx.key.data);
  if (parsed instanceof Error) return 'wrong';
  return parsed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true ? 'verified' : 'wrong';
}

/** Answers the client: accept, PK_OK, or failure naming the methods still worth trying. */
export function answer(ctx: AuthContext, outcome: AuthOutcome): void {
  if ('volume' in outcome || 'pkOk' in outcome) ctx.accept();
  else ctx.reject(METHODS);
}
