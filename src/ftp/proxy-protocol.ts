// PROXY protocol v1 (text) and v2 (binary), as HAProxy sends it in front of the first byte of
// a proxied connection: it names the real client, which we then use for logs, login throttling,
// connection limits and PORT/PASV address checks. Only read when enabled: anyone could send one.
import type { Socket } from 'node:net';
import { canonicalIp } from '../addresses.ts';

export interface ProxiedAddress {
  sourceAddress: string;
  sourcePort: number;
}

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_MAX = 107;

export type ParseResult =
  | { state: 'more' }
  | { state: 'done'; address: ProxiedAddress | null; consumed: number }
  | { state: 'invalid'; reason: string };

/**
 * Parses a header at the start of `buf`. `address` is null for v2 LOCAL and v1 UNKNOWN (health
 * checks from the proxy itself): the connection's own peer address then stands.
 */
export function parseProxyHeader(buf: Buffer): ParseResult {
  const sigLen = Math.min(buf.length, V2_SIGNATURE.length);
  if (buf.subarray(0, sigLen).equals(V2_SIGNATURE.subarray(0, sigLen))) {
    if (buf.length < 16) return { state: 'more' };
    return parseV2(buf);
  }
  const prefix = Buffer.from('PROXY ');
  const pLen = Math.min(buf.length, prefix.length);
  if (!buf.subarray(0, pLen).equals(prefix.subarray(0, pLen))) return { state: 'invalid', reason: 'no PROXY protocol header' };
  const end = buf.indexOf('\r\n');
  if (end < 0) return buf.length > V1_MAX ? { state: 'invalid', reason: 'PROXY v1 header too long' } : { state: 'more' };
  const parts = buf.subarray(0, end).toString('latin1').split(' ');
  const consumed = end + 2;
  if (parts[1] === 'UNKNOWN') return { state: 'done', address: null, consumed };
  if ((parts[1] !== 'TCP4' && parts[1] !== 'TCP6') || parts.length !== 6) return { state: 'invalid', reason: 'malformed PROXY v1 header' };
  const port = Number(parts[4]);
  if (!Number.isInteger(port) || port < 0 || port > 65535 || canonicalIp(parts[2]) === '') return { state: 'invalid', reason: 'malformed PROXY v1 address' };
  return { state: 'done', address: { sourceAddress: canonicalIp(parts[2]), sourcePort: port }, consumed };
}

function parseV2(buf: Buffer): ParseResult {
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return { state: 'invalid', reason: 'unsupported PROXY protocol version' };
  const len = buf.readUInt16BE(14);
  const consumed = 16 + len;
  if (buf.length < consumed) return { state: 'more' };
  const command = verCmd & 0x0f;
  if (command === 0) return { state: 'done', address: null, consumed }; // LOCAL
  if (command !== 1) return { state: 'invalid', reason: 'unknown PROXY v2 command' };
  const family = buf[13]! >> 4;
  const body = buf.subarray(16, consumed);
  if (family === 1 && body.length >= 12) {
    const ip = [...body.subarray(0, 4)].join('.');
    return { state: 'done', address: { sourceAddress: ip, sourcePort: body.readUInt16BE(8) }, consumed };
  }
  if (family === 2 && body.length >= 36) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(body.readUInt16BE(i).toString(16));
    return { state: 'done', address: { sourceAddress: canonicalIp(groups.join(':')), sourcePort: body.readUInt16BE(32) }, consumed };
  }
  return { state: 'done', address: null, consumed }; // AF_UNSPEC / unix: keep the peer address
}

/**
 * Reads the header from a paused, freshly accepted socket; bytes after it are put back for
 * whoever reads next. Rejects on a missing or malformed header, or after `timeoutMs`.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxiedAddress | null> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err: Error | null, address?: ProxiedAddress | null, rest?: Buffer) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      if (err) return reject(err);
      if (rest && rest.length) socket.unshift(rest);
      resolve(address ?? null);
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const r = parseProxyHeader(buf);
      if (r.state === 'invalid') done(new Error(r.reason));
      else if (r.state === 'done') done(null, r.address, buf.subarray(r.consumed));
      else if (buf.length > 16 + 65535) done(new Error('PROXY header too long'));
    };
    const onClose = () => done(new Error('connection closed before its PROXY header'));
    const timer = setTimeout(() => done(new Error('no PROXY header in time')), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.resume();
  });
}
