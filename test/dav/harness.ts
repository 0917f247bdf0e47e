// A throwaway cluster (DB + storage-node processes + FTP, from test/harness/cluster.ts) with a
// WebDAV front-end started in-process on an ephemeral port over the same services.
import { request, type IncomingHttpHeaders } from 'node:http';
import { startDavServer, type DavServerOptions, type RunningDavServer } from '../../src/dav/server.ts';
import { startTestCluster, type ClusterOptions, type TestCluster } from '../harness/cluster.ts';

export interface DavCluster extends TestCluster {
  dav: RunningDavServer;
  /** Another DAV front-end on the same database (as behind a load balancer). */
  startDav(opts?: Partial<DavServerOptions>): Promise<RunningDavServer>;
}

export async function startDavCluster(opts: ClusterOptions & { dav?: Partial<DavServerOptions> }): Promise<DavCluster> {
  const c = await startTestCluster(opts);
  const stopCluster = c.stop;
  const started: RunningDavServer[] = [];
  const startDav = async (o: Partial<DavServerOptions> = {}) => {
    const s = await startDavServer({ store: c.services.store, tracker: c.services.tracker, client: c.services.client, host: '127.0.0.1', port: 0, ...opts.dav, ...o });
    started.push(s);
    return s;
  };
  try {
    const dav = await startDav();
    return Object.assign(c, {
      dav,
      startDav,
      stop: async () => {
        for (const s of started) await s.close().catch(() => {});
        await stopCluster();
      },
    });
  } catch (err) {
    await stopCluster();
    throw err;
  }
}

export interface DavResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/** One HTTP request (a new connection each time), with Basic auth as demo/demo unless told otherwise. */
export function dav(
  base: string,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer; user?: string; password?: string; auth?: boolean } = {},
): Promise<DavResponse> {
  const url = new URL(path, base);
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth !== false) headers.Authorization = `Basic ${Buffer.from(`${opts.user ?? 'demo'}:${opts.password ?? 'demo'}`).toString('base64')}`;
  if (opts.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.setTimeout(120_000, () => req.destroy(new Error(`${method} ${path}: no answer in 120 s`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}
