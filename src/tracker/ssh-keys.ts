// OpenSSH public keys as users give them to `mogftp admin user key add`: one line of an
// id_*.pub or authorized_keys file, `TYPE BASE64 [COMMENT]`, whose base64 is the key's SSH wire
// blob (RFC 4253 §6.6: string type, then the type's fields; RFC 5656 §3.1 for ECDSA, RFC 8709
// §4 for Ed25519). A key is checked completely before it is stored: the blob's own type must be
// the line's, every field must be there with nothing after it, and the key must be a valid key
// (node:crypto imports it). The fingerprint is the one `ssh-keygen -l` prints: "SHA256:" and
// the unpadded base64 of the blob's SHA-256.
//
// Modern keys only: Ed25519, ECDSA on the NIST curves and RSA of 2048 bits or more. DSA keys
// (1024 bits, SHA-1; OpenSSH no longer accepts them by default) and short RSA keys are refused
// with a message that says what to make instead. Security-key (sk-) keys and certificates are
// refused because the SFTP door's SSH implementation cannot check them.
import { createHash, createPublicKey, type JsonWebKey } from 'node:crypto';
import { mogError, ErrorCodes } from '../errors.ts';

/** A public key ready for the store (Users.addUserKey). */
export interface ParsedPublicKey {
  /** The key type, e.g. 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-rsa'. */
  algorithm: string;
  /** The SSH wire blob (what a client sends in a publickey authentication request). */
  key: Buffer;
  /** The text after the key on its line, '' when none. */
  comment: string;
  /** 'SHA256:' + unpadded base64 of SHA-256(key), as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** The key's size in bits (the modulus for RSA, the curve for ECDSA, 256 for Ed25519). */
  bits: number;
}

/** Keys a user may have; more is a mistake (or an attack on the login path, which checks them). */
export const MAX_KEYS_PER_USER = 100;
/** The largest wire blob accepted: a 16384-bit RSA key (OpenSSH's largest) is 2071 bytes. */
export const MAX_KEY_BYTES = 4096;
/** Bytes of UTF-8 a key's comment may have. */
export const MAX_COMMENT_BYTES = 1024;
/** The smallest and largest RSA modulus accepted. */
export const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 16384;

const ECDSA_CURVES: Record<string, { curve: string; jwk: string; bytes: number; bits: number }> = {
  'ecdsa-sha2-nistp256': { curve: 'nistp256', jwk: 'P-256', bytes: 32, bits: 256 },
  'ecdsa-sha2-nistp384': { curve: 'nistp384', jwk: 'P-384', bytes: 48, bits: 384 },
  'ecdsa-sha2-nistp521': { curve: 'nistp521', jwk: 'P-521', bytes: 66, bits: 521 },
};

/** The key types a user may add, in the order the docs list them. */
export const ACCEPTED_KEY_TYPES: readonly string[] = ['ssh-ed25519', ...Object.keys(ECDSA_CURVES), 'ssh-rsa'];

const MAKE_ONE = 'make a modern key with `ssh-keygen -t ed25519`';

/** Why a known but refused key type is refused. */
function refusedType(type: string): string | null {
  if (type === 'ssh-dss') return `DSA keys (ssh-dss) are refused: they are 1024-bit keys signed with SHA-1, which OpenSSH itself no longer accepts; ${MAKE_ONE}`;
  if (type.includes('-cert-v01@openssh.com')) return `SSH certificates (${type}) are not supported: add the plain public key`;
  if (type.startsWith('sk-')) return `Security-key (FIDO) keys (${type}) are not supported by the SFTP door; ${MAKE_ONE}`;
  return null;
}

const invalid = (msg: string) => mogError(ErrorCodes.INVALID_ARGUMENT, msg);

/** SHA-256 fingerprint of a wire blob, as `ssh-keygen -l` prints it. */
export function sshFingerprint(key: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

/** Reads the length-prefixed fields of a wire blob (RFC 4251 §5: uint32 length, then bytes). */
class BlobReader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}

  string(what: string): Buffer {
    if (this.at + 4 > this.buf.length) throw invalid(`The key is cut short: its ${what} is missing`);
    const len = this.buf.readUInt32BE(this.at);
    if (len > this.buf.length - this.at - 4) throw invalid(`The key is cut short: its ${what} is incomplete`);
    const out = this.buf.subarray(this.at + 4, this.at + 4 + len);
    this.at += 4 + len;
    return out;
  }

  /** A positive mpint, without its leading zero byte. */
  positiveMpint(what: string): Buffer {
    const raw = this.string(what);
    if (raw.length === 0 || (raw[0]! & 0x80) !== 0) throw invalid(`The key's ${what} is not a positive number`);
    if (raw[0] === 0 && (raw.length === 1 || (raw[1]! & 0x80) === 0)) throw invalid(`The key's ${what} is not in minimal form`);
    return raw[0] === 0 ? raw.subarray(1) : raw;
  }

  end(): void {
    if (this.at !== this.buf.length) throw invalid(`The key has ${this.buf.length - this.at} bytes after its last field`);
  }
}

