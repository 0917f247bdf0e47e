// MogError codes to SFTP status codes, once for the whole door. Version 3 has nine codes, so most
// failures are FAILURE with the error's own words; what a client acts on (no such file, permission
// denied, end of file, unsupported) gets its own code. Messages never carry internal addresses:
// the storage and database failures get fixed sentences.
import { clientMessage, ErrorCodes, isMogError, type ErrorCode } from '../errors.ts';
import { BadMessage, Status, type StatusCode } from './wire.ts';

const CODES: Record<ErrorCode, StatusCode> = {
  [ErrorCodes.NOT_FOUND]: Status.NO_SUCH_FILE,
  [ErrorCodes.EXISTS]: Status.FAILURE,
  [ErrorCodes.NOT_EMPTY]: Status.FAILURE,
  [ErrorCodes.INVALID_NAME]: Status.FAILURE,
  [ErrorCodes.INVALID_ARGUMENT]: Status.FAILURE,
  [ErrorCodes.NOT_A_DIRECTORY]: Status.FAILURE,
  [ErrorCodes.IS_A_DIRECTORY]: Status.FAILURE,
  [ErrorCodes.INVALID_MOVE]: Status.FAILURE,
  [ErrorCodes.IN_USE]: Status.FAILURE,
  [ErrorCodes.PERMISSION_DENIED]: Status.PERMISSION_DENIED,
  [ErrorCodes.AUTH_FAILED]: Status.PERMISSION_DENIED,
  [ErrorCodes.QUOTA_EXCEEDED]: Status.FAILURE,
  [ErrorCodes.NO_DEVICES]: Status.FAILURE,
  [ErrorCodes.QUORUM_LOST]: Status.FAILURE,
  [ErrorCodes.INVALID_OFFSET]: Status.OP_UNSUPPORTED,
  [ErrorCodes.UPLOAD_ABORTED]: Status.FAILURE,
  [ErrorCodes.TRANSFER_ABORTED]: Status.FAILURE,
  [ErrorCodes.NODE_UNAVAILABLE]: Status.FAILURE,
  [ErrorCodes.DEVICE_FULL]: Status.FAILURE,
  [ErrorCodes.CHECKSUM_MISMATCH]: Status.FAILURE,
  [ErrorCodes.LENGTH_MISMATCH]: Status.FAILURE,
  [ErrorCodes.NO_REPLICAS]: Status.FAILURE,
  [ErrorCodes.DB_UNAVAILABLE]: Status.FAILURE,
  [ErrorCodes.BAD_DB_URL]: Status.FAILURE,
  [ErrorCodes.SCHEMA_TOO_NEW]: Status.FAILURE,
  [ErrorCodes.INTERNAL]: Status.FAILURE,
  [ErrorCodes.BAD_CONFIG]: Status.FAILURE,
  [ErrorCodes.LOCKED]: Status.PERMISSION_DENIED,
};

export interface StatusReply {
  code: StatusCode;
  message: string;
  /** Not a MogError or BadMessage: the session logs it with its cause. */
  unexpected: boolean;
}

/** The status a failed request answers with. */
export function statusOf(err: unknown): StatusReply {
  if (err instanceof BadMessage) return { code: Status.BAD_MESSAGE, message: err.message, unexpected: false };
  if (isMogError(err)) return { code: CODES[err.code], message: clientMessage(err), unexpected: false };
  return { code: Status.FAILURE, message: clientMessage(err), unexpected: true };
}
