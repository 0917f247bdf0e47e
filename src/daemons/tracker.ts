// `mogftp tracker`: the MogileFS tracker protocol (src/mogilefs) over a cluster's database and
// storage nodes, until SIGINT/SIGTERM. Stateless like the other doors: any number may run
// behind one name. MogileFS clients carry no credentials, so it listens on loopback unless the
// operator says, with --allow-remote-clients, that whoever reaches the port may use it.
import { isLoopback } from '../addresses.ts';
import { ErrorCodes, mogError } from '../errors.ts';
import { createLogger, type LogLevel } from '../log.ts';
import { startTrackerDoor, type TrackerDoorLimits } from '../mogilefs/server.ts';
import type { DoorSettings } from '../mogilefs/context.ts';
import { clusterReadiness, createRegistry, startAdminEndpoint } from '../metrics/index.ts';
import { untilSignal } from '../signals.ts';
import type { StorageKey } from '../storage/auth.ts';
import { openServices } from './services.ts';

export interface TrackerDaemonOptions {
  dbUrl: string;
  host: string;
  port: number;
  /** Listen on an address that is not loopback: every client that reaches it is trusted. */
  allowRemoteClients?: boolean;
  settings?: Partial<DoorSettings>;
  limits?: Partial<TrackerDoorLimits>;
  storageKey?: StorageKey;
  storageToken?: string;
  logLevel?: LogLevel | 'silent';
  /** HOST:PORT for /metrics, /healthz and /readyz; none when unset. */
  adminListen?: string;
}

/** Refuses a non-loopback listen address unless the operator allowed remote clients. */
export function checkTrackerListen(host: string, allowRemote: boolean | undefined): void {
  if (allowRemote || host === 'localhost' || isLoopback(host)) return;
  throw mogError(
    ErrorCodes.INVALID_ARGUMENT,
    `--listen ${host} is not a loopback address: MogileFS clients send no credentials, so anyone who reaches the port can read, write and delete every file and change the cluster. Pass --allow-remote-clients to accept that (see SECURITY.md)`,
  );
}

export async function runTrackerDaemon(opts: TrackerDaemonOptions): Promise<void> {
  checkTrackerListen(opts.host, opts.allowRemoteClients);
  const log = createLogger({ level: opts.logLevel, name: 'tracker' });
  const services = await openServices({ dbUrl: opts.dbUrl, storageKey: opts.storageKey, storageToken: opts.storageToken });
  try {
    const door = await startTrackerDoor({
      ...services,
      signUrls: opts.storageKey !== undefined,
      host: opts.host,
      port: opts.port,
      settings: opts.settings,
      limits: opts.limits,
      log,
    });
    const registry = createRegistry('tracker');
    const admin = await startAdminEndpoint('tracker', opts.adminListen, { registry, ready: clusterReadiness(services.store), log }).catch(async (err) => {
      await door.close();
      throw err;
    });
    const shown = door.address.includes(':') ? `[${door.address}]` : door.address;
    // Signals are taken before the listening line: whoever reads it may stop us at once.
    const signalled = untilSignal();
    process.stdout.write(`mogftp tracker listening on ${shown}:${door.port}\n`);
    await signalled;
    log('info', 'shutting down');
    await admin?.close();
    await door.close();
  } finally {
    await services.close();
  }
}
