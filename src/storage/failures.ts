// What our storage node says when it refuses or fails a request: an HTTP status and a JSON body
// {error, message}, `error` being one of the tokens below. The node sends them and the client
// reads them back, so both import them from here. nginx sends no such body: the client must
// still decide by status alone when the token is missing.
import type { ChecksumAlg } from '../checksum.ts';

export const NodeFailure = {
  /** 401: no valid signature (or legacy bearer token). */
  UNAUTHORIZED: 'unauthorized',
  /** 400: a path outside the layout, or one that resolves outside the root or device. */
  BAD_PATH: 'bad_path',
  /** 404: no device directory dev<devid> on this node. */
  UNKNOWN_DEVICE: 'unknown_device',
  /** 404: no such replica (or one still being written). */
  NOT_FOUND: 'not_found',
  /** 400: a bad X-Checksum-Alg or Content-Digest header. */
  BAD_REQUEST: 'bad_request',
  /** 400: a listing query outside after=FID&limit=1..MAX_LIST_LIMIT. */
  BAD_LIST: 'bad_list',
  /** 400: the PUT body's length differs from its Content-Length. */
  LENGTH_MISMATCH: 'length_mismatch',
  /** 422: the PUT body does not match its Content-Digest. */
  CHECKSUM_MISMATCH: 'checksum_mismatch',
  /** 507: no space (or quota) left on the device. */
  DEVICE_FULL: 'device_full',
  /** 500: the device is mounted read-only. */
  READ_ONLY: 'read_only',
  /** 405: the method does not apply to the path (the Allow header says which do). */
  METHOD_NOT_ALLOWED: 'method_not_allowed',
  /** 500: anything else. */
  INTERNAL: 'internal',
} as const;

export type NodeFailureToken = (typeof NodeFailure)[keyof typeof NodeFailure];

/** The body of a failure answer. */
export interface FailureBody {
  error: NodeFailureToken;
  message: string;
}

/** The body of a 201 answer to PUT: what the node stored and the digest it computed. */
export interface PutAnswerBody {
  length: number;
  /** Lower-case hex; null for alg 'none'. */
  checksum: string | null;
  alg: ChecksumAlg;
}