const b64url = (b: Buffer) => b.toString('base64url');

function bitLength(magnitude: Buffer): number {
  return magnitude.length === 0 ? 0 : (magnitude.length - 1) * 8 + (32 - Math.clz32(magnitude[0]!));
}

/** Imports the key with node:crypto: a point off its curve or a malformed modulus is refused here. */
function importable(jwk: JsonWebKey, type: string): void {
  try {
    createPublicKey({ key: jwk, format: 'jwk' });
  } catch (err) {
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `The ${type} key is not a valid key`, err);
  }
}

/** The fields after the type name, checked for `type`; returns the key's size in bits. */
function checkKeyFields(type: string, r: BlobReader): number {
  if (type === 'ssh-ed25519') {
    const pk = r.string('public key');
    if (pk.length !== 32) throw invalid(`An Ed25519 public key is 32 bytes, not ${pk.length}`);
    r.end();
    importable({ kty: 'OKP', crv: 'Ed25519', x: b64url(pk) }, type);
    return 256;
  }
  const ec = ECDSA_CURVES[type];
  if (ec) {
    const curve = r.string('curve name').toString('latin1');
    if (curve !== ec.curve) throw invalid(`A ${type} key names the curve ${ec.curve}, not ${JSON.stringify(curve)}`);
    const q = r.string('public point');
    if (q.length !== 1 + 2 * ec.bytes || q[0] !== 0x04) throw invalid(`The ${type} key's point is not an uncompressed ${ec.curve} point`);
    r.end();
    importable({ kty: 'EC', crv: ec.jwk, x: b64url(q.subarray(1, 1 + ec.bytes)), y: b64url(q.subarray(1 + ec.bytes)) }, type);
    return ec.bits;
  }
  if (type === 'ssh-rsa') {
    const e = r.positiveMpint('exponent');
    const n = r.positiveMpint('modulus');
    r.end();
    const bits = bitLength(n);
    if (bits < MIN_RSA_BITS) throw invalid(`RSA keys of ${bits} bits are refused: ${MIN_RSA_BITS} bits at least; ${MAKE_ONE}, or \`ssh-keygen -t rsa -b 4096\``);
    if (bits > MAX_RSA_BITS) throw invalid(`RSA keys of ${bits} bits are refused: ${MAX_RSA_BITS} bits at most`);
    if (bitLength(e) > 32 || (e[e.length - 1]! & 1) === 0 || bitLength(e) < 2) throw invalid('The RSA key has an unusable public exponent');
    importable({ kty: 'RSA', n: b64url(n), e: b64url(e) }, type);
    return bits;
  }
  throw invalid(`Unknown key type ${JSON.stringify(type)}: accepted are ${ACCEPTED_KEY_TYPES.join(', ')}`);
}

/**
 * Checks a wire blob of type `algorithm` (the store calls this on every key it is given):
 * INVALID_ARGUMENT, with a message for the operator, unless it is a complete, valid key of an
 * accepted type whose blob names that same type. Returns its size in bits.
 */
export function checkPublicKey(algorithm: string, key: Buffer): number {
  if (!Buffer.isBuffer(key) || key.length === 0) throw invalid('A public key is required');
  if (key.length > MAX_KEY_BYTES) throw invalid(`The key is ${key.length} bytes; at most ${MAX_KEY_BYTES} are accepted`);
  const refused = refusedType(algorithm);
  if (refused) throw invalid(refused);
  const r = new BlobReader(key);
  const inner = r.string('type name').toString('latin1');
  if (inner !== algorithm) throw invalid(`The key says it is ${JSON.stringify(inner)}, not ${JSON.stringify(algorithm)}`);
  return checkKeyFields(algorithm, r);
}

