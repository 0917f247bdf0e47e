// USER and PASS with the protections ftp-srv lacks: TLS first when required, at most three
// PASS tries per connection, and the login throttle every door shares (tracker/login-throttle.ts):
// a banned address, or one that finds too many logins being checked, gets 421 and is closed.
import { LoginDenied } from '../../tracker/login-throttle.ts';
import type { CommandSpec, FtpConn, Handler } from '../connection.ts';
import { settingsOf } from '../ftp-srv-adapter.ts';
import { replyFor } from '../replies.ts';
import { DEFAULTS, stateOf } from '../settings.ts';

const TLS_FIRST = 'This server requires TLS: send AUTH TLS first';

const user: Handler = function (this: FtpConn, { command }) {
  if (settingsOf(this).requireTls && !stateOf(this).tls) return this.reply(530, TLS_FIRST);
  if (this.authenticated) return this.reply(503, 'Already logged in');
  const name = (command.arg ?? '').trim();
  if (!name) return this.reply(501, 'Syntax: USER <name>');
  this.username = name;
  return this.reply(331, `Password required for ${name.replace(/[\r\n]/g, '')}`);
};

const BANNED = 'Too many failed logins from your address; try again later';

const pass: Handler = async function (this: FtpConn, { command }) {
  const settings = settingsOf(this);
  const state = stateOf(this);
  if (settings.requireTls && !state.tls) return this.reply(530, TLS_FIRST);
  if (this.authenticated) return this.reply(503, 'Already logged in');
  if (!this.username) return this.reply(503, 'Send USER first');
  const ip = this.ip ?? '';
  if (settings.throttle.bannedFor(ip) > 0) return closeWith(this, BANNED);
  const username = this.username;
  this.username = undefined;
  try {
    await this.login(username, command.arg ?? '');
    return this.reply(230, 'Logged in');
  } catch (err) {
    // Refusals never say anything about the password: it was not looked at.
    if (err instanceof LoginDenied && err.reason === 'banned') return closeWith(this, BANNED);
    if (err instanceof LoginDenied && err.reason === 'busy') return closeWith(this, 'Too many logins in progress; try again in a moment');
    const { code } = replyFor(err);
    if (code >= 400 && code < 500) {
      // The store is unreachable, not the password wrong: come back later (421 closes). The
      // reason (which names internal addresses) is logged by the login handler, never sent.
      return closeWith(this, 'Cannot log in right now; try again later');
    }
    state.passFailures++;
    // A failure that used the address's last try comes back with the ban it started.
    const banned = err instanceof LoginDenied && err.retryAfterMs > 0;
    const message = (err as Error)?.message || 'Login incorrect';
    if (banned || state.passFailures >= DEFAULTS.maxPassTries) {
      await this.reply(530, `${message}; too many failed logins, closing the connection`);
      return this.commandSocket.destroy();
    }
    return this.reply(530, message);
  }
};

/** 421 and the end of the connection. */
async function closeWith(conn: FtpConn, text: string): Promise<void> {
  await conn.reply(421, text);
  conn.commandSocket.destroy();
}

export const loginCommands: Record<string, CommandSpec> = {
  USER: { handler: user, noAuth: true, syntax: 'USER <name>', description: 'Name to log in as' },
  PASS: { handler: pass, noAuth: true, syntax: 'PASS <password>', description: 'Password (at most 3 tries per connection)' },
};
