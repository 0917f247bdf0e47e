// Flag parsing shared by the daemon commands.
import { ErrorCodes, mogError } from '../errors.ts';

/** `HOST:PORT`, `[v6]:PORT` or `:PORT` (all addresses of 127.0.0.1 by default). */
export function parseListen(value: string, defaultHost = '127.0.0.1'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim()) ?? /^()()(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535))
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `Bad listen address "${value}": expected HOST:PORT, e.g. 127.0.0.1:2121`);
  return { host: m[1] || m[2] || defaultHost, port };
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
