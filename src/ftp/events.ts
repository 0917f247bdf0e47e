// What an FTP front-end reports to its owner (the daemon's metrics and transfer log): control
// connections opening, closing and logging in, and every finished transfer.

export interface SessionEvent {
  type: 'open' | 'close' | 'login' | 'login-failed';
  session: string;
  ip: string | undefined;
  user?: string;
}

/** A finished transfer, like an xferlog line. */
export interface TransferRecord {
  direction: 'upload' | 'download';
  command: string;
  session: string;
  user: string | undefined;
  ip: string | undefined;
  path: string;
  bytes: number;
  durationMs: number;
  /** aborted: the client (ABOR, a dropped connection) ended it; failed: the server could not. */
  result: 'ok' | 'failed' | 'aborted';
  /** Upload copies stored; null for downloads. */
  replicas: number | null;
  error?: string;
}
