// Reproducible file contents: the AES-128-CTR keystream of a seed. A test keeps (seed, size) and
// the sha256 instead of the bytes, so 50 clients can move 50 MiB files without holding them.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';

const CHUNK = 256 * 1024;
const ZEROS = Buffer.alloc(CHUNK);

export interface Content {
  seed: string;
  size: number;
  sha256: string;
}

function cipherOf(seed: string) {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
}

/** The bytes of (seed, size), a chunk at a time. */
export async function* contentStream(seed: string, size: number): AsyncGenerator<Buffer> {
  const cipher = cipherOf(seed);
  for (let left = size; left > 0; left -= CHUNK) yield cipher.update(left >= CHUNK ? ZEROS : ZEROS.subarray(0, left));
}

/**
 * The bytes of `content`, pausing once `pauseAt` bytes have gone out: calls `reached` and waits
 * for `gate` (a test does its damage in the meantime, with the transfer known to be mid-way).
 */
export async function* gated(content: Content, pauseAt: number, gate: Promise<unknown>, reached?: () => void): AsyncGenerator<Buffer> {
  let sent = 0;
  let paused = false;
  for await (const chunk of contentStream(content.seed, content.size)) {
    yield chunk;
    sent += chunk.length;
    if (!paused && sent >= pauseAt) {
      paused = true;
      reached?.();
      await gate;
    }
  }
}

export function contentBuffer(seed: string, size: number): Buffer {
  const cipher = cipherOf(seed);
  return cipher.update(Buffer.alloc(size));
}

export function sha256Of(seed: string, size: number): string {
  const hash = createHash('sha256');
  const cipher = cipherOf(seed);
  for (let left = size; left > 0; left -= CHUNK) hash.update(cipher.update(left >= CHUNK ? ZEROS : ZEROS.subarray(0, left)));
  return hash.digest('hex');
}

export function newContent(size: number): Content {
  const seed = randomBytes(8).toString('hex');
  return { seed, size, sha256: sha256Of(seed, size) };
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
