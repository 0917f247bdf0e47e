// Storage nodes for tests, as real processes: our `mogftp storage` and nginx with WebDAV.
// Both come back in one shape. Each lives in its own temp directory:
//   <base>/root/dev<N>/   the served root (handle.root)
//   <base>/...            anything else (nginx config, temp files, logs), outside the root
// stop() ends the process and removes <base>; kill() ends it but keeps root and port, so that
// restart() brings the same node back. Whatever a test forgets is killed and removed at exit.
// A node checks the storage key in keyFile when given one (testStorageKeyFile(): one key per
// test process); without, it runs with --insecure-no-auth, which loopback allows.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NGINX_HEADER, newStorageKeyText, readStorageKeyFile, type StorageKey } from '../../src/storage/auth.ts';
import { endProcess, Tail, waitForLine, waitForPort } from './processes.ts';
import { BIN } from './quickstart-process.ts';
import { sleep } from './wait.ts';

export interface NodeHandle {
  /** The served root: device directories go here as dev<N>/. */
  readonly root: string;
  readonly url: string;
  readonly port: number;
  /** The current process (a new one after restart()). */
  readonly proc: ChildProcess;
  /** Creates DIR/dev<devid>/ and returns its path. */
  addDevice(devid: number): string;
  /** Ends the process (SIGTERM, SIGKILL after 5 s) and removes every file of the node. */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL) and waits for the exit; root and port are kept. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the node again on the same root and port (ending it first if it runs). */
  restart(): Promise<void>;
  /** What the process wrote to stderr lately (and nginx's error log), for failure messages. */
  diagnostics(): string;
}

export const NGINX = '/usr/sbin/nginx';

const live = new Set<{ proc: ChildProcess | null; base: string }>();
process.once('exit', () => {
  for (const n of live) {
    try {
      n.proc?.kill('SIGKILL');
    } catch {
      // gone already
    }
    rmSync(n.base, { recursive: true, force: true });
  }
});

let keyDir: string | null = null;

/** A storage key file (mode 0600) shared by this test process's keyed nodes and clients. */
export function testStorageKeyFile(): string {
  if (!keyDir) {
    keyDir = mkdtempSync(join(tmpdir(), 'mogftp-key-'));
    const dir = keyDir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(keyDir, 'storage.key'), newStorageKeyText(), { mode: 0o600 });
  }
  return join(keyDir, 'storage.key');
}

/** The key in testStorageKeyFile(), for clients in this process. */
export function testStorageKey(): StorageKey {
  return readStorageKeyFile(testStorageKeyFile());
}

export interface NodeProcessOptions {
  /** The node checks this storage key (--key-file); without one it runs with --insecure-no-auth. */
  keyFile?: string;
  /** Deprecated bearer token (--token), accepted besides the key, or alone with --insecure-no-auth. */
  token?: string;
  /** Device directories to create up front. Default none. */
  devids?: number[];
  /** Seconds the node lets in-flight requests run on SIGTERM (its --grace). */
  graceSeconds?: number;
  /** Extra environment for the process. */
  env?: Record<string, string>;
}

/** `node bin/mogftp.js storage --root <tmp>/root --listen 127.0.0.1:0`, waiting for its listening line. */
export async function startNodeProcess(opts: NodeProcessOptions = {}): Promise<NodeHandle> {
  const base = mkdtempSync(join(tmpdir(), 'mogftp-node-'));
  const root = join(base, 'root');
  mkdirSync(root);
  for (const id of opts.devids ?? []) mkdirSync(join(root, `dev${id}`));
  let port = 0;
  const launch = async (): Promise<ChildProcess> => {
    const args = [BIN, 'storage', '--root', root, '--listen', `127.0.0.1:${port}`];
    args.push(...(opts.keyFile ? ['--key-file', opts.keyFile] : ['--insecure-no-auth']));
    if (opts.token) args.push('--token', opts.token);
    if (opts.graceSeconds !== undefined) args.push('--grace', String(opts.graceSeconds));
    // A key from the caller's own environment must not turn up beside --insecure-no-auth.
    const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
    delete env.MOGFTP_STORAGE_KEY_FILE;
    delete env.MOGFTP_KEY_FILE;
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    stderr.attach(proc.stderr!);
    const url = await waitForLine(proc, /^mogftp storage listening on (http:\/\/\S+)$/, { timeoutMs: 20_000, what: 'storage node', diagnostics: () => stderr.text(), killOnFailure: true });
    port = Number(new URL(url).port);
    return proc;
  };
  const stderr = new Tail();
  return managed(base, root, async () => {
    // A restart may find the port still held for a moment by the old process's last sockets.
    for (let attempt = 0; ; attempt++) {
      try {
        const proc = await launch();
        return { proc, port };
      } catch (err) {
        if (port === 0 || attempt >= 20 || !stderr.text().includes('EADDRINUSE')) throw err;
        await sleep(100);
      }
    }
  }, () => stderr.text());
}

/**
 * nginx (Debian's nginx-light) as a WebDAV storage node: single process, own config, temp
 * paths, pid file and error log under the node's temp directory. With keyFile it refuses
 * requests without the secret header derived from that key, as docs/operations/storage-auth.md
 * tells operators to configure it.
 */
