// OpenSSH public key lines (src/tracker/ssh-keys.ts) against keys and files OpenSSH's own
// ssh-keygen makes: the same fingerprints ssh-keygen prints, every accepted type, and a clear
// refusal of everything else (DSA, short RSA, certificates, options, private and RFC 4716 files).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCodes, isMogError } from '../../src/errors.ts';
import { MAX_KEYS_PER_USER, parseAuthorizedKeys, parsePublicKeyLine } from '../../src/tracker/ssh-keys.ts';
import { sshKeygen, type GeneratedKey } from '../harness/ssh-keygen.ts';

const run = promisify(execFile);

function refused(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isMogError(err, ErrorCodes.INVALID_ARGUMENT), `expected INVALID_ARGUMENT, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

/** The line with its base64 field replaced by `blob`. */
const withBlob = (k: GeneratedKey, blob: Buffer) => `${k.algorithm} ${blob.toString('base64')} c`;

/** A fresh Ed25519 key's public line (many distinct keys without as many ssh-keygen runs). */
function generateEd25519Line(): string {
  const x = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(x)]).toString('base64')} generated`;
}

describe('OpenSSH public key lines', () => {
  let dir: string;
  const k: Record<string, GeneratedKey> = {};
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mogftp-ssh-keys-'));
    const specs: Array<[string, Parameters<typeof sshKeygen>[2], number | undefined]> = [
      ['ed', 'ed25519', undefined],
      ['ec256', 'ecdsa', 256],
      ['ec384', 'ecdsa', 384],
      ['ec521', 'ecdsa', 521],
      ['rsa2048', 'rsa', 2048],
      ['rsa1024', 'rsa', 1024],
      ['dsa', 'dsa', undefined],
      ['ca', 'ed25519', undefined],
    ];
    const made = await Promise.all(specs.map(([name, type, bits]) => sshKeygen(dir, name, type, { bits, comment: `${name} key of me@host` })));
    specs.forEach(([name], i) => (k[name] = made[i]!));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('every accepted type: the type, the blob, the comment and the fingerprint ssh-keygen prints', () => {
    const expect: Array<[string, string, number]> = [
      ['ed', 'ssh-ed25519', 256],
      ['ec256', 'ecdsa-sha2-nistp256', 256],
      ['ec384', 'ecdsa-sha2-nistp384', 384],
      ['ec521', 'ecdsa-sha2-nistp521', 521],
      ['rsa2048', 'ssh-rsa', 2048],
    ];
    for (const [name, algorithm, bits] of expect) {
      const key = k[name]!;
      const p = parsePublicKeyLine(key.line + '\n');
      assert.deepEqual(p, { algorithm, key: key.blob, comment: `${name} key of me@host`, fingerprint: key.fingerprint, bits }, name);
    }
    assert.equal(parsePublicKeyLine(k.ed!.line.split(' ').slice(0, 2).join(' ')).comment, '', 'no comment');
  });

  test('an authorized_keys file: every key, blank and # lines skipped; a bad line names its number', () => {
    const text = ['# my keys', k.ed!.line, '', `  ${k.rsa2048!.line}  `, k.ec256!.line + '\r', ''].join('\n');
    assert.deepEqual(parseAuthorizedKeys(text).map((p) => p.fingerprint), [k.ed!.fingerprint, k.rsa2048!.fingerprint, k.ec256!.fingerprint]);
    refused(() => parseAuthorizedKeys([k.ed!.line, k.dsa!.line].join('\n')), /^Line 2: DSA keys/);
    refused(() => parseAuthorizedKeys([k.ed!.line, k.ed!.line].join('\n')), /^Line 2: the key SHA256:.* is given twice/);
    refused(() => parseAuthorizedKeys('# nothing\n\n'), /No public key found/);
  });

  test(`more than ${MAX_KEYS_PER_USER} keys in one file are refused`, () => {
    const many = Array.from({ length: MAX_KEYS_PER_USER + 1 }, () => generateEd25519Line());
    refused(() => parseAuthorizedKeys(many.join('\n')), new RegExp(`More than ${MAX_KEYS_PER_USER} keys`));
    assert.equal(parseAuthorizedKeys(many.slice(1).join('\n')).length, MAX_KEYS_PER_USER);
  });

  test('DSA and RSA under 2048 bits are refused, saying what to make instead', () => {
    refused(() => parsePublicKeyLine(k.dsa!.line), /DSA keys \(ssh-dss\) are refused.*ssh-keygen -t ed25519/);
    refused(() => parsePublicKeyLine(k.rsa1024!.line), /RSA keys of 1024 bits are refused: 2048 bits at least/);
  });

  test('certificates, options, private keys and RFC 4716 files are refused with what they are', async () => {
    await run('ssh-keygen', ['-q', '-s', k.ca!.privatePath, '-I', 'id', '-n', 'alice', k.ed!.publicPath]);
    const cert = (await readFile(join(dir, 'ed-cert.pub'), 'utf8')).trim();
    refused(() => parsePublicKeyLine(cert), /SSH certificates \(ssh-ed25519-cert-v01@openssh.com\) are not supported/);
    refused(() => parsePublicKeyLine(`from="10.0.0.0/8",no-pty ${k.ed!.line}`), /options .* are not supported/);
    refused(() => parsePublicKeyLine(`command="echo hi" ${k.ed!.line}`), /options .* are not supported/);
    refused(() => parsePublicKeyLine(`restrict ${k.ed!.line}`), /options .* are not supported/);
    const privateKey = await readFile(k.ed!.privatePath, 'utf8');
    refused(() => parseAuthorizedKeys(privateKey), /^This is a private key: give the public one/);
    const rfc4716 = (await run('ssh-keygen', ['-e', '-f', k.ed!.publicPath])).stdout;
    refused(() => parseAuthorizedKeys(rfc4716), /RFC 4716 .*ssh-keygen -i -f FILE/);
    refused(() => parsePublicKeyLine('hello world'), /Not an OpenSSH public key line/);
    refused(() => parseAuthorizedKeys('PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n'), /PuTTY key file/);
  });

  test('a damaged line or blob is refused, never half-read', () => {
    const ed = k.ed!;
    refused(() => parsePublicKeyLine('ssh-ed25519'), /no key after its type/);
    refused(() => parsePublicKeyLine(`ssh-ed25519 ${ed.line.split(' ')[1]!.slice(0, -4)}`), /cut short/);
    refused(() => parsePublicKeyLine(`ssh-ed25519 ${ed.line.split(' ')[1]!}!`), /not valid base64/);
    refused(() => parsePublicKeyLine(`ssh-rsa ${ed.line.split(' ')[1]!}`), /says it is "ssh-ed25519", not "ssh-rsa"/);
    refused(() => parsePublicKeyLine(withBlob(ed, Buffer.concat([ed.blob, Buffer.from([1, 2])]))), /2 bytes after its last field/);
    // An ECDSA point moved off its curve: node:crypto will not import it.
    const off = Buffer.from(k.ec256!.blob);
    off[off.length - 1] ^= 1;
    refused(() => parsePublicKeyLine(withBlob(k.ec256!, off)), /not a valid key/);
    // A curve name that is not the type's.
    const wrongCurve = Buffer.from(k.ec256!.blob);
    wrongCurve.write('nistp384', k.ec256!.blob.lastIndexOf('nistp256'), 'latin1');
    refused(() => parsePublicKeyLine(withBlob(k.ec256!, wrongCurve)), /names the curve nistp256/);
    refused(() => parsePublicKeyLine(`${ed.line.split(' ').slice(0, 2).join(' ')} tab\tin\u0007bell`), /control characters/);
    refused(() => parsePublicKeyLine(`${ed.line.split(' ').slice(0, 2).join(' ')} ${'x'.repeat(1025)}`), /at most 1024 bytes/);
  });
});
