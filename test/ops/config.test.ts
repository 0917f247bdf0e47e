// Settings: flag > MOGFTP_* env > config file (section, then top level) > default, every value
// checked, refusals naming the key and its source. Unit tests on the loader, then the real CLI.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfigText, readConfigFile } from '../../src/config/file.ts';
import { envName, loadConfig, type OptionSpec } from '../../src/config/load.ts';
import { isMogError, ErrorCodes } from '../../src/errors.ts';
import { run } from '../harness/clients.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(REPO, 'bin', 'mogftp.js');

const FTP_OPTIONS: OptionSpec[] = [
  { key: 'db', type: 'string' },
  { key: 'listen', type: 'string' },
  { key: 'pasv-ports', type: 'string' },
  { key: 'log-level', type: 'string', choices: ['debug', 'info', 'warn', 'error', 'silent'] },
  { key: 'storage-token', type: 'string' },
  { key: 'admin-listen', type: 'string' },
  { key: 'max-sessions', type: 'number' },
  { key: 'verbose-ish', type: 'boolean' },
];
const FTP_DEFAULTS = { listen: '127.0.0.1:2121', 'pasv-ports': '30000-30099', 'log-level': 'info' };

function file(text: string) {
  return parseConfigText('/etc/mogftp.yaml', text);
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isMogError(err, ErrorCodes.BAD_CONFIG), `expected BAD_CONFIG, got ${String(err)}`);
    return (err as Error).message;
  }
  assert.fail('expected a refusal');
}

describe('loadConfig precedence', () => {
  const cfgFile = file(
    ['db: sqlite:/var/lib/top.db', 'log-level: warn', 'ftp:', '  listen: 0.0.0.0:2121', '  pasv-ports: 31000-31009', 'storage:', '  root: /srv'].join('\n'),
  );

  test('default when nothing else says', () => {
    const c = loadConfig({ command: 'ftp', options: FTP_OPTIONS, flags: {}, env: {}, defaults: FTP_DEFAULTS });
    assert.equal(c.values.listen, '127.0.0.1:2121');
    assert.deepEqual(c.sources.listen, { kind: 'default' });
    assert.equal('db' in c.values, false);
  });

  test('file beats default; the command section and the top level both count', () => {
    const c = loadConfig({ command: 'ftp', options: FTP_OPTIONS, flags: {}, env: {}, file: cfgFile, defaults: FTP_DEFAULTS });
    assert.equal(c.values.listen, '0.0.0.0:2121');
    assert.equal(c.values['pasv-ports'], '31000-31009');
    assert.equal(c.values.db, 'sqlite:/var/lib/top.db');
    assert.equal(c.values['log-level'], 'warn');
    assert.deepEqual(c.sources['pasv-ports'], { kind: 'file', path: '/etc/mogftp.yaml', key: 'ftp.pasv-ports' });
  });

  test('a section value beats the top level', () => {
    const f = file('log-level: warn\nftp:\n  log-level: debug\n');
    const c = loadConfig({ command: 'ftp', options: FTP_OPTIONS, flags: {}, env: {}, file: f, defaults: FTP_DEFAULTS });
    assert.equal(c.values['log-level'], 'debug');
  });

  test('env beats file, flag beats env', () => {
    const env = { MOGFTP_PASV_PORTS: '32000-32009', MOGFTP_LISTEN: '127.0.0.2:21' };
    const c = loadConfig({ command: 'ftp', options: FTP_OPTIONS, flags: { listen: '127.0.0.3:21' }, env, file: cfgFile, defaults: FTP_DEFAULTS });
    assert.equal(c.values['pasv-ports'], '32000-32009');
    assert.deepEqual(c.sources['pasv-ports'], { kind: 'env', name: 'MOGFTP_PASV_PORTS' });
    assert.equal(c.values.listen, '127.0.0.3:21');
    assert.deepEqual(c.sources.listen, { kind: 'flag', name: '--listen' });
  });

  test('env strings become numbers and booleans; an empty variable counts as unset', () => {
    const env = { MOGFTP_MAX_SESSIONS: '50', MOGFTP_VERBOSE_ISH: 'yes', MOGFTP_LISTEN: '' };
    const c = loadConfig({ command: 'ftp', options: FTP_OPTIONS, flags: {}, env, defaults: FTP_DEFAULTS });
    assert.equal(c.values['max-sessions'], 50);
    assert.equal(c.values['verbose-ish'], true);
    assert.equal(c.values.listen, '127.0.0.1:2121');
    assert.equal(envName('pasv-ports'), 'MOGFTP_PASV_PORTS');
  });

  test("the storage node's --token takes storage-token from the file and MOGFTP_STORAGE_TOKEN", () => {
    const opts: OptionSpec[] = [{ key: 'root', type: 'string' }, { key: 'token', type: 'string' }];
    const f = file('storage-token: from-file\nstorage:\n  root: /srv\n');
    let c = loadConfig({ command: 'storage', options: opts, flags: {}, env: {}, file: f });
    assert.equal(c.values.token, 'from-file');
    c = loadConfig({ command: 'storage', options: opts, flags: {}, env: { MOGFTP_STORAGE_TOKEN: 'from-env' }, file: f });
    assert.equal(c.values.token, 'from-env');
    c = loadConfig({ command: 'storage', options: opts, flags: {}, env: { MOGFTP_STORAGE_TOKEN: 'shared', MOGFTP_TOKEN: 'own' }, file: f });
    assert.equal(c.values.token, 'own');
  });
});

