// What an FTP front-end can be configured with beyond host and port, the resolved per-server
// settings our command handlers read (found from the connection, ftp-srv-adapter.ts settingsOf,
// since ftp-srv's command registry is shared by every server in the process), and
// per-connection state.
import type { BlockList, Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { Tracker } from '../tracker/tracker.ts';
import type { PasvRule } from './address.ts';
import type { FtpConn } from './connection.ts';
import type { TransferRecord } from './events.ts';
import type { LoginThrottle } from './limits.ts';

export interface ProtocolOptions {
  /** PEM certificate chain and key files; with both, FTPS is offered (AUTH TLS). */
  tlsCert?: string;
  tlsKey?: string;
  /** Implicit FTPS (TLS from the first byte) on this port of the same host; needs TLS. */
  ftpsPort?: number;
  /** Refuse USER/PASS before AUTH TLS, and data connections without PROT P. */
  requireTls?: boolean;
  /** Refuse a TLS data connection that did not resume the control connection's session. */
  requireTlsSessionReuse?: boolean;
  /** Let PORT/EPRT name an address other than the client's own (FXP); off by default. */
  allowForeignDataAddress?: boolean;
  /**
   * Connections served at once, in total and from one client address (0 = unlimited). Per
   * address defaults to DEFAULTS.maxConnectionsPerAddress; the total to unlimited.
   */
  maxConnections?: number;
  maxConnectionsPerAddress?: number;
  /**
   * Passive listeners one client address may hold at once (0 = unlimited), so that one address
   * cannot take the whole passive range. Default: a tenth of the range, at least 4 (unlimited
   * when the OS picks the ports, as there is no range to run out of).
   */
  maxPassivePerAddress?: number;
  /** Close a control connection whose replies have gone unread this long (backpressure.ts). */
  replyStallTimeoutMs?: number;
  /** Close a control connection after this long without a command (never during a command). */
  idleTimeoutMs?: number;
  /** Abort a data connection that makes no progress for this long. */
  dataTimeoutMs?: number;
  /** After `limit` failed logins from one address within `windowMs`, refuse it for `banMs`. */
  loginThrottle?: { limit: number; windowMs: number; banMs: number };
  /** Expect a PROXY protocol v1/v2 header (HAProxy) on every control connection. */
  proxyProtocol?: boolean;
  /**
   * Peers whose PROXY header is believed: `CIDR,...` (address.ts parseCidrList). Connections
   * from any other peer are refused. Unset with proxyProtocol: loopback only.
   */
  proxyProtocolFrom?: string;
  /** Files up to this many bytes are checked against their checksum before their first byte is sent (default 8 MiB; 0: stream every file, holding back only its last chunk). */
  verifyBeforeSend?: number;
  /** On close, how long running transfers may go on before they are aborted. */
  shutdownGraceMs?: number;
}

export const DEFAULTS = {
  idleTimeoutMs: 300_000,
  dataTimeoutMs: 120_000,
  pasvAcceptTimeoutMs: 60_000,
  loginThrottle: { limit: 10, windowMs: 60_000, banMs: 300_000 },
  maxPassTries: 3,
  shutdownGraceMs: 10_000,
  proxyHeaderTimeoutMs: 5_000,
  /** Generous for a NAT'd office, far from the thousands one client could otherwise open. */
  maxConnectionsPerAddress: 64,
  replyStallTimeoutMs: 60_000,
  /** PROXY headers are believed from these peers when --proxy-protocol-from is not given. */
  proxyProtocolFrom: '127.0.0.0/8,::1',
} as const;

/** The default passive listeners per address for a port range (see maxPassivePerAddress). */
export function defaultPassivePerAddress([min, max]: [number, number]): number {
  if (min === 0 && max === 0) return 0;
  return Math.max(4, Math.floor((max - min + 1) / 10));
}

/** Resolved settings of one server, read by the handlers through `settingsOf(conn)`. */
export interface FtpSettings {
  host: string;
  tracker: Tracker;
  tls: { context: SecureContext } | null;
  requireTls: boolean;
  requireTlsSessionReuse: boolean;
  allowForeignDataAddress: boolean;
  pasvRules: PasvRule[];
  pasvPorts: [number, number];
  idleTimeoutMs: number;
  dataTimeoutMs: number;
  throttle: LoginThrottle;
  proxyProtocol: boolean;
  /** Peers whose PROXY header is believed (only read when proxyProtocol is on). */
  proxyFrom: BlockList;
  /** Passive listeners held per canonical client address, and the cap (0 = none). */
  passiveHeld: Map<string, number>;
  maxPassivePerAddress: number;
  replyStallTimeoutMs: number;
  closing: boolean;
  /** Told of every finished STOR/APPE/STOU/RETR (commands/transfers.ts). */
  onTransfer: ((t: TransferRecord) => void) | undefined;
}

export type HashAlg = 'SHA-256' | 'SHA-1' | 'MD5' | 'CRC32';
export const HASH_ALGS: HashAlg[] = ['SHA-256', 'SHA-1', 'MD5', 'CRC32'];
/** x.class: the file's storage class (RFC 3659 7.5.6 lets a server add facts named x.*). */
export const MLST_FACTS = ['type', 'size', 'modify', 'perm', 'unique', 'UNIX.mode', 'x.class'] as const;

/** Protocol state of one control connection. */
export interface ConnState {
  /** The accepted TCP socket (under any TLS layer). */
  raw: Socket;
  /** The control connection is TLS (AUTH TLS done, or implicit FTPS). */
  tls: boolean;
  pbsz: boolean;
  /** Data channel protection: C(lear) or P(rivate). */
  prot: 'C' | 'P';
  hashAlg: HashAlg;
  mlstFacts: Set<string>;
  passFailures: number;
  /** After EPSV ALL only EPSV may set up data connections (RFC 2428). */
  epsvAll: boolean;
}

/** Kept beside ftp-srv's connection objects, not on them; gone with them. */
const states = new WeakMap<FtpConn, ConnState>();

export function stateOf(conn: FtpConn): ConnState {
  let state = states.get(conn);
  if (state) return state;
  state = {
    raw: conn.commandSocket,
    tls: false,
    pbsz: false,
    prot: 'C',
    hashAlg: 'SHA-256',
    mlstFacts: new Set(MLST_FACTS.map((f) => f.toLowerCase())),
    passFailures: 0,
    epsvAll: false,
  };
  states.set(conn, state);
  return state;
}
