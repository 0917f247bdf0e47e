// An upload as a Writable the protocol adapter pipes client bytes into. Bytes fan out to every
// reserved device while the class's checksum is computed; `_final` (which gates the protocol's
// success reply) verifies each node's length and checksum and commits the metadata in one
// transaction. Hash once: when the class needs two or more copies and every target node is known
// to report the digest of what it received (fanout.ts learns which do), the front-end computes
// none itself; the copies must then all report one digest, which is recorded (two nodes that hashed
// the same bytes, received over separate connections, are the check the front-end's hash was). Anything else — an error, abort(), destroy() — commits nothing and queues the
// reservation's partial replicas for deletion.
import { createHash, type Hash } from 'node:crypto';
import { Writable } from 'node:stream';
import { describeError, ErrorCodes, MogError, mogError } from '../errors.ts';
import { FanoutWriter, allReportDigests, type FanoutSuccess } from '../storage/fanout.ts';
import type { StorageClient } from '../storage/client.ts';
import { replicaUrl } from '../storage/layout.ts';
import type { ReplicaLocation, Tracker, UploadReservation } from '../tracker/tracker.ts';
import type { CommitResult, Queues, Uploads } from '../tracker/types.ts';
import { releaseLater } from './abort-retry.ts';
import { defaultVfsLog } from './download.ts';
import type { UploadQuota } from './upload-quota.ts';

/** The store roles an upload commits or releases through, the tracker it reports failing devices to, the nodes' client. */
interface UploadDeps {
  store: Pick<Uploads, 'abortUpload' | 'commitUpload'> & Pick<Queues, 'enqueue'>;
  tracker: Pick<Tracker, 'reportDeviceFailure'>;
  client: StorageClient;
}

export interface UploadOptions {
  parentId: number;
  name: string;
  /** The user's quota reservation: grown before bytes beyond it are written (upload-quota.ts). */
  quota?: UploadQuota;
  /** Asked just before the commit: true when the client went away and must not get a file. */
  isCancelled?: () => boolean;
  /** Asked just before the commit, after the bytes are stored; a throw aborts the upload (a WebDAV lock taken meanwhile). */
  beforeCommit?: () => Promise<void>;
}

export class Upload extends Writable {
  private readonly store: UploadDeps['store'];
  private readonly fanout: FanoutWriter;
  private readonly hash: Hash | null;
  /** The nodes' digests are the check: the front-end hashes nothing (see the top of this file). */
  private readonly nodesHash: boolean;
  private bytes = 0;
  private state: 'open' | 'committing' | 'committed' | 'aborted' = 'open';
  private abortion: Promise<void> | null = null;
  commitResult: CommitResult | null = null;
  /** How many verified replicas the committed version has. */
  storedReplicas = 0;

  constructor(
    deps: UploadDeps,
    readonly reservation: UploadReservation,
    private readonly opts: UploadOptions,
  ) {
    super({ highWaterMark: 256 * 1024 });
    this.store = deps.store;
    const alg = reservation.cls.checksum;
    const target = (t: ReplicaLocation) => ({ devid: t.devid, url: replicaUrl(t, reservation.fid) });
    const targets = reservation.targets.map(target);
    this.nodesHash = alg !== 'none' && reservation.cls.writeQuorum >= 2 && allReportDigests(deps.client, targets);
    this.hash = alg === 'none' || this.nodesHash ? null : createHash(alg);
    this.fanout = new FanoutWriter(targets, deps.client, {
      quorum: reservation.cls.writeQuorum,
      checksumAlg: alg,
      spares: reservation.spares.map(target),
      onFailure: (devid) => deps.tracker.reportDeviceFailure(devid),
    });
  }

  /** Who computes the checksum recorded for this upload: this process, or the nodes (hash once). */
  get hashedBy(): 'front-end' | 'nodes' {
    return this.nodesHash ? 'nodes' : 'front-end';
  }

  get fid(): number {
    return this.reservation.fid;
  }

  get bytesWritten(): number {
    return this.bytes;
  }

  /** Feeds bytes that do not come from the client (the kept prefix of a resumed upload). */
  async feed(chunk: Buffer): Promise<void> {
    await this.accept(chunk);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.accept(chunk).then(() => cb(), (err) => cb(err));
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.commit().then(
      () => cb(),
      (err) => cb(err),
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.state === 'committed') return cb(err);
    this.abort().then(
      () => cb(err),
      () => cb(err),
    );
  }

