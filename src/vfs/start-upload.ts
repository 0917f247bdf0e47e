// The start of an upload once the volume has checked the path, the account and the locks: the
// file class is chosen, devices and a fid are reserved (with the user's quota), and for a
// resumed upload the kept prefix of the old version is copied in from its replicas.
import { nearestDirClass } from '../tracker/tracker.ts';
import type { QuotaHolder } from '../tracker/types.ts';
import type { VolumeDeps } from './deps.ts';
import { openDownload } from './download.ts';
import type { NamePlace } from './home.ts';
import { firstRequest, QUOTA_LEASE_MS, UploadQuota } from './upload-quota.ts';
import { Upload, type UploadOptions } from './upload.ts';

interface UploadStart extends Pick<UploadOptions, 'isCancelled' | 'beforeCommit'> {
  domainId: number;
  /** Whose quota the upload is charged to. */
  holder: QuotaHolder;
  /** Bytes of the existing file the new version begins with (REST+STOR, APPE); 0 for a new file. */
  offset: number;
  /** The size when the client declared it (WebDAV PUT, COPY). */
  size?: number;
}

export async function startUpload(deps: VolumeDeps, place: NamePlace, start: UploadStart): Promise<Upload> {
  const { parent, name, existing, dirs } = place;
  const prior = existing?.fid ? await deps.store.getFile(existing.fid) : null;
  // An overwrite (and a resumed upload) keeps the class of the file it replaces: a class set
  // on one file survives clients that save by overwriting. A new name takes the class its
  // directory passes down (admin dir set-class), from the same path walk: no extra query.
  const cls = prior ? await deps.tracker.classById(prior.classId) : await deps.tracker.classForNewFile(start.domainId, nearestDirClass(dirs));
  // The reservation is charged to the user in its own transaction (store/quota.ts): parallel
  // uploads cannot all pass one look at the usage. A known size (WebDAV PUT, COPY) is reserved
  // whole; otherwise the reservation grows as the bytes arrive.
  const reservation = await deps.tracker.reserveUpload(start.domainId, cls, {
    ...start.holder,
    ...firstRequest(start.size, start.offset),
    replacesEntryId: existing?.id ?? null,
    leaseMs: QUOTA_LEASE_MS,
  });
  const grant = reservation.quota;
  const quota = grant?.quotaBytes == null ? undefined : new UploadQuota(deps.store, reservation.fid, grant, grant.quotaBytes);
  const upload = new Upload(deps, reservation, {
    parentId: parent.id,
    name,
    quota,
    isCancelled: start.isCancelled,
    beforeCommit: start.beforeCommit,
  });
  if (start.offset > 0 && prior) {
    try {
      for await (const chunk of openDownload(deps.tracker, deps.client, { ...prior, length: start.offset, checksum: null }))
        await upload.feed(chunk as Buffer);
    } catch (err) {
      await upload.abort();
      throw err;
    }
  }
  return upload;
}