/** INVALID_ARGUMENT unless `comment` is printable text of at most MAX_COMMENT_BYTES. */
export function checkKeyComment(comment: string): string {
  if (typeof comment !== 'string') throw invalid('A key comment must be text');
  if (Buffer.byteLength(comment, 'utf8') > MAX_COMMENT_BYTES) throw invalid(`A key comment may have at most ${MAX_COMMENT_BYTES} bytes`);
  if (/[\u0000-\u001f\u007f-\u009f]/.test(comment)) throw invalid('A key comment may not contain control characters');
  return comment;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decodeBase64(text: string): Buffer {
  if (!BASE64.test(text) || text.length % 4 !== 0) throw invalid('The key is not valid base64 (the second field of the line)');
  const blob = Buffer.from(text, 'base64');
  if (blob.toString('base64') !== text) throw invalid('The key is not valid base64 (the second field of the line)');
  return blob;
}

/** Says what a line that is not a public key line is, when that can be told. */
function notAKeyLine(first: string, line: string): Error {
  if (line.startsWith('-----BEGIN')) {
    return invalid(/PRIVATE KEY/.test(line) ? 'This is a private key: give the public one (the .pub file next to it)' : 'This is a PEM file, not an OpenSSH public key line');
  }
  if (line.startsWith('---- BEGIN SSH2 PUBLIC KEY')) return invalid('This is an RFC 4716 (SSH2) public key: convert it with `ssh-keygen -i -f FILE`');
  if (line.startsWith('PuTTY-User-Key-File')) return invalid("This is a PuTTY key file: copy the key from PuTTYgen's \"Public key for pasting into OpenSSH authorized_keys file\" box instead");
  const laterType = /\s(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa|ssh-dss|sk-\S+@openssh\.com)\s/.test(line + ' ');
  if (/^[a-z0-9-]+(=|,|$)/i.test(first) && laterType) {
    return invalid('authorized_keys options (from=, command=, no-pty, ...) are not supported: give the key line without them');
  }
  return invalid(`Not an OpenSSH public key line (it should start with a key type such as ssh-ed25519): ${JSON.stringify(line.slice(0, 40))}`);
}

/** Parses one OpenSSH public key line, `TYPE BASE64 [COMMENT]`. INVALID_ARGUMENT says what is wrong. */
export function parsePublicKeyLine(text: string): ParsedPublicKey {
  const line = text.trim();
  if (line === '') throw invalid('The key line is empty');
  const m = /^(\S+)(?:\s+(\S+))?(?:\s+(.*))?$/s.exec(line)!;
  const type = m[1]!;
  const isKeyType = ACCEPTED_KEY_TYPES.includes(type) || refusedType(type) !== null;
  if (!isKeyType) throw notAKeyLine(type, line);
  if (m[2] === undefined) throw invalid(`The ${type} line has no key after its type`);
  const key = decodeBase64(m[2]);
  const bits = checkPublicKey(type, key);
  const comment = checkKeyComment((m[3] ?? '').trim());
  return { algorithm: type, key, comment, fingerprint: sshFingerprint(key), bits };
}

/**
 * Every key of an id_*.pub or authorized_keys text: blank lines and `#` comments are skipped.
 * A bad line refuses the whole text (INVALID_ARGUMENT naming the line); so does more than
 * MAX_KEYS_PER_USER keys, or the same key twice.
 */
export function parseAuthorizedKeys(text: string): ParsedPublicKey[] {
  const keys: ParsedPublicKey[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  const several = lines.filter((l) => l.trim() !== '').length > 1;
  // A PEM or RFC 4716 file: say what it is once, rather than about its first line.
  if (/^\s*-{4,5} ?BEGIN/.test(text)) throw notAKeyLine('', text.trim());
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    let k: ParsedPublicKey;
    try {
      k = parsePublicKeyLine(line);
    } catch (err) {
      throw several ? mogError(ErrorCodes.INVALID_ARGUMENT, `Line ${i + 1}: ${(err as Error).message}`, err) : err;
    }
    if (seen.has(k.fingerprint)) throw invalid(`Line ${i + 1}: the key ${k.fingerprint} is given twice`);
    seen.add(k.fingerprint);
    keys.push(k);
    if (keys.length > MAX_KEYS_PER_USER) throw invalid(`More than ${MAX_KEYS_PER_USER} keys: a user may have at most ${MAX_KEYS_PER_USER}`);
  }
  if (keys.length === 0) throw invalid('No public key found (only blank or # comment lines)');
  return keys;
}
