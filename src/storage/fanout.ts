// Writes one stream of bytes to several storage nodes at once. Each chunk goes to every live
// target; the next chunk is accepted only when every target that pushed back has drained, so the
// slowest replica sets the pace and memory stays bounded by the streams' buffers. A target that
// fails is dropped; once fewer than `quorum` remain the whole write fails at once. A target that
// fails before the first byte (a node that just died) is replaced by a spare, when there is one,
// since nothing has been lost yet.
//
// It also learns, per client, which nodes report the digest of what they received (our nodes do;
// nginx does not): an upload to nodes that all do may leave the hashing to them (src/vfs/upload.ts).
import type { Writable } from 'node:stream';
import { ErrorCodes, MogError, describeError, mogError } from '../errors.ts';
import type { ChecksumAlg } from '../checksum.ts';
import type { StorageClient } from './client.ts';
import type { PutResult } from './client-put.ts';

export interface FanoutTarget {
  devid: number;
  url: string;
}

export interface FanoutSuccess {
  devid: number;
  result: PutResult;
}

export interface FanoutFailure {
  devid: number;
  error: unknown;
}

/** Per client: the origins (scheme://host:port) whose last PUT answer carried a digest. */
const reporters = new WeakMap<StorageClient, Set<string>>();

const originOf = (url: string) => new URL(url).origin;

/** True when every target's node reported a digest in its last answer to this client. */
export function allReportDigests(client: StorageClient, targets: FanoutTarget[]): boolean {
  const known = reporters.get(client);
  return known !== undefined && targets.every((t) => known.has(originOf(t.url)));
}

interface Leg {
  target: FanoutTarget;
  stream: Writable;
  result: Promise<PutResult>;
  failed: unknown;
}

export class FanoutWriter {
  private readonly legs: Leg[] = [];
  private readonly failures: FanoutFailure[] = [];
  private readonly spares: FanoutTarget[];
  private started = false;
  private destroyed = false;

  constructor(
    targets: FanoutTarget[],
    private readonly client: StorageClient,
    private readonly opts: {
      quorum: number;
      checksumAlg: ChecksumAlg;
      spares?: FanoutTarget[];
      onFailure?: (devid: number, err: unknown) => void;
    },
  ) {
    this.spares = [...(opts.spares ?? [])];
    for (const target of targets) this.open(target);
    this.checkQuorum();
  }

  /** Devices a request was sent to: the ones that may hold bytes of this write. */
  get attempted(): number[] {
    return this.legs.map((l) => l.target.devid);
  }

  /** Targets still alive. */
  get live(): FanoutTarget[] {
    return this.legs.filter((l) => l.failed === undefined).map((l) => l.target);
  }

  get failed(): FanoutFailure[] {
    return [...this.failures];
  }

  /** Resolves when every live target can take more; rejects with QUORUM_LOST. */
  async write(chunk: Buffer): Promise<void> {
    this.started = true;
    this.checkQuorum();
    const waits: Promise<void>[] = [];
    for (const leg of this.legs) {
      if (leg.failed !== undefined) continue;
      if (!leg.stream.write(chunk)) waits.push(this.drained(leg));
    }
    if (waits.length) await Promise.all(waits);
    this.checkQuorum();
  }

  /** Ends every live request and waits for the nodes' answers; rejects when below quorum. */
  async end(): Promise<FanoutSuccess[]> {
    this.started = true;
    this.checkQuorum();
    for (const leg of this.legs) if (leg.failed === undefined) leg.stream.end();
    const settled = await Promise.allSettled(this.legs.map((l) => l.result));
    const ok: FanoutSuccess[] = [];
    settled.forEach((s, i) => {
      const leg = this.legs[i]!;
      if (s.status === 'fulfilled' && leg.failed === undefined) ok.push({ devid: leg.target.devid, result: s.value });
      else if (s.status === 'rejected') this.fail(leg, s.reason);
    });
    this.checkQuorum();
    if (this.opts.checksumAlg !== 'none') this.learn(ok);
    return ok;
  }

  /** Remembers which of these nodes reported a digest (and forgets the ones that stopped). */
  private learn(ok: FanoutSuccess[]): void {
    let known = reporters.get(this.client);
    if (!known) reporters.set(this.client, (known = new Set()));
    for (const s of ok) {
      const leg = this.legs.find((l) => l.target.devid === s.devid)!;
      if (s.result.checksum !== null) known.add(originOf(leg.target.url));
      else known.delete(originOf(leg.target.url));
    }
  }

  /** Aborts every request: nodes then keep nothing of this write. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const leg of this.legs) {
      if (!leg.stream.destroyed) leg.stream.destroy();
      leg.result.catch(() => {});
    }
  }

  private drained(leg: Leg): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        leg.stream.off('drain', done);
        leg.stream.off('close', done);
        clearInterval(poll);
        resolve();
      };
      // A leg that fails while we wait must not hold the others back.
      const poll = setInterval(() => leg.failed !== undefined && done(), 50);
      leg.stream.once('drain', done);
      leg.stream.once('close', done);
    });
  }

  private open(target: FanoutTarget): void {
    const { stream, result } = this.client.openPut(target.url, { checksumAlg: this.opts.checksumAlg });
    const leg: Leg = { target, stream, result, failed: undefined };
    this.legs.push(leg);
    // A leg fails when its request fails, whenever that is noticed.
    stream.on('error', (err: unknown) => this.fail(leg, err));
    result.catch((err: unknown) => this.fail(leg, err));
  }

  private fail(leg: Leg, err: unknown): void {
    if (leg.failed !== undefined) return;
    leg.failed = err ?? new Error('failed');
    this.failures.push({ devid: leg.target.devid, error: err });
    if (!leg.stream.destroyed) leg.stream.destroy();
    if (this.destroyed) return;
    this.opts.onFailure?.(leg.target.devid, err);
    const spare = !this.started ? this.spares.shift() : undefined;
    if (spare) this.open(spare);
  }

  private checkQuorum(): void {
    const live = this.legs.filter((l) => l.failed === undefined).length;
    if (live >= this.opts.quorum) return;
    const why = this.failures.map((f) => `device ${f.devid}: ${describeError(f.error)}`).join('; ');
    const full = this.failures.some((f) => f.error instanceof MogError && f.error.code === ErrorCodes.DEVICE_FULL);
    throw mogError(
      full ? ErrorCodes.DEVICE_FULL : ErrorCodes.QUORUM_LOST,
      `Only ${live} of ${this.legs.length} storage nodes still accept the upload (need ${this.opts.quorum})${why ? `: ${why}` : ''}`,
    );
  }
}
