// The one place where coded errors become FTP replies. RFC 959 codes: 4xx are transient (the
// client may retry), 5xx permanent. Messages are the error's own words, on one line.
import { ErrorCodes, type ErrorCode, MogError, clientMessage } from '../errors.ts';

const CODES: Record<ErrorCode, number> = {
  [ErrorCodes.NOT_FOUND]: 550,
  [ErrorCodes.EXISTS]: 550,
  [ErrorCodes.NOT_EMPTY]: 550,
  [ErrorCodes.INVALID_NAME]: 553,
  [ErrorCodes.INVALID_ARGUMENT]: 501,
  [ErrorCodes.NOT_A_DIRECTORY]: 550,
  [ErrorCodes.IS_A_DIRECTORY]: 550,
  [ErrorCodes.INVALID_MOVE]: 553,
  [ErrorCodes.IN_USE]: 550,
  [ErrorCodes.PERMISSION_DENIED]: 550,
  [ErrorCodes.AUTH_FAILED]: 530,
  [ErrorCodes.QUOTA_EXCEEDED]: 552,
  [ErrorCodes.NO_DEVICES]: 452,
  [ErrorCodes.DEVICE_FULL]: 452,
  [ErrorCodes.QUORUM_LOST]: 451,
  [ErrorCodes.INVALID_OFFSET]: 554,
  [ErrorCodes.UPLOAD_ABORTED]: 426,
  [ErrorCodes.TRANSFER_ABORTED]: 426,
  [ErrorCodes.NODE_UNAVAILABLE]: 451,
  [ErrorCodes.CHECKSUM_MISMATCH]: 426,
  [ErrorCodes.LENGTH_MISMATCH]: 451,
  [ErrorCodes.NO_REPLICAS]: 451,
  [ErrorCodes.DB_UNAVAILABLE]: 451,
  [ErrorCodes.BAD_DB_URL]: 451,
  [ErrorCodes.SCHEMA_TOO_NEW]: 451,
  [ErrorCodes.INTERNAL]: 451,
  [ErrorCodes.LOCKED]: 450,
  [ErrorCodes.BAD_CONFIG]: 451,
};

export interface Reply {
  code: number;
  message: string;
}

export function replyFor(err: unknown): Reply {
  return { code: err instanceof MogError ? CODES[err.code] : 451, message: oneLine(clientMessage(err)) };
}

/** Replies must stay on one line: a CR or LF inside would inject a fake reply. */
export function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 500);
}

/** A path inside 257 replies: double quotes doubled, as RFC 959 asks. */
export function quotePath(path: string): string {
  return `"${oneLine(path).replace(/"/g, '""')}"`;
}
