// No Docker engine runs here, so the image and the cluster are kept correct by reading them:
// every command compose.yaml runs is a real mogftp command whose flags and MOGFTP_* settings
// the CLI accepts (checked by running it with --print-config), the Dockerfile's entrypoint,
// CMD and HEALTHCHECK fit together, and HAProxy's ports match the front-ends' settings. Secrets
// have no defaults (${VAR:?}), the front-ends speak TLS only with a mounted certificate, and
// every mogftp service gets the storage key as a mounted secret file.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { run } from '../harness/clients.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(REPO, 'bin', 'mogftp.js');
const IMAGE_BIN = '/app/bin/mogftp.js';

interface Service {
  image?: string;
  build?: unknown;
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  secrets?: string[];
  healthcheck?: { test?: string[] };
}

const composeText = readFileSync(join(REPO, 'compose.yaml'), 'utf8');
const compose = YAML.parse(composeText, { merge: true }) as { services: Record<string, Service>; secrets?: Record<string, { file?: string }> };
/** Where compose mounts a service's secret NAME (a file, read-only). */
const SECRETS_DIR = '/run/secrets/';
const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
const haproxy = readFileSync(join(REPO, 'deploy', 'haproxy.cfg'), 'utf8');

/** Compose's ${VAR:-default} / ${VAR:?msg} / ${VAR} with no variables set. */
function interpolate(s: string): string {
  return s.replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?(?::?\?[^}]*)?\}/g, (_, _name, dflt) => dflt ?? 'x');
}

/** Instructions of the final stage, continuation lines joined. */
function finalStage(): string[] {
  const joined = dockerfile.replace(/\\\n/g, ' ').split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  const lastFrom = joined.map((l) => /^FROM\b/i.test(l)).lastIndexOf(true);
  return joined.slice(lastFrom);
}

function instruction(name: string): string {
  const lines = finalStage().filter((l) => l.toUpperCase().startsWith(name + ' '));
  assert.equal(lines.length, 1, `one ${name} in the final stage`);
  return lines[0]!.slice(name.length + 1).trim();
}

const entrypoint = JSON.parse(instruction('ENTRYPOINT')) as string[];

/** The mogftp arguments a service runs: its command after the image's (or its own) entrypoint. */
function mogftpArgs(name: string, svc: Service): string[] {
  const ep = svc.entrypoint ?? entrypoint;
  assert.deepEqual(ep.slice(0, 2), ['node', IMAGE_BIN], `${name}: entrypoint runs mogftp`);
  return [...ep.slice(2), ...(svc.command ?? JSON.parse(instruction('CMD')))].map(interpolate);
}

const mogftpServices = Object.entries(compose.services).filter(([, s]) => s.image?.startsWith('mogftp') || s.build !== undefined);
const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MOGFTP_')));

/** Runs at most two CLI processes at a time (the machine has two cores). */
async function pooled<T, R>(items: T[], fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all([worker(), worker()]);
  return out;
}