  /** Abandons the upload: nothing becomes visible and the partial replicas are queued for deletion. */
  abort(): Promise<void> {
    if (this.state === 'committed') return Promise.resolve();
    if (!this.abortion) {
      this.state = 'aborted';
      this.fanout.destroy();
      this.abortion = this.store.abortUpload(this.fid).catch((err: unknown) => {
        // The database is unreachable: released in the background when it answers again.
        releaseLater(this.store, this.fid, err, defaultVfsLog());
      });
    }
    return this.abortion;
  }

  private async accept(chunk: Buffer): Promise<void> {
    if (this.state !== 'open') throw mogError(ErrorCodes.UPLOAD_ABORTED, 'Upload aborted');
    if (this.opts.quota) {
      try {
        await this.opts.quota.cover(this.bytes + chunk.length);
      } catch (err) {
        await this.abort();
        throw err;
      }
      if (this.state !== 'open') throw mogError(ErrorCodes.UPLOAD_ABORTED, 'Upload aborted');
    }
    this.bytes += chunk.length;
    this.hash?.update(chunk);
    try {
      await this.fanout.write(chunk);
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  private async commit(): Promise<void> {
    if (this.state !== 'open') throw mogError(ErrorCodes.UPLOAD_ABORTED, 'Upload aborted');
    this.state = 'committing';
    const { cls } = this.reservation;
    let checksum = this.hash ? this.hash.digest('hex') : null;
    try {
      const stored = await this.fanout.end();
      if (this.nodesHash) checksum = this.agreedDigest(stored);
      const good = stored.filter((s) => this.verified(s, checksum));
      if (good.length < cls.writeQuorum) {
        throw mogError(
          ErrorCodes.QUORUM_LOST,
          `Only ${good.length} of ${this.reservation.targets.length} replicas were stored intact (need ${cls.writeQuorum})`,
        );
      }
      if (this.opts.isCancelled?.()) throw mogError(ErrorCodes.UPLOAD_ABORTED, 'The client went away before the upload completed');
      await this.opts.beforeCommit?.();
      const goodIds = good.map((g) => g.devid);
      this.commitResult = await this.store.commitUpload({
        fid: this.fid,
        parentId: this.opts.parentId,
        name: this.opts.name,
        length: this.bytes,
        checksum,
        devids: goodIds,
        mtime: Date.now(),
      });
      this.state = 'committed';
      this.storedReplicas = goodIds.length;
      const leftovers = this.fanout.attempted.filter((d) => !goodIds.includes(d));
      if (leftovers.length) {
        // Devices that failed mid-way may hold a partial copy; the delete job removes only those.
        await this.store.enqueue('delete', this.fid, { devids: leftovers, now: Date.now() }).catch((err) =>
          // The file is committed; the partial copies stay on their devices, using space: say so.
          defaultVfsLog()('warn', 'partial copies of a committed upload not queued for deletion', { fid: this.fid, devids: leftovers, error: describeError(err) }),
        );
      }
    } catch (err) {
      this.state = 'open';
      await this.abort();
      throw err instanceof MogError ? err : mogError(ErrorCodes.INTERNAL, `Upload failed: ${String(err)}`, err);
    }
  }

  /** The one digest the copies of the right length report; QUORUM_LOST when they differ or fewer than two report one. */
  private agreedDigest(stored: FanoutSuccess[]): string {
    const reported = stored.filter((s) => s.result.length === this.bytes && s.result.checksum !== null);
    const digests = new Set(reported.map((s) => s.result.checksum!));
    if (digests.size > 1) {
      const each = reported.map((s) => `device ${s.devid}: ${s.result.checksum}`).join(', ');
      throw mogError(ErrorCodes.QUORUM_LOST, `The replicas of fid ${this.fid} disagree on the ${this.reservation.cls.checksum} of the upload (${each}): nothing was stored`);
    }
    if (reported.length < 2) {
      throw mogError(ErrorCodes.QUORUM_LOST, `Only ${reported.length} of ${this.reservation.targets.length} replicas reported a checksum, and the upload was not hashed here: it cannot be verified`);
    }
    return [...digests][0]!;
  }

  private verified(s: FanoutSuccess, checksum: string | null): boolean {
    if (s.result.length !== this.bytes) return false;
    // Nodes that do not report a checksum (nginx) are trusted on length; fsck checks them later.
    return s.result.checksum === null || checksum === null || s.result.checksum === checksum;
  }
}
