// The one place where coded errors become FTP replies. RFC 959 codes: 4xx are transient (the
// client may retry), 5xx permanent. Messages are the error's own words, on one line.
import { ErrorCodes, type ErrorCode, MogError, describeError } from '../errors.ts';

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

/**
 * Codes whose messages are written for the operator's log (storage node URLs, database detail):
 * the client gets these fixed words instead; the front-end's log keeps the detail.
 */
const UNAVAILABLE = 'Storage temporarily unavailable; try again';
const GENERIC: Partial<Record<ErrorCode, string>> = {
  [ErrorCodes.NODE_UNAVAILABLE]: UNAVAILABLE,
  [ErrorCodes.QUORUM_LOST]: UNAVAILABLE,
  [ErrorCodes.NO_REPLICAS]: UNAVAILABLE,
  [ErrorCodes.LENGTH_MISMATCH]: UNAVAILABLE,
  [ErrorCodes.DEVICE_FULL]: 'Insufficient storage space; try again later',
  [ErrorCodes.DB_UNAVAILABLE]: 'Service temporarily unavailable; try again',
  [ErrorCodes.BAD_DB_URL]: 'Local error in processing; try again later',
  [ErrorCodes.SCHEMA_TOO_NEW]: 'Local error in processing; try again later',
  [ErrorCodes.BAD_CONFIG]: 'Local error in processing; try again later',
  [ErrorCodes.INTERNAL]: 'Local error in processing; try again',
};

/** Whatever slips through with an internal address in it: the address goes, the rest stays. */
function withoutAddresses(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s;,)]+/gi, '(storage)');
}

export function replyFor(err: unknown): Reply {
  if (err instanceof MogError) return { code: CODES[err.code] ?? 451, message: GENERIC[err.code] ?? oneLine(withoutAddresses(describeError(err))) };
  return { code: 451, message: 'Local error in processing; try again' };
}

/** Replies must stay on one line: a CR or LF inside would inject a fake reply. */
export function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 500);
}

/** A path inside 257 replies: double quotes doubled, as RFC 959 asks. */
export function quotePath(path: string): string {
  return `"${oneLine(path).replace(/"/g, '""')}"`;
}