describe('compose.yaml runs real mogftp commands', () => {
  const helpOf = new Map<string, string>();
  let scratch: string;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'mogftp-compose-'));
    const words = new Set<string>();
    for (const [name, svc] of mogftpServices) {
      const args = mogftpArgs(name, svc);
      const cmd = args.slice(0, args.findIndex((a) => a.startsWith('-')) >>> 0);
      words.add(cmd.join(' '));
    }
    await pooled([...words], async (w) => {
      const r = await run(process.execPath, [BIN, ...w.split(' ').filter(Boolean), '--help'], { env: cleanEnv(), timeoutMs: 60_000 });
      assert.equal(r.code, 0, `mogftp ${w} --help: ${r.stderr}`);
      helpOf.set(w, r.stdout);
    });
    process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));
  });

  test('the cluster has what the issue asks for', () => {
    const s = compose.services;
    const by = (cmd: string) => mogftpServices.filter(([n, svc]) => mogftpArgs(n, svc)[0] === cmd).map(([n]) => n);
    assert.equal(by('storage').length, 3);
    assert.equal(by('ftp').length, 2);
    assert.equal(by('jobs').length, 1);
    assert.equal(by('dav').length, 1);
    assert.ok(s.mariadb?.image?.startsWith('mariadb'));
    assert.ok(s.haproxy?.image?.startsWith('haproxy'));
    // Each storage node keeps its devices on its own volume, mounted at its --root.
    const volumes = by('storage').map((n) => {
      const args = mogftpArgs(n, s[n]!);
      const root = args[args.indexOf('--root') + 1];
      const vol = (s[n]!.volumes ?? []).find((v) => v.split(':')[1] === root);
      assert.ok(vol, `${n}: a volume at ${root}`);
      return vol.split(':')[0];
    });
    assert.equal(new Set(volumes).size, 3);
  });

  test('every flag of every command is one the CLI has', () => {
    for (const [name, svc] of mogftpServices) {
      const args = mogftpArgs(name, svc);
      const first = args.findIndex((a) => a.startsWith('-'));
      const words = (first < 0 ? args : args.slice(0, first)).join(' ');
      const help = helpOf.get(words)!;
      for (const flag of args.filter((a) => a.startsWith('--'))) {
        const bare = flag.split('=')[0]!.replace(/^--no-/, '--');
        assert.match(help, new RegExp(`(^|\\s)${bare}(\\s|$)`, 'm'), `${name}: mogftp ${words} has no ${flag}`);
      }
    }
  });

  test('every MOGFTP_* variable names an option of a command that gets it', () => {
    for (const [name, svc] of mogftpServices) {
      const args = mogftpArgs(name, svc);
      const first = args.findIndex((a) => a.startsWith('-'));
      const help = helpOf.get((first < 0 ? args : args.slice(0, first)).join(' '))!;
      for (const key of Object.keys(svc.environment ?? {})) {
        if (!key.startsWith('MOGFTP_')) continue;
        const flag = '--' + key.slice('MOGFTP_'.length).toLowerCase().replace(/_/g, '-');
        const anyHelp = [...helpOf.values()].some((h) => new RegExp(`(^|\\s)${flag}(\\s|$)`, 'm').test(h));
        assert.ok(anyHelp, `${name}: ${key} is no option of any mogftp command`);
        void help;
      }
    }
  });

  test('each daemon accepts its flags and environment together (--print-config)', async () => {
    const daemons = mogftpServices.filter(([n, svc]) => ['ftp', 'dav', 'storage', 'jobs'].includes(mogftpArgs(n, svc)[0]!));
    assert.equal(daemons.length, 7);
    await pooled(daemons, async ([name, svc]) => {
      const args = mogftpArgs(name, svc);
      // The storage root must exist to be served; point it at a scratch directory.
      const fixed = args.map((a, i) => (args[i - 1] === '--root' ? join(scratch, name) : a));
      if (args[0] === 'storage') mkdirSync(join(scratch, name), { recursive: true });
      const env = Object.fromEntries(Object.entries(svc.environment ?? {}).map(([k, v]) => [k, interpolate(v)]));
      const r = await run(process.execPath, [BIN, ...fixed, '--print-config'], { env: { ...cleanEnv(), ...env }, timeoutMs: 60_000 });
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      const cfg = JSON.parse(r.stdout) as Record<string, { value: unknown; source: string }>;
      // mogftp dav has no admin endpoint: its compose healthcheck is a TLS handshake instead.
      if (args[0] !== 'dav') assert.equal(cfg['admin-listen']?.value, '0.0.0.0:9100', `${name} serves the admin endpoint the HEALTHCHECK probes`);
      if (args[0] !== 'storage') assert.match(String(cfg.db?.value), /^mysql:\/\/mogftp:\*\*\*@mariadb:3306\/mogftp$/);
      // The storage key: a file compose mounts from a secret the service lists.
      const keyFile = cfg[args[0] === 'storage' ? 'key-file' : 'storage-key-file']?.value;
      assert.equal(keyFile, `${SECRETS_DIR}storage_key`, `${name} signs (or checks) storage requests with the key`);
      assert.ok(svc.secrets?.includes('storage_key'), `${name} mounts the storage_key secret`);
      if (args[0] === 'ftp') {
        assert.equal(cfg['require-tls']?.value, true, `${name}: no login before AUTH TLS`);
        assert.equal(cfg['tls-cert']?.value, `${SECRETS_DIR}tls_cert`);
        assert.equal(cfg['tls-key']?.value, `${SECRETS_DIR}tls_key`);
      }
      if (args[0] === 'dav') {
        assert.equal(cfg['tls-cert']?.value, `${SECRETS_DIR}tls_cert`, `${name} serves HTTPS`);
        assert.equal(cfg['tls-key']?.value, `${SECRETS_DIR}tls_key`);
      }
    });
  });
});

