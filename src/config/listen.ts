// Listen addresses and port ranges as the settings spell them. The settings loader checks values
// with these, the daemons' commands parse their flags with them and the admin endpoint its
// --admin-listen, so one spelling means one thing everywhere.
import { ErrorCodes, mogError } from '../errors.ts';

/** `HOST:PORT`, `[v6]:PORT` or `:PORT` (all addresses of 127.0.0.1 by default). */
export function parseListen(value: string, defaultHost = '127.0.0.1'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim()) ?? /^()()(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535))
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `Bad listen address "${value}": expected HOST:PORT, e.g. 127.0.0.1:2121`);
  return { host: m[1] || m[2] || defaultHost, port };
}

/**
 * A storage node's `--listen`, stricter than parseListen: the host is spelled out (no `:PORT` or
 * bare port quietly meaning 127.0.0.1 on a node that usually serves other machines).
 */
export function parseNodeListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `--listen wants HOST:PORT (e.g. 0.0.0.0:7500 or [::1]:7500), not '${listen}'`);
  }
  return { host: m[1] ?? m[2]!, port };
}

/** `LO-HI` (or a single port; `0` lets the OS choose each passive port). */
export function parsePortRange(value: string): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(value.trim());
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || lo > hi || hi > 65535 || (lo === 0 && hi !== 0))
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `Bad port range "${value}": expected LO-HI, e.g. 30000-30099`);
  return [lo, hi];
}
