// FTP front-end metrics, fed by the server's onSession/onTransfer hooks.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { SessionEvent, TransferRecord } from '../ftp/events.ts';
import type { FtpServerOptions } from '../ftp/server.ts';
import type { LogFn } from '../log.ts';
import { registerLoginMetrics } from './logins.ts';

export type TransferDirection = 'upload' | 'download';
export type TransferResult = 'ok' | 'failed' | 'aborted';

export interface FtpMetrics {
  sessionOpened(): void;
  sessionClosed(): void;
  login(ok: boolean): void;
  transfer(t: { direction: TransferDirection; result: TransferResult; bytes: number; durationMs: number }): void;
}

/** From 10 ms to 30 min: small files on a LAN up to multi-gigabyte uploads over slow links. */
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

export function registerFtpMetrics(registry: Registry): FtpMetrics {
  // The login throttle's failures and refusals, of every door in this process.
  registerLoginMetrics(registry);
  const registers = [registry];
  const sessions = new Gauge({ name: 'mogftp_ftp_sessions', help: 'FTP control connections open now', registers });
  const sessionsTotal = new Counter({ name: 'mogftp_ftp_sessions_total', help: 'FTP control connections accepted', registers });
  const logins = new Counter({ name: 'mogftp_ftp_logins_total', help: 'Login attempts by result (ok, failed)', labelNames: ['result'], registers });
  const transfers = new Counter({
    name: 'mogftp_ftp_transfers_total',
    help: 'Finished STOR/APPE/STOU (upload) and RETR (download) commands by result (ok, failed, aborted)',
    labelNames: ['direction', 'result'],
    registers,
  });
  const bytes = new Counter({
    name: 'mogftp_ftp_transfer_bytes_total',
    help: 'Bytes moved over FTP data connections by direction and transfer result',
    labelNames: ['direction', 'result'],
    registers,
  });
  const duration = new Histogram({
    name: 'mogftp_ftp_transfer_duration_seconds',
    help: 'Time from the transfer command to the end of the transfer (for uploads: the commit), by direction and result',
    labelNames: ['direction', 'result'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  // Label sets that exist from the start, so rate() queries and dashboards see zeros, not gaps.
  for (const direction of ['upload', 'download']) {
    for (const result of ['ok', 'failed', 'aborted']) {
      transfers.inc({ direction, result }, 0);
      bytes.inc({ direction, result }, 0);
    }
  }
  logins.inc({ result: 'ok' }, 0);
  logins.inc({ result: 'failed' }, 0);
  return {
    sessionOpened() {
      sessions.inc();
      sessionsTotal.inc();
    },
    sessionClosed() {
      sessions.dec();
    },
    login(ok) {
      logins.inc({ result: ok ? 'ok' : 'failed' });
    },
    transfer(t) {
      const labels = { direction: t.direction, result: t.result };
      transfers.inc(labels);
      bytes.inc(labels, Math.max(0, t.bytes));
      duration.observe(labels, Math.max(0, t.durationMs) / 1000);
    },
  };
}

/** The FTP server's hooks: sessions and transfers counted, and one log line per transfer. */
export function ftpHooks(metrics: FtpMetrics | null, log: LogFn): Pick<FtpServerOptions, 'onSession' | 'onTransfer'> {
  return {
    onSession(e: SessionEvent) {
      if (e.type === 'open') {
        metrics?.sessionOpened();
        log('debug', 'session opened', { session: e.session, ip: e.ip });
      } else if (e.type === 'close') {
        metrics?.sessionClosed();
        log('debug', 'session closed', { session: e.session, ip: e.ip, user: e.user });
      } else {
        metrics?.login(e.type === 'login');
      }
    },
    // xferlog's fields, as JSON: who, from where, what, how much, how long, how it ended.
    onTransfer(t: TransferRecord) {
      metrics?.transfer(t);
      log(t.result === 'ok' ? 'info' : 'warn', 'transfer', { ...t });
    },
  };
}
