// The systemd units in deploy/systemd/ are what an operator copies to /etc/systemd/system, so
// they are checked as systemd itself reads them: `systemd-analyze verify` (unknown keys, bad
// values, a missing executable), `systemd-analyze security --offline` (the sandbox), and
// `systemd-sysusers --dry-run` for the user they run as. systemd-analyze works offline, without
// a running systemd (a container); only where it is not installed at all are those parts
// skipped, and the test says so. What systemd accepts silently is checked by reading: a "#"
// after a value is part of the value (issue 17: EnvironmentFile= took a comment into its path).
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { run } from '../harness/clients.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIR = join(REPO, 'deploy', 'systemd');
const DAEMONS = ['ftp', 'dav', 'storage', 'jobs'] as const;
const INSTALLED = '/opt/mogftp';
const CONFIG = '/etc/mogftp/mogftp.yaml';

/** Why a systemd tool cannot be used here, or null when it can. */
function missing(tool: string): string | null {
  const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return `${tool} is not installed (Debian/Ubuntu: apt-get install systemd)`;
  return r.status === 0 ? null : `${tool} --version failed: ${r.stderr}`;
}
const noAnalyze = missing('systemd-analyze');
const noSysusers = missing('systemd-sysusers');

type Unit = Map<string, Array<[string, string]>>;

