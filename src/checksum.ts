// The digest a file class asks its replicas to be checked with. It lives here, beside errors.ts
// and log.ts, rather than in tracker/ or storage/: the tracker stores it per class and per file,
// the storage node and client put it on the wire, and storage sits above the tracker while the
// tracker may not import storage, so only a bottom-level module can serve both.
export type ChecksumAlg = 'sha256' | 'md5' | 'none';
