// The one place where coded errors become HTTP statuses for WebDAV clients. 5xx tells a
// client to try again later; 4xx that the request itself cannot succeed as it is.
import { clientMessage, ErrorCodes, isMogError, type ErrorCode } from '../errors.ts';
import { DavError } from './http.ts';

// Every code has its status (a Record over the whole union: a new code does not compile until it
// is mapped here), as in the FTP map (src/ftp/replies.ts).
const STATUS: Record<ErrorCode, number> = {
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.EXISTS]: 405,
  [ErrorCodes.NOT_EMPTY]: 409,
  [ErrorCodes.INVALID_NAME]: 400,
  [ErrorCodes.INVALID_ARGUMENT]: 400,
  [ErrorCodes.NOT_A_DIRECTORY]: 409,
  [ErrorCodes.IS_A_DIRECTORY]: 405,
  [ErrorCodes.INVALID_MOVE]: 403,
  [ErrorCodes.IN_USE]: 409,
  [ErrorCodes.PERMISSION_DENIED]: 403,
  [ErrorCodes.AUTH_FAILED]: 401,
  [ErrorCodes.QUOTA_EXCEEDED]: 507,
  [ErrorCodes.NO_DEVICES]: 507,
  [ErrorCodes.DEVICE_FULL]: 507,
  [ErrorCodes.QUORUM_LOST]: 503,
  [ErrorCodes.INVALID_OFFSET]: 416,
  [ErrorCodes.UPLOAD_ABORTED]: 400,
  [ErrorCodes.TRANSFER_ABORTED]: 400,
  [ErrorCodes.NODE_UNAVAILABLE]: 503,
  [ErrorCodes.CHECKSUM_MISMATCH]: 502,
  [ErrorCodes.LENGTH_MISMATCH]: 502,
  [ErrorCodes.NO_REPLICAS]: 503,
  [ErrorCodes.DB_UNAVAILABLE]: 503,
  [ErrorCodes.BAD_DB_URL]: 500,
  [ErrorCodes.SCHEMA_TOO_NEW]: 500,
  [ErrorCodes.INTERNAL]: 500,
  [ErrorCodes.BAD_CONFIG]: 500,
  [ErrorCodes.LOCKED]: 423,
};

/** Any thrown value as a DavError: MogErrors by code, anything unexpected as a 500. */
export function toDavError(err: unknown): DavError {
  if (err instanceof DavError) return err;
  if (isMogError(err)) {
    return new DavError(STATUS[err.code], clientMessage(err));
  }
  return new DavError(500, clientMessage(err));
}

/** Whether the error means the server side failed (logged at warn) rather than the request. */
export function isServerSide(err: DavError): boolean {
  return err.status >= 500;
}
