// The admin HTTP endpoint every daemon can serve on --admin-listen, apart from its data ports:
//   GET /metrics  Prometheus text format
//   GET /healthz  200 while the process runs (liveness)
//   GET /readyz   200 when the daemon can do its work, else 503; JSON body says why
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { describeError } from '../errors.ts';
import type { LogFn } from '../log.ts';
import type { ReadinessCheck } from './health.ts';

export interface AdminServerOptions {
  host: string;
  port: number;
  registry: Registry;
  ready?: ReadinessCheck;
  log?: LogFn;
}

export interface AdminServer {
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const log = opts.log ?? (() => {});
  const started = Date.now();
  const server = http.createServer((req, res) => {
    void answer(req, res).catch((err) => {
      log('error', 'admin endpoint failed', { path: req.url, error: describeError(err) });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${describeError(err)}\n`);
    });
  });
  // Probes and scrapes are short; idle keep-alive sockets must not hold shutdown up.
  server.keepAliveTimeout = 5000;

  async function answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path === '/metrics') return send(200, opts.registry.contentType, await opts.registry.metrics());
    if (path === '/healthz') return send(200, 'application/json', JSON.stringify({ status: 'ok', uptimeSeconds: Math.round((Date.now() - started) / 1000) }) + '\n');
    if (path === '/readyz') {
      const report = opts.ready ? await opts.ready() : { ready: true, checks: {} };
      return send(report.ready ? 200 : 503, 'application/json', JSON.stringify(report) + '\n');
    }
    send(404, 'text/plain', 'not found: try /metrics, /healthz or /readyz\n');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const hostInUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${hostInUrl}:${port}`,
    host: opts.host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
