// The checksum headers of our node's PUT: X-Checksum-Alg names the digest the node computes and
// reports; Content-Digest (RFC 9530) carries the digest the sender expects, for the node to verify.
import type { ChecksumAlg } from '../checksum.ts';

export type DigestAlg = 'sha256' | 'md5';

/** RFC 9530 algorithm names we understand, mapped to node:crypto's. */
const RFC_TO_NODE: Record<string, DigestAlg> = { 'sha-256': 'sha256', md5: 'md5' };
const NODE_TO_RFC: Record<DigestAlg, string> = { sha256: 'sha-256', md5: 'md5' };
const DIGEST_BYTES: Record<DigestAlg, number> = { sha256: 32, md5: 16 };

export function parseChecksumAlg(header: string | undefined): ChecksumAlg | null {
  if (header === undefined) return 'sha256';
  const v = header.trim().toLowerCase();
  return v === 'sha256' || v === 'md5' || v === 'none' ? v : null;
}

/** `sha-256=:<base64>:` for a lower-case hex digest. */
export function formatContentDigest(alg: DigestAlg, hex: string): string {
  return `${NODE_TO_RFC[alg]}=:${Buffer.from(hex, 'hex').toString('base64')}:`;
}

/**
 * The expected digest from a Content-Digest header: sha-256 preferred, else md5. Null when the
 * header is absent or names only algorithms we don't know (RFC 9530 lets a recipient ignore
 * those); throws RangeError on a malformed value for an algorithm we do know.
 */
export function parseContentDigest(header: string | undefined): { alg: DigestAlg; bytes: Buffer } | null {
  if (header === undefined) return null;
  const found = new Map<DigestAlg, Buffer>();
  for (const member of header.split(',')) {
    const eq = member.indexOf('=');
    if (eq < 0) continue;
    const alg = RFC_TO_NODE[member.slice(0, eq).trim().toLowerCase()];
    if (!alg) continue;
    const m = /^:([A-Za-z0-9+/]*={0,2}):$/.exec(member.slice(eq + 1).trim());
    const bytes = m ? Buffer.from(m[1]!, 'base64') : null;
    if (!bytes || bytes.length !== DIGEST_BYTES[alg]) throw new RangeError(`malformed ${NODE_TO_RFC[alg]} Content-Digest`);
    found.set(alg, bytes);
  }
  const alg: DigestAlg | undefined = found.has('sha256') ? 'sha256' : found.has('md5') ? 'md5' : undefined;
  return alg ? { alg, bytes: found.get(alg)! } : null;
}

/** The `Want-Content-Digest` request value (RFC 9530) asking for `alg`. */
export function formatWantContentDigest(alg: DigestAlg): string {
  return `${NODE_TO_RFC[alg]}=10`;
}

/**
 * The algorithm a `Want-Content-Digest` asks for: sha-256 preferred, else md5; null when absent,
 * malformed or only for algorithms we don't compute (the answer then carries no digest, which
 * RFC 9530 allows). A preference of 0 means "not that one".
 */
export function parseWantContentDigest(header: string | undefined): DigestAlg | null {
  if (header === undefined) return null;
  const wanted = new Set<DigestAlg>();
  for (const member of header.split(',')) {
    const [name, pref] = member.split('=').map((s) => s.trim().toLowerCase());
    const alg = RFC_TO_NODE[name ?? ''];
    if (alg && pref !== undefined && /^([1-9]|10)$/.test(pref)) wanted.add(alg);
  }
  return wanted.has('sha256') ? 'sha256' : wanted.has('md5') ? 'md5' : null;
}
