// The tracker door's one mapping from mogftp's coded errors to MogileFS error codes (the codes
// MogileFS::Worker::Query answers with, so clients and mogadm print what they know). Commands
// that know better say so themselves with a Refusal (unknown_key, unreg_domain, ...).
import { ErrorCodes, MogError, describeError, type ErrorCode } from '../errors.ts';

/** A request the tracker turns down with a MogileFS error code of its own choosing. */
export class Refusal extends Error {
  constructor(
    readonly code: string,
    message?: string,
  ) {
    super(message ?? code);
    this.name = 'Refusal';
  }
}

const CODES: Record<ErrorCode, string> = {
  [ErrorCodes.NOT_FOUND]: 'not_found',
  [ErrorCodes.EXISTS]: 'key_exists',
  [ErrorCodes.NOT_EMPTY]: 'not_empty',
  [ErrorCodes.INVALID_NAME]: 'bad_params',
  [ErrorCodes.INVALID_ARGUMENT]: 'bad_params',
  [ErrorCodes.NOT_A_DIRECTORY]: 'bad_params',
  [ErrorCodes.IS_A_DIRECTORY]: 'key_exists',
  [ErrorCodes.INVALID_MOVE]: 'bad_params',
  [ErrorCodes.IN_USE]: 'in_use',
  [ErrorCodes.PERMISSION_DENIED]: 'permission_denied',
  [ErrorCodes.AUTH_FAILED]: 'permission_denied',
  [ErrorCodes.QUOTA_EXCEEDED]: 'quota_exceeded',
  [ErrorCodes.NO_DEVICES]: 'no_devices',
  [ErrorCodes.QUORUM_LOST]: 'no_devices',
  [ErrorCodes.INVALID_OFFSET]: 'bad_params',
  [ErrorCodes.UPLOAD_ABORTED]: 'no_temp_file',
  [ErrorCodes.TRANSFER_ABORTED]: 'failure',
  [ErrorCodes.NODE_UNAVAILABLE]: 'size_verify_error',
  [ErrorCodes.DEVICE_FULL]: 'no_devices',
  [ErrorCodes.CHECKSUM_MISMATCH]: 'checksum_mismatch',
  [ErrorCodes.LENGTH_MISMATCH]: 'size_mismatch',
  [ErrorCodes.NO_REPLICAS]: 'no_devices',
  [ErrorCodes.DB_UNAVAILABLE]: 'db',
  [ErrorCodes.BAD_DB_URL]: 'db',
  [ErrorCodes.SCHEMA_TOO_NEW]: 'db',
  [ErrorCodes.INTERNAL]: 'failure',
  [ErrorCodes.BAD_CONFIG]: 'failure',
  [ErrorCodes.LOCKED]: 'locked',
};

/** The MogileFS code and text for a failed command, and whether it is worth a log line. */
export function replyForError(err: unknown): { code: string; text: string; unexpected: boolean } {
  if (err instanceof Refusal) return { code: err.code, text: err.message, unexpected: false };
  if (err instanceof MogError) {
    const unexpected = err.code === ErrorCodes.INTERNAL || err.code === ErrorCodes.DB_UNAVAILABLE;
    // Internal failures carry no detail to the client (addresses, SQL): the log has it.
    return { code: CODES[err.code], text: unexpected ? 'Operation failed' : describeError(err), unexpected };
  }
  return { code: 'failure', text: 'Operation failed', unexpected: true };
}