export async function startNginxNode(opts: { devids?: number[]; keyFile?: string } = {}): Promise<NodeHandle> {
  const requireHeader = opts.keyFile ? readStorageKeyFile(opts.keyFile).nginxHeader : null;
  const base = mkdtempSync(join(tmpdir(), 'mogftp-nginx-'));
  const root = join(base, 'root');
  const tmp = join(base, 'tmp');
  mkdirSync(root);
  mkdirSync(tmp);
  for (const id of opts.devids ?? []) mkdirSync(join(root, `dev${id}`));
  const conf = join(base, 'nginx.conf');
  const errorLog = join(base, 'error.log');
  let port = 0;
  const stderr = new Tail();
  const diagnostics = () => {
    let log = '';
    try {
      log = readFileSync(errorLog, 'utf8').slice(-4000);
    } catch {
      // no log yet
    }
    return `${stderr.text()}${log}`;
  };
  const launch = async (): Promise<{ proc: ChildProcess; port: number }> => {
    for (let attempt = 0; ; attempt++) {
      const fresh = port === 0;
      const p = fresh ? await freePort() : port;
      writeFileSync(conf, nginxConfig({ base, root, tmp, errorLog, port: p, requireHeader }), { mode: 0o600 });
      chmodSync(conf, 0o600);
      const proc = spawn(NGINX, ['-p', base, '-c', conf, '-e', errorLog], { stdio: ['ignore', 'ignore', 'pipe'] });
      stderr.attach(proc.stderr!);
      try {
        await waitForPort(p, 10_000, { proc, what: 'nginx', diagnostics });
        port = p;
        return { proc, port };
      } catch (err) {
        proc.kill('SIGKILL');
        // Someone took the port between our probe and nginx's bind: try another (or wait for ours).
        if (attempt >= 20 || !diagnostics().includes('Address already in use')) throw err;
        await sleep(fresh ? 0 : 100);
      }
    }
  };
  return managed(base, root, launch, diagnostics);
}

function nginxConfig(c: { base: string; root: string; tmp: string; errorLog: string; port: number; requireHeader: string | null }): string {
  const check = c.requireHeader ? `\n      if ($http_${NGINX_HEADER.replace(/-/g, '_')} != "${c.requireHeader}") { return 401; }` : '';
  return `# written by test/harness/nodes.ts
daemon off;
master_process off;
worker_processes 1;
pid ${join(c.base, 'nginx.pid')};
error_log ${c.errorLog} warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${join(c.tmp, 'body')};
  proxy_temp_path ${join(c.tmp, 'proxy')};
  fastcgi_temp_path ${join(c.tmp, 'fastcgi')};
  uwsgi_temp_path ${join(c.tmp, 'uwsgi')};
  scgi_temp_path ${join(c.tmp, 'scgi')};
  client_max_body_size 0;
  # Refuse to read through symlinks (writes still follow them: keep device trees symlink-free).
  disable_symlinks on;
  server {
    listen 127.0.0.1:${c.port};
    root ${c.root};
    location / {${check}
      dav_methods PUT DELETE MKCOL;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }
  }
}
`;
}

async function managed(
  base: string,
  root: string,
  launch: () => Promise<{ proc: ChildProcess; port: number }>,
  diagnostics: () => string,
): Promise<NodeHandle> {
  const entry: { proc: ChildProcess | null; base: string } = { proc: null, base };
  live.add(entry);
  let port = 0;
  const start = async () => {
    const r = await launch();
    entry.proc = r.proc;
    port = r.port;
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const proc = entry.proc;
    if (!proc) return;
    await endProcess(proc, signal, 5000);
    entry.proc = null;
  };
  try {
    await start();
  } catch (err) {
    live.delete(entry);
    rmSync(base, { recursive: true, force: true });
    throw err;
  }
  return {
    root,
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get proc() {
      if (!entry.proc) throw new Error('the node is not running (killed; call restart())');
      return entry.proc;
    },
    addDevice(devid) {
      const dir = join(root, `dev${devid}`);
      mkdirSync(dir, { recursive: true });
      return dir;
    },
    async stop() {
      try {
        await kill('SIGTERM');
      } finally {
        live.delete(entry);
        rmSync(base, { recursive: true, force: true });
      }
    },
    kill,
    async restart() {
      await kill('SIGKILL');
      await start();
    },
    diagnostics,
  };
}

/** Binds port 0 to learn a free port, then releases it for the caller. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A node as a cluster takes it (the cluster's NodeSpec): where it listens, its root, how to stop it. */
export interface NodeEndpoint {
  address: string;
  port: number;
  root: string;
  stop(): Promise<void>;
}

/** A real node process, unproxied, as a cluster takes it. */
export async function plainNode(): Promise<NodeEndpoint> {
  const node = await startNodeProcess();
  return { address: '127.0.0.1', port: node.port, root: node.root, stop: () => node.stop() };
}

/**
 * A real node process behind an HTTP proxy on a port of its own, as a cluster takes it. Each
 * request goes to the node as it came; `relay` then answers the client from the node's answer,
 * which is the proxy's reason to exist (a test cuts a body short or rewrites a reply).
 */
export async function proxiedNode(relay: (req: http.IncomingMessage, answer: http.IncomingMessage, res: http.ServerResponse) => void): Promise<NodeEndpoint> {
  const node = await startNodeProcess();
  const agent = new http.Agent({ keepAlive: true });
  const proxy = http.createServer((req, res) => {
    const up = http.request({ host: '127.0.0.1', port: node.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => relay(req, answer, res));
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return {
    address: '127.0.0.1',
    port: (proxy.address() as net.AddressInfo).port,
    root: node.root,
    stop: async () => {
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
      agent.destroy();
      await node.stop();
    },
  };
}