describe('loadConfig refusals name the key and the source', () => {
  test('bad value from env', () => {
    const msg = refusal(() => loadConfig({ command: 'ftp', options: FTP_OPTIONS, flags: {}, env: { MOGFTP_PASV_PORTS: '9-1' } }));
    assert.match(msg, /pasv-ports \(from environment variable MOGFTP_PASV_PORTS\)/);
    assert.match(msg, /LO-HI/);
  });

  test('bad value from a flag, and a number that is not one', () => {
    const msg = refusal(() =>
      loadConfig({ command: 'ftp', options: FTP_OPTIONS, flags: { 'admin-listen': 'nowhere' }, env: { MOGFTP_MAX_SESSIONS: 'lots' } }),
    );
    assert.match(msg, /2 bad settings/);
    assert.match(msg, /admin-listen \(from flag --admin-listen\)/);
    assert.match(msg, /max-sessions \(from environment variable MOGFTP_MAX_SESSIONS\)/);
  });

  test('a choice outside the list', () => {
    const msg = refusal(() => loadConfig({ command: 'ftp', options: FTP_OPTIONS, flags: {}, env: { MOGFTP_LOG_LEVEL: 'chatty' } }));
    assert.match(msg, /log-level/);
  });

  test('a key the running command does not have', () => {
    const msg = refusal(() => loadConfig({ command: 'ftp', options: FTP_OPTIONS, flags: {}, env: {}, file: file('ftp:\n  lisen: 0.0.0.0:21\n') }));
    assert.match(msg, /ftp\.lisen \(in \/etc\/mogftp\.yaml\)/);
  });

  test('file layout: unknown top-level key, bad typed value, bad YAML, not a mapping', () => {
    assert.match(refusal(() => file('dbb: x\n')), /unknown key "dbb"/);
    assert.match(refusal(() => file('ftp:\n  pasv-ports: lots\n')), /"ftp\.pasv-ports": Bad port range/);
    assert.match(refusal(() => file('db: mongodb://x/y\n')), /"db": .*mongodb/);
    assert.match(refusal(() => file('jobs:\n  monitor: "maybe"\n')), /"jobs\.monitor"/);
    assert.match(refusal(() => file('ftp: [1, 2\n')), /not valid YAML or JSON/);
    assert.match(refusal(() => file('- a\n- b\n')), /mapping/);
    assert.match(refusal(() => readConfigFile('/nonexistent/mogftp.yaml')), /Cannot read config file \/nonexistent\/mogftp\.yaml: ENOENT/);
  });

  test('JSON files work too; numbers are accepted where text is meant', () => {
    const f = file(JSON.stringify({ ftp: { 'pasv-ports': 30000, listen: '0.0.0.0:21' } }));
    const c = loadConfig({ command: 'ftp', options: FTP_OPTIONS, flags: {}, env: {}, file: f });
    assert.equal(c.values['pasv-ports'], '30000');
  });
});

describe('the CLI reads --config, MOGFTP_* and flags', () => {
  let dir: string;
  let cfg: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mogftp-config-'));
    cfg = join(dir, 'mogftp.yaml');
    writeFileSync(
      cfg,
      ['db: mysql://mogftp:hunter2secret@db:3306/mogftp', 'storage-token: tok-file', 'ftp:', '  listen: 0.0.0.0:2121', '  pasv-ports: 30000-30009', '  log-level: warn', 'jobs:', '  monitor: false', '  auto-dead-after: 2h'].join('\n'),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MOGFTP_')));
  const printConfig = async (args: string[], env: Record<string, string> = {}) => {
    const r = await run(process.execPath, [BIN, ...args, '--print-config'], { env: { ...cleanEnv(), ...env }, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, { value: unknown; source: string }>;
  };

  test('ftp: flag > env > file > default, secrets hidden', async () => {
    const c = await printConfig(['ftp', '--config', cfg, '--log-level', 'error'], { MOGFTP_PASV_PORTS: '40000-40009' });
    assert.deepEqual(c['log-level'], { value: 'error', source: 'flag --log-level' });
    assert.deepEqual(c['pasv-ports'], { value: '40000-40009', source: 'environment variable MOGFTP_PASV_PORTS' });
    assert.equal(c.listen!.value, '0.0.0.0:2121');
    assert.match(c.listen!.source, /"ftp\.listen" in .*mogftp\.yaml/);
    assert.equal(c.db!.value, 'mysql://mogftp:***@db:3306/mogftp');
    assert.equal(c['storage-token']!.value, '***');
  });

  test('MOGFTP_CONFIG names the file; jobs gets its own section', async () => {
    const c = await printConfig(['jobs'], { MOGFTP_CONFIG: cfg });
    assert.equal(c.monitor!.value, false);
    assert.equal(c['auto-dead-after']!.value, '2h');
    assert.equal(c['log-level']!.value, 'info');
    assert.equal(c['log-level']!.source, 'default');
  });

  test('a bad setting stops the daemon before it starts, naming the key', async () => {
    const r = await run(process.execPath, [BIN, 'ftp', '--config', cfg], { env: { ...cleanEnv(), MOGFTP_ADMIN_LISTEN: 'localhost' }, timeoutMs: 60_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /admin-listen \(from environment variable MOGFTP_ADMIN_LISTEN\)/);
    assert.match(r.stderr, /MOGFTP_ERR_BAD_CONFIG/);
    assert.doesNotMatch(r.stderr, /hunter2secret/);
  });

  test('the example config file is valid for every command', async () => {
    const example = join(REPO, 'config', 'mogftp.example.yaml');
    for (const cmd of ['ftp', 'dav', 'sftp', 'storage', 'jobs', 'quickstart']) {
      const c = await printConfig([cmd, '--config', example]);
      assert.ok(Object.values(c).some((v) => v.source.includes('mogftp.example.yaml')), `${cmd} took nothing from the example`);
    }
  });
});