describe('compose.yaml secrets and TLS', () => {
  test('no secret has a default: every variable is required (${VAR:?message}), no change-me values', () => {
    const uses = [...composeText.matchAll(/\$\{([A-Za-z0-9_]+)([^}]*)\}/g)];
    assert.ok(uses.length >= 3);
    for (const [whole, name, rest] of uses) assert.match(rest!, /^:\?\S/, `${whole}: ${name} must be set, with a message saying so`);
    assert.doesNotMatch(composeText, /change-me/i);
    const names = new Set(uses.map((u) => u[1]));
    for (const n of ['MOGFTP_DB_PASSWORD', 'MARIADB_ROOT_PASSWORD', 'MOGFTP_PUBLIC_ADDRESS']) assert.ok(names.has(n), `${n} is asked for`);
    // The deprecated shared token is gone: the storage key replaces it.
    assert.doesNotMatch(composeText, /MOGFTP_STORAGE_TOKEN/);
  });

  test('the secrets are files next to compose.yaml, and every file a service names under /run/secrets is one it mounts', () => {
    const declared = compose.secrets ?? {};
    assert.deepEqual(Object.keys(declared).sort(), ['storage_key', 'tls_cert', 'tls_key']);
    for (const [name, def] of Object.entries(declared)) assert.match(def.file ?? '', /^\.\/secrets\//, `${name} comes from ./secrets/`);
    for (const [name, svc] of mogftpServices) {
      assert.ok(svc.secrets?.includes('storage_key'), `${name} mounts the storage key`);
      assert.equal(svc.environment?.MOGFTP_STORAGE_KEY_FILE, `${SECRETS_DIR}storage_key`, `${name}: MOGFTP_STORAGE_KEY_FILE`);
      const named = [...(svc.command ?? []), ...Object.values(svc.environment ?? {})].filter((a) => a.startsWith(SECRETS_DIR));
      for (const path of named) {
        const secret = path.slice(SECRETS_DIR.length);
        assert.ok(secret in declared, `${name}: ${path} is no declared secret`);
        assert.ok(svc.secrets!.includes(secret), `${name}: uses ${path} without mounting the ${secret} secret`);
      }
    }
    // secrets/.gitignore keeps what is put there out of the repository.
    const ignore = readFileSync(join(REPO, 'secrets', '.gitignore'), 'utf8').split('\n').map((l) => l.trim());
    assert.ok(ignore.includes('*') && ignore.includes('!.gitignore'), 'secrets/.gitignore ignores everything but itself');
  });

  test('TLS by default: the FTP front-ends require it, WebDAV serves only HTTPS and is published', () => {
    const ftps = mogftpServices.filter(([n, svc]) => mogftpArgs(n, svc)[0] === 'ftp');
    for (const [name, svc] of ftps) {
      const args = mogftpArgs(name, svc);
      assert.ok(args.includes('--require-tls'), `${name}: --require-tls`);
      assert.equal(args[args.indexOf('--tls-cert') + 1], `${SECRETS_DIR}tls_cert`);
      assert.equal(args[args.indexOf('--tls-key') + 1], `${SECRETS_DIR}tls_key`);
    }
    const [davName, dav] = mogftpServices.find(([n, svc]) => mogftpArgs(n, svc)[0] === 'dav')!;
    const args = mogftpArgs(davName, dav);
    assert.equal(args[args.indexOf('--tls-cert') + 1], `${SECRETS_DIR}tls_cert`);
    assert.equal(args[args.indexOf('--tls-key') + 1], `${SECRETS_DIR}tls_key`);
    const port = args[args.indexOf('--listen') + 1]!.split(':').pop();
    assert.ok((dav.ports ?? []).some((p) => String(p) === `443:${port}`), `${davName} is published on 443`);
    // Its healthcheck shakes hands with its own port (it has no admin endpoint).
    assert.deepEqual(dav.healthcheck?.test, ['CMD', 'node', '/app/deploy/healthcheck.mjs', '--tls', `127.0.0.1:${port}`]);
  });

  test("the dav healthcheck: 0 once mogftp dav serves HTTPS with compose's flags, 1 once it is gone", async () => {
    const [davName, dav] = mogftpServices.find(([n, svc]) => mogftpArgs(n, svc)[0] === 'dav')!;
    const dir = mkdtempSync(join(tmpdir(), 'mogftp-dav-tls-'));
    try {
      const cert = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=ftp.example.test',
        '-keyout', join(dir, 'tls_key'), '-out', join(dir, 'tls_cert')], { timeoutMs: 30_000 });
      assert.equal(cert.code, 0, cert.stderr);
      const db = `sqlite:${join(dir, 'm.db')}`;
      const init = await run(process.execPath, [BIN, 'admin', '--db', db, 'init'], { env: cleanEnv(), timeoutMs: 60_000 });
      assert.equal(init.code, 0, init.stderr);
      // compose's command, with the mounted files here and a free loopback port.
      const args = mogftpArgs(davName, dav).map((a, i, all) => (a.startsWith(SECRETS_DIR) ? join(dir, a.slice(SECRETS_DIR.length)) : all[i - 1] === '--listen' ? '127.0.0.1:0' : a));
      const proc = spawn(process.execPath, [BIN, ...args, '--db', db], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      const script = join(REPO, 'deploy', 'healthcheck.mjs');
      let port = '';
      try {
        let out = '';
        proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
        const deadline = Date.now() + 60_000;
        while (!/listening on https:\/\/127\.0\.0\.1:(\d+)/.test(out)) {
          assert.ok(Date.now() < deadline && proc.exitCode === null, `dav did not start: ${out}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        port = /listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]!;
        const ok = await run(process.execPath, [script, '--tls', `127.0.0.1:${port}`], { env: cleanEnv(), timeoutMs: 30_000 });
        assert.equal(ok.code, 0, ok.stderr);
      } finally {
        proc.kill('SIGKILL');
        await new Promise((r) => (proc.exitCode === null && proc.signalCode === null ? proc.once('exit', r) : r(null)));
      }
      const down = await run(process.execPath, [script, '--tls', `127.0.0.1:${port}`], { env: cleanEnv(), timeoutMs: 30_000 });
      assert.equal(down.code, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Dockerfile', () => {
  test('multi-stage on node:26-slim (the Active LTS line), compiled, production dependencies, non-root, one entrypoint for every command', () => {
    const froms = dockerfile.split('\n').filter((l) => /^FROM\s/i.test(l));
    assert.ok(froms.length >= 2, 'multi-stage');
    // Node 20 left support on 2026-04-30; 26 has been Active LTS since 2026-10-28 (24 went to
    // maintenance on 2026-10-20). Build and final stage on the same line: the native addon
    // (better-sqlite3) is compiled for the node that runs it.
    for (const f of froms) assert.match(f, /^FROM node:26-slim\b/);
    const sqlite = JSON.parse(readFileSync(join(REPO, 'node_modules', 'better-sqlite3', 'package.json'), 'utf8'));
    assert.match(sqlite.engines.node, /(^|\|\|\s*)26\.x/, `better-sqlite3 ${sqlite.version} supports node 26`);
    const engines = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).engines;
    assert.equal(engines.node, '^20.19.0 || >=22.12.0', 'a checkout runs on node 20.19 and later (yargs 18 needs it)');
    // The build stage compiles src/ to dist/ and then drops the dev dependencies.
    assert.match(dockerfile, /RUN npm ci\b/);
    assert.match(dockerfile, /npm run build/);
    assert.match(dockerfile, /npm prune --omit=dev/);
    assert.ok(finalStage().some((l) => /^COPY --from=build \/app\/node_modules \.\/node_modules$/.test(l)));
    assert.equal(instruction('WORKDIR'), '/app');
    const user = instruction('USER');
    assert.notEqual(user, 'root');
    assert.notEqual(user, '0');
    assert.deepEqual(entrypoint, ['node', IMAGE_BIN]);
    assert.ok(finalStage().some((l) => /^COPY bin \.\/bin$/.test(l)), 'bin/ is copied to /app/bin');
    // The image runs the compiled dist/ (bin/mogftp.js picks it when no src/ is beside it): no
    // sources, no tsx. dist/'s .js files are ES modules by package.json's "type".
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
    assert.ok(finalStage().some((l) => /^COPY --from=build \/app\/dist \.\/dist$/.test(l)), 'dist/ is copied to /app/dist');
    assert.ok(!finalStage().some((l) => /^COPY (--from=build \/app\/)?src\b/.test(l)), 'no sources in the image');
    assert.equal(pkg.type, 'module');
    assert.ok(finalStage().some((l) => /^COPY package\.json\b/.test(l)));
    assert.equal(pkg.dependencies.tsx, undefined, 'tsx is a dev dependency, not in the image');
    // node_modules/ip is a link to the vendored stand-in (package.json's overrides).
    assert.equal(pkg.dependencies.ip, 'file:vendor/ip');
    assert.ok(finalStage().some((l) => /^COPY vendor \.\/vendor$/.test(l)), 'vendor/ is in the image for node_modules/ip');
  });

  test('every COPY source exists and is not left out by .dockerignore', () => {
    const ignored = readFileSync(join(REPO, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const copies = dockerfile
      .split('\n')
      .filter((l) => /^COPY\s/.test(l) && !l.includes('--from='))
      .flatMap((l) => l.trim().split(/\s+/).slice(1, -1));
    assert.ok(copies.length > 0);
    for (const src of copies) {
      assert.ok(existsSync(join(REPO, src)), `COPY ${src}: missing`);
      assert.ok(!ignored.includes(src) && !ignored.includes(src.split('/')[0]!), `COPY ${src}: excluded by .dockerignore`);
    }
  });

  test('the default CMD runs', async () => {
    const cmd = JSON.parse(instruction('CMD')) as string[];
    const r = await run(process.execPath, [BIN, ...cmd], { env: cleanEnv(), timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /mogftp <command>/);
  });

  test('HEALTHCHECK probes the admin endpoint: 0 while a daemon runs, 1 without one', async () => {
    const hc = instruction('HEALTHCHECK');
    const m = /CMD \["node", "\/app\/(deploy\/healthcheck\.mjs)"\]/.exec(hc);
    assert.ok(m, hc);
    assert.ok(finalStage().some((l) => l.includes(`COPY ${m[1]}`)), 'the script is copied into the image');
    assert.match(instruction('ENV'), /MOGFTP_ADMIN_LISTEN=0\.0\.0\.0:9100/);
    const script = join(REPO, m[1]!);

    const root = mkdtempSync(join(tmpdir(), 'mogftp-hc-'));
    mkdirSync(join(root, 'dev1'));
    const proc = spawn(process.execPath, [BIN, 'storage', '--root', root, '--listen', '127.0.0.1:0', '--insecure-no-auth', '--admin-listen', '127.0.0.1:0'], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      const deadline = Date.now() + 60_000;
      while (!/admin endpoint on http:\/\/127\.0\.0\.1:(\d+)/.test(out)) {
        assert.ok(Date.now() < deadline && proc.exitCode === null, `storage did not start: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const port = /admin endpoint on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1];
      const ok = await run(process.execPath, [script], { env: { ...cleanEnv(), MOGFTP_ADMIN_LISTEN: `0.0.0.0:${port}` }, timeoutMs: 30_000 });
      assert.equal(ok.code, 0, ok.stderr);
    } finally {
      proc.kill('SIGKILL');
      rmSync(root, { recursive: true, force: true });
    }
    const down = await run(process.execPath, [script], { env: { ...cleanEnv(), MOGFTP_ADMIN_LISTEN: '127.0.0.1:1' }, timeoutMs: 30_000 });
    assert.equal(down.code, 1);
  });
});

describe('deploy/haproxy.cfg matches the front-ends', () => {
  const ftps = mogftpServices.filter(([n, svc]) => mogftpArgs(n, svc)[0] === 'ftp');
  const flag = (args: string[], f: string) => args[args.indexOf(f) + 1];

  test('the front-ends believe PROXY headers from HAProxy, whose address is fixed inside the network', () => {
    const net = compose as unknown as { networks?: { default?: { ipam?: { config?: Array<{ subnet?: string }> } } } };
    const subnet = net.networks?.default?.ipam?.config?.[0]?.subnet ?? '';
    const m = /^(\d+\.\d+\.\d+)\.0\/24$/.exec(subnet);
    assert.ok(m, `a fixed /24 for the default network: ${subnet}`);
    const haproxyNet = compose.services.haproxy as unknown as { networks?: { default?: { ipv4_address?: string } } };
    const address = haproxyNet.networks?.default?.ipv4_address ?? '';
    assert.ok(address.startsWith(`${m[1]}.`), `HAProxy's address ${address} is in ${subnet}`);
    for (const [name, svc] of ftps) {
      const args = mogftpArgs(name, svc);
      if (!args.includes('--proxy-protocol')) continue;
      // Without --proxy-protocol-from only loopback peers are believed, and HAProxy is not one.
      const from = flag(args, '--proxy-protocol-from') ?? '';
      assert.ok(args.includes('--proxy-protocol-from'), `${name}: --proxy-protocol-from`);
      assert.ok(from.split(',').some((c) => c === address || c === `${address}/32`), `${name} believes ${from}, not HAProxy at ${address}`);
    }
  });

  test('compose mounts it where HAProxy reads its configuration', () => {
    assert.ok((compose.services.haproxy!.volumes ?? []).includes('./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro'));
  });

  test('control connections go to every front-end, with PROXY headers exactly when it expects them, checked on /readyz', () => {
    for (const [name, svc] of ftps) {
      const args = mogftpArgs(name, svc);
      const port = flag(args, '--listen')!.split(':').pop();
      const line = haproxy.split('\n').find((l) => new RegExp(`^\\s*server ${name} ${name}:${port}\\b`).test(l));
      assert.ok(line, `a control server line for ${name}:${port}`);
      assert.equal(/send-proxy/.test(line), args.includes('--proxy-protocol'), `${name}: PROXY on both sides or neither`);
      const adminPort = (svc.environment?.MOGFTP_ADMIN_LISTEN ?? '').split(':').pop();
      assert.match(line, new RegExp(`check port ${adminPort}\\b`));
    }
    assert.match(haproxy, /option httpchk GET \/readyz/);
  });

  test("each front-end's passive range is forwarded to it, and published", () => {
    const published = (compose.services.haproxy!.ports ?? []).map(String);
    const ranges: Array<[number, number]> = [];
    for (const [name, svc] of ftps) {
      const range = flag(mogftpArgs(name, svc), '--pasv-ports')!;
      const [lo, hi] = range.split('-').map(Number) as [number, number];
      ranges.push([lo, hi]);
      const bind = new RegExp(`frontend (\\S+)\\n\\s+bind :${lo}-${hi}\\n\\s+default_backend (\\S+)`).exec(haproxy);
      assert.ok(bind, `HAProxy binds ${range} for ${name}`);
      const backend = new RegExp(`backend ${bind[2]}\\n(?:\\s+#.*\\n)*\\s+server ${name} ${name}\\n`).exec(haproxy);
      assert.ok(backend, `${range} goes to ${name}, port for port`);
      assert.ok(
        published.some((p) => {
          const m = /^(\d+)-(\d+):(\d+)-(\d+)$/.exec(p);
          return m && Number(m[1]) <= lo && Number(m[2]) >= hi && m[1] === m[3] && m[2] === m[4];
        }),
        `${range} is published unchanged`,
      );
    }
    ranges.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i]![0] > ranges[i - 1]![1], 'passive ranges do not overlap');
  });
});
