// What a daemon needs to serve its admin endpoint: `startAdminEndpoint` parses --admin-listen,
// starts the server and announces its address on stdout (so scripts and tests can find a port
// chosen with :0).
import { parseListen } from '../config/listen.ts';
import type { LogFn } from '../log.ts';
import { startAdminServer, type AdminServer } from './admin-server.ts';
import type { ReadinessCheck } from './health.ts';
import type { Registry } from 'prom-client';

export { createRegistry } from './registry.ts';
export { registerLoginMetrics, type LoginMetrics } from './logins.ts';
export { ftpHooks, registerFtpMetrics, type FtpMetrics } from './ftp.ts';
export { registerStorageMetrics, type StorageMetrics } from './storage.ts';
export { registerClusterMetrics, type ClusterMetrics } from './cluster.ts';
export { clusterReadiness, storageReadiness, allOf, type ReadinessCheck } from './health.ts';
export type { AdminServer } from './admin-server.ts';

export async function startAdminEndpoint(
  daemon: string,
  listen: string | undefined,
  parts: { registry: Registry; ready?: ReadinessCheck; log?: LogFn },
): Promise<AdminServer | null> {
  if (!listen) return null;
  const { host, port } = parseListen(listen);
  const admin = await startAdminServer({ host, port, ...parts });
  process.stdout.write(`mogftp ${daemon} admin endpoint on ${admin.url} (/metrics /healthz /readyz)\n`);
  return admin;
}
