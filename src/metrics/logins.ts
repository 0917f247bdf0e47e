// Login metrics of every door, fed by the shared login throttle's events
// (src/tracker/login-throttle.ts publishes one per judged or refused login):
//   mogftp_login_failures_total{door}         passwords checked and found wrong (each cost a hash)
//   mogftp_login_refused_total{door,reason}   logins refused unjudged: banned address, or busy
// The events are process-wide, so a registry counts every door of its process (quickstart: FTP
// and WebDAV together).
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Counter, type Registry } from 'prom-client';
import { LOGIN_CHANNEL, type LoginEvent } from '../tracker/login-throttle.ts';

const DOORS = ['ftp', 'dav'] as const;
const REASONS = ['banned', 'busy'] as const;

export interface LoginMetrics {
  /** Stops counting (tests that make many registries in one process). */
  stop(): void;
}

export function registerLoginMetrics(registry: Registry): LoginMetrics {
  const registers = [registry];
  const failures = new Counter({
    name: 'mogftp_login_failures_total',
    help: 'Logins whose password was checked and found wrong (or whose user does not exist), by door',
    labelNames: ['door'],
    registers,
  });
  const refused = new Counter({
    name: 'mogftp_login_refused_total',
    help: 'Logins refused without checking the password, by door and reason (banned: too many failures from the address; busy: too many being checked)',
    labelNames: ['door', 'reason'],
    registers,
  });
  // Label sets that exist from the start, so rate() queries and dashboards see zeros, not gaps.
  for (const door of DOORS) {
    failures.inc({ door }, 0);
    for (const reason of REASONS) refused.inc({ door, reason }, 0);
  }
  const onEvent = (message: unknown) => {
    const e = message as LoginEvent;
    if (e.result === 'failed') failures.inc({ door: e.door });
    else if (e.result === 'refused' && e.reason) refused.inc({ door: e.door, reason: e.reason });
  };
  subscribe(LOGIN_CHANNEL, onEvent);
  return { stop: () => void unsubscribe(LOGIN_CHANNEL, onEvent) };
}
