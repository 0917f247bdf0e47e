// The coded error catalogue. Every layer throws MogError with one of these codes; the CLI prints
// the message, and the FTP facade maps the code to a reply in one place (src/ftp/replies.ts).

export const ErrorCodes = {
  NOT_FOUND: 'MOGFTP_ERR_NOT_FOUND',
  EXISTS: 'MOGFTP_ERR_EXISTS',
  NOT_EMPTY: 'MOGFTP_ERR_NOT_EMPTY',
  INVALID_NAME: 'MOGFTP_ERR_INVALID_NAME',
  INVALID_ARGUMENT: 'MOGFTP_ERR_INVALID_ARGUMENT',
  NOT_A_DIRECTORY: 'MOGFTP_ERR_NOT_A_DIRECTORY',
  IS_A_DIRECTORY: 'MOGFTP_ERR_IS_A_DIRECTORY',
  INVALID_MOVE: 'MOGFTP_ERR_INVALID_MOVE',
  IN_USE: 'MOGFTP_ERR_IN_USE',
  PERMISSION_DENIED: 'MOGFTP_ERR_PERMISSION_DENIED',
  AUTH_FAILED: 'MOGFTP_ERR_AUTH_FAILED',
  QUOTA_EXCEEDED: 'MOGFTP_ERR_QUOTA_EXCEEDED',
  NO_DEVICES: 'MOGFTP_ERR_NO_DEVICES',
  QUORUM_LOST: 'MOGFTP_ERR_QUORUM_LOST',
  INVALID_OFFSET: 'MOGFTP_ERR_INVALID_OFFSET',
  /** An upload ended before its commit (client gone, reservation lost): nothing was stored. */
  UPLOAD_ABORTED: 'MOGFTP_ERR_UPLOAD_ABORTED',
  /** A transfer (a download, a listing, or either direction's data connection) ended before it completed. */
  TRANSFER_ABORTED: 'MOGFTP_ERR_TRANSFER_ABORTED',
  NODE_UNAVAILABLE: 'MOGFTP_ERR_NODE_UNAVAILABLE',
  DEVICE_FULL: 'MOGFTP_ERR_DEVICE_FULL',
  CHECKSUM_MISMATCH: 'MOGFTP_ERR_CHECKSUM_MISMATCH',
  LENGTH_MISMATCH: 'MOGFTP_ERR_LENGTH_MISMATCH',
  NO_REPLICAS: 'MOGFTP_ERR_NO_REPLICAS',
  DB_UNAVAILABLE: 'MOGFTP_ERR_DB_UNAVAILABLE',
  BAD_DB_URL: 'MOGFTP_ERR_BAD_DB_URL',
  SCHEMA_TOO_NEW: 'MOGFTP_ERR_SCHEMA_TOO_NEW',
  INTERNAL: 'MOGFTP_ERR_INTERNAL',
  BAD_CONFIG: 'MOGFTP_ERR_BAD_CONFIG',
  /** A WebDAV lock held by someone else stands in the way. */
  LOCKED: 'MOGFTP_ERR_LOCKED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class MogError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MogError';
    this.code = code;
  }
}

export function mogError(code: ErrorCode, message: string, cause?: unknown): MogError {
  return new MogError(code, message, cause === undefined ? undefined : { cause });
}

export function isMogError(err: unknown, code?: ErrorCode): err is MogError {
  return err instanceof MogError && (code === undefined || err.code === code);
}

/** A message fit for a user: a MogError's own words, anything else reduced to its first line. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? String(err);
  return String(err);
}

const STORAGE_UNAVAILABLE = 'Storage temporarily unavailable; try again';
const LOCAL_ERROR = 'Local error in processing; try again later';
/**
 * Codes whose own message is written for the operator's log (a storage node's URL, database
 * detail): every door tells its client these fixed words instead, and logs the detail.
 */
const CLIENT_WORDS: Partial<Record<ErrorCode, string>> = {
  [ErrorCodes.NODE_UNAVAILABLE]: STORAGE_UNAVAILABLE,
  [ErrorCodes.QUORUM_LOST]: STORAGE_UNAVAILABLE,
  [ErrorCodes.NO_REPLICAS]: STORAGE_UNAVAILABLE,
  [ErrorCodes.LENGTH_MISMATCH]: STORAGE_UNAVAILABLE,
  [ErrorCodes.DEVICE_FULL]: 'Insufficient storage space; try again later',
  [ErrorCodes.DB_UNAVAILABLE]: 'Service temporarily unavailable; try again',
  [ErrorCodes.BAD_DB_URL]: LOCAL_ERROR,
  [ErrorCodes.SCHEMA_TOO_NEW]: LOCAL_ERROR,
  [ErrorCodes.BAD_CONFIG]: LOCAL_ERROR,
  [ErrorCodes.INTERNAL]: LOCAL_ERROR,
};

/** What a client of any door may be told about an error: never an internal address. */
export function clientMessage(err: unknown): string {
  if (!(err instanceof MogError)) return LOCAL_ERROR;
  // Whatever else slips through with a URL in it: the address goes, the rest stays.
  return CLIENT_WORDS[err.code] ?? describeError(err).replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s;,)]+/gi, '(storage)');
}
