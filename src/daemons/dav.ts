// `mogftp dav`: one stateless WebDAV front-end over a cluster's database and storage nodes (locks
// and dead properties live in the database), until SIGINT/SIGTERM. It loads no FTP, jobs or
// storage node code (test/ops/daemon-modules.test.ts checks).
import { readFile } from 'node:fs/promises';
import type { OsFilesMode } from '../dav/os-files.ts';
import { startDavServer } from '../dav/server.ts';
import { ErrorCodes, describeError, mogError } from '../errors.ts';
import { createLogger, type LogLevel } from '../log.ts';
import { clusterReadiness, createRegistry, registerLoginMetrics, startAdminEndpoint } from '../metrics/index.ts';
import { untilSignal } from '../signals.ts';
import type { StorageKey } from '../storage/auth.ts';
import { openServices } from './services.ts';

export interface DavDaemonOptions {
  dbUrl: string;
  host: string;
  port: number;
  /** PEM files; both or neither. */
  tlsCert?: string;
  tlsKey?: string;
  osFiles?: OsFilesMode;
  allowInfiniteDepth?: boolean;
  /** Files up to this many bytes are checked before their first byte is sent (vfs default when unset). */
  verifyBeforeSend?: number;
  storageKey?: StorageKey;
  storageToken?: string;
  logLevel?: LogLevel | 'silent';
  /** HOST:PORT for /metrics, /healthz and /readyz; none when unset. */
  adminListen?: string;
}

/** Reads a certificate/key pair, or none; one without the other is a usage error. */
async function loadTls(cert?: string, key?: string): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  if (!cert && !key) return undefined;
  if (!cert || !key) throw mogError(ErrorCodes.INVALID_ARGUMENT, 'TLS needs both --tls-cert and --tls-key');
  const read = (path: string, what: string) =>
    readFile(path).catch((err) => {
      throw mogError(ErrorCodes.INVALID_ARGUMENT, `Cannot read the TLS ${what} ${path}: ${describeError(err)}`);
    });
  return { cert: await read(cert, 'certificate'), key: await read(key, 'key') };
}

export async function runDavDaemon(opts: DavDaemonOptions): Promise<void> {
  const log = createLogger({ level: opts.logLevel, name: 'dav' });
  const tls = await loadTls(opts.tlsCert, opts.tlsKey);
  const services = await openServices({ dbUrl: opts.dbUrl, storageKey: opts.storageKey, storageToken: opts.storageToken, log });
  try {
    const dav = await startDavServer({
      ...services,
      host: opts.host,
      port: opts.port,
      tls,
      osFiles: opts.osFiles,
      allowInfiniteDepth: opts.allowInfiniteDepth,
      verifyBeforeSend: opts.verifyBeforeSend,
      log,
    });
    // What every daemon serves: process metrics and build info, liveness, readiness (the database).
    // Login failures and refusals of this process (the shared throttle's counters).
    const registry = createRegistry('dav');
    registerLoginMetrics(registry);
    const admin = await startAdminEndpoint('dav', opts.adminListen, { registry, ready: clusterReadiness(services.store), log }).catch(async (err) => {
      await dav.close();
      throw err;
    });
    // Signals are taken before the listening line: whoever reads it may stop us at once.
    const signalled = untilSignal();
    process.stdout.write(`mogftp dav listening on ${dav.url}\n`);
    await signalled;
    log('info', 'shutting down');
    await admin?.close();
    await dav.close();
  } finally {
    await services.close();
  }
}
