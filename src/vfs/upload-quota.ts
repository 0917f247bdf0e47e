// An upload's share of its user's quota, grown as the bytes arrive. The size of an FTP STOR is
// not known until its data connection closes, so the upload reserves a first step when it opens
// and grows the reservation before it writes past it: each grow is one short store transaction
// that re-checks the user and the usage (store/quota.ts). Steps double, from FIRST_STEP up to
// an eighth of the quota (at least MAX_STEP_FLOOR), so a 1 GiB upload grows about 15 times, and
// a reservation never holds much more than its upload has written: parallel uploads near the
// limit are not refused for room another one only might use.
//
// A reservation counts for LEASE_MS after its last grow; a grow renews it, and so does the first
// write after half of it has passed. When a front-end dies mid-upload its reservations stop
// counting once their lease ends; the reaper removes the rows later.
import type { QuotaGrant, Quotas } from '../tracker/types.ts';

export const QUOTA_LEASE_MS = 10 * 60 * 1000;
/** The first reservation of an upload whose size is not known. */
export const FIRST_STEP = 64 * 1024;
/** Steps may grow to an eighth of the quota, and at least to this. */
const MAX_STEP_FLOOR = 1024 * 1024;

/** What an upload asks for when it opens: the size when known, else a first step past `offset`. */
export function firstRequest(known: number | undefined, offset: number): { need: number; want: number } {
  if (known !== undefined) return { need: Math.max(known, offset), want: Math.max(known, offset) };
  // One byte must fit: an upload that cannot store anything is refused before it starts.
  return { need: offset + 1, want: offset + FIRST_STEP };
}

export class UploadQuota {
  private granted: number;
  private leaseUntil: number;

  constructor(
    private readonly store: Quotas,
    private readonly fid: number,
    grant: QuotaGrant,
    private readonly quotaBytes: number,
  ) {
    this.granted = grant.granted;
    this.leaseUntil = grant.leaseUntil;
  }

  /** Bytes reserved now. */
  get reserved(): number {
    return this.granted;
  }

  /** Makes sure `total` bytes are covered (and the lease is not half gone); QUOTA_EXCEEDED when they cannot be. */
  async cover(total: number): Promise<void> {
    const now = Date.now();
    if (total <= this.granted && now < this.leaseUntil - QUOTA_LEASE_MS / 2) return;
    const maxStep = Math.max(MAX_STEP_FLOOR, Math.floor(this.quotaBytes / 8));
    const step = Math.min(Math.max(this.granted, FIRST_STEP), maxStep);
    const want = total <= this.granted ? this.granted : Math.max(total, this.granted + step);
    const grant = await this.store.growReservation(this.fid, total, want, QUOTA_LEASE_MS, now);
    this.granted = grant.granted;
    this.leaseUntil = grant.leaseUntil;
  }
}