/** A unit file as systemd reads it: sections of Key=value lines; "#"/";" comment whole lines only. */
function parseUnit(text: string, file: string): Unit {
  const unit: Unit = new Map();
  let section: Array<[string, string]> | undefined;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const where = `${file}:${i + 1}`;
    const head = /^\[([A-Za-z]+)\]$/.exec(line);
    if (head) {
      section = [];
      unit.set(head[1]!, section);
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    assert.ok(kv, `${where}: not Key=value: ${line}`);
    assert.ok(section, `${where}: outside a section`);
    // systemd would keep such a comment in the value (a path, a command's arguments).
    assert.doesNotMatch(kv[2]!, /\s[#;]/, `${where}: a comment after a value becomes part of it: ${line}`);
    section.push([kv[1]!, kv[2]!]);
  }
  return unit;
}

function values(unit: Unit, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

function one(unit: Unit, section: string, key: string): string {
  const v = values(unit, section, key);
  assert.equal(v.length, 1, `one ${key}= in [${section}]`);
  return v[0]!;
}

const units = new Map<string, { text: string; unit: Unit }>();
for (const d of DAEMONS) {
  const file = `mogftp-${d}.service`;
  const text = readFileSync(join(DIR, file), 'utf8');
  units.set(d, { text, unit: parseUnit(text, file) });
}
const example = YAML.parse(readFileSync(join(REPO, 'config', 'mogftp.example.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
const storageRoot = String(example.storage!.root);

describe('deploy/systemd units', () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'mogftp-units-'));
    process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));
  });

  test('one unit per daemon and nothing else unexpected in the directory', () => {
    const files = readdirSync(DIR).sort();
    assert.deepEqual(files, ['env.example', 'mogftp-dav.service', 'mogftp-ftp.service', 'mogftp-jobs.service', 'mogftp-storage.service', 'mogftp.sysusers']);
  });

  test('each runs its daemon from the installed checkout, as the mogftp user, with the settings file and the secrets file', () => {
    for (const [d, { unit }] of units) {
      assert.equal(one(unit, 'Service', 'ExecStart'), `/usr/bin/node ${INSTALLED}/bin/mogftp.js ${d} --config ${CONFIG}`, d);
      assert.equal(one(unit, 'Service', 'User'), 'mogftp', d);
      // A storage node needs no database: the secrets file is optional there ("-").
      assert.equal(one(unit, 'Service', 'EnvironmentFile'), d === 'storage' ? '-/etc/mogftp/env' : '/etc/mogftp/env', d);
      // The storage key reaches every daemon as a credential: a private copy the mogftp user can
      // read while the file itself stays root's.
      assert.equal(one(unit, 'Service', 'LoadCredential'), 'storage.key:/etc/mogftp/storage.key', d);
      assert.deepEqual(values(unit, 'Service', 'Environment'), ['MOGFTP_STORAGE_KEY_FILE=%d/storage.key'], d);
      assert.equal(one(unit, 'Service', 'Restart'), 'on-failure', d);
      assert.equal(one(unit, 'Install', 'WantedBy'), 'multi-user.target', d);
    }
  });

  test('each is sandboxed; only the storage node may write, and only under its root', () => {
    for (const [d, { unit }] of units) {
      for (const [k, v] of [
        ['NoNewPrivileges', 'yes'],
        ['ProtectSystem', 'strict'],
        ['ProtectHome', 'yes'],
        ['PrivateTmp', 'yes'],
        ['PrivateDevices', 'yes'],
        ['CapabilityBoundingSet', ''],
      ] as const) {
        assert.equal(one(unit, 'Service', k), v, `${d}: ${k}=${v}`);
      }
      const writable = values(unit, 'Service', 'ReadWritePaths');
      if (d === 'storage') {
        assert.deepEqual(writable, [storageRoot], 'the storage node writes its --root (config/mogftp.example.yaml)');
        assert.equal(one(unit, 'Unit', 'RequiresMountsFor'), storageRoot);
      } else {
        assert.deepEqual(writable, [], `${d} writes nowhere`);
      }
    }
  });

  test('the ftp unit lets running transfers finish before systemd kills it', () => {
    const stop = Number(/^(\d+)s$/.exec(one(units.get('ftp')!.unit, 'Service', 'TimeoutStopSec'))?.[1]);
    const help = spawnSync(process.execPath, [join(REPO, 'bin', 'mogftp.js'), 'ftp', '--help'], { encoding: 'utf8' }).stdout;
    const grace = Number(/--shutdown-grace[\s\S]*?\[default: (\d+)\]/.exec(help)?.[1]);
    assert.ok(grace > 0, 'the ftp help shows --shutdown-grace');
    assert.ok(stop > grace, `TimeoutStopSec ${stop} s > --shutdown-grace ${grace} s`);
  });

  test('the command each unit runs accepts the example settings file and secrets file', async () => {
    const env = Object.fromEntries(
      readFileSync(join(DIR, 'env.example'), 'utf8')
        .split('\n')
        .filter((l) => l.trim() && !l.trim().startsWith('#'))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    assert.ok(env.MOGFTP_DB);
    // What LoadCredential= gives the daemon: %d is its credentials directory.
    const credentials = mkdtempSync(join(scratch, 'credentials-'));
    const keyRun = await run(process.execPath, [join(REPO, 'bin', 'mogftp.js'), 'admin', 'storage-key', 'new', join(credentials, 'storage.key')], { timeoutMs: 60_000 });
    assert.equal(keyRun.code, 0, keyRun.stderr);
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MOGFTP_')));
    for (const [d, { unit }] of units) {
      const args = one(unit, 'Service', 'ExecStart').split(' ').slice(1);
      args[0] = join(REPO, 'bin', 'mogftp.js');
      args[args.indexOf(CONFIG)] = join(REPO, 'config', 'mogftp.example.yaml');
      // A storage root must exist to be served: a scratch one stands in for /var/lib/mogftp.
      if (d === 'storage') args.push('--root', scratch);
      const unitEnv = Object.fromEntries(values(unit, 'Service', 'Environment').map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1).replace('%d', credentials)]));
      const r = await run(process.execPath, [...args, '--print-config'], { env: { ...base, ...(d === 'storage' ? {} : env), ...unitEnv }, timeoutMs: 60_000 });
      assert.equal(r.code, 0, `${d}: ${r.stderr}`);
      const cfg = JSON.parse(r.stdout) as Record<string, { value: unknown; source: string }>;
      if (d !== 'storage') assert.match(String(cfg.db?.source), /MOGFTP_DB/, `${d} takes the database from the secrets file`);
      const keySetting = cfg['storage-key-file'] ?? cfg['key-file'];
      assert.equal(keySetting?.value, join(credentials, 'storage.key'), `${d} takes the storage key from its credential: ${r.stdout}`);
    }
  });

  test('systemd-analyze verify accepts every unit', { skip: noAnalyze ?? false }, () => {
    // The installed paths do not exist here: the units are checked with this checkout and this
    // node in their place (verify checks that the executable exists).
    const dir = mkdtempSync(join(scratch, 'verify-'));
    for (const [d, { text }] of units) {
      const local = text.replaceAll('/usr/bin/node ', `${process.execPath} `).replaceAll(INSTALLED, REPO);
      writeFileSync(join(dir, `mogftp-${d}.service`), local);
    }
    const files = DAEMONS.map((d) => join(dir, `mogftp-${d}.service`));
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_LEVEL: 'notice' } });
    const ours = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /mogftp/.test(l));
    assert.deepEqual(ours, [], 'systemd-analyze verify complains');
    assert.equal(r.status, 0, r.stderr);
  });

  test('systemd-analyze verify catches what it should (the check itself works)', { skip: noAnalyze ?? false }, () => {
    const dir = mkdtempSync(join(scratch, 'broken-'));
    const broken = join(dir, 'mogftp-broken.service');
    writeFileSync(broken, units.get('jobs')!.text.replace('ProtectSystem=strict', 'ProtectSystem=stricter').replace('/usr/bin/node ', '/nonexistent/node '));
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', broken], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /protect system value/i);
    assert.throws(() => parseUnit('[Service]\nEnvironmentFile=/etc/mogftp/env  # the secrets\n', 'x'), /comment after a value/);
  });

  test('systemd-analyze security rates each sandbox at most 2.0 ("OK")', { skip: noAnalyze ?? false }, (t) => {
    const probe = spawnSync('systemd-analyze', ['security', '--offline=true', '--man=no', join(DIR, 'mogftp-jobs.service')], { encoding: 'utf8' });
    if (/unrecognized option|unknown option/i.test(probe.stderr)) {
      t.skip(`this systemd-analyze has no security --offline (systemd < 250): ${probe.stderr.trim()}`);
      return;
    }
    for (const d of DAEMONS) {
      const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--man=no', '--threshold=20', join(DIR, `mogftp-${d}.service`)], { encoding: 'utf8' });
      const level = /Overall exposure level for \S+: ([\d.]+)/.exec(r.stdout)?.[1];
      assert.equal(r.status, 0, `${d}: exposure ${level} (${r.stderr})`);
      assert.ok(Number(level) <= 2.0, `${d}: exposure ${level}`);
    }
  });

  test('the sysusers file creates the user the units run as', { skip: noSysusers ?? false }, () => {
    const root = mkdtempSync(join(scratch, 'root-'));
    mkdirSync(join(root, 'etc'));
    for (const f of ['passwd', 'group']) writeFileSync(join(root, 'etc', f), '');
    // A file named on the command line is read as it is, not under --root.
    const r = spawnSync('systemd-sysusers', ['--dry-run', `--root=${root}`, join(DIR, 'mogftp.sysusers')], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_LEVEL: 'info' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr + r.stdout, /Creating user '?mogftp'?/);
  });

  test('deploying.md points at these files and carries no inline copy', () => {
    const doc = readFileSync(join(REPO, 'docs', 'operations', 'deploying.md'), 'utf8');
    for (const d of DAEMONS) assert.ok(doc.includes(`deploy/systemd/mogftp-${d}.service`), `deploying.md names mogftp-${d}.service`);
    assert.doesNotMatch(doc, /^\[Service\]$/m, 'no unit file copied into the doc');
    assert.doesNotMatch(doc, /^\w+=\S.*\s#/m, 'no Key=value line with a trailing comment');
  });
});
