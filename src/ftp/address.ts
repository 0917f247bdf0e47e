// IP address helpers for the protocol layer: one canonical spelling per address (so that
// "::ffff:127.0.0.1", "127.0.0.1" and the long and short IPv6 forms compare equal), CIDR
// matching, and the per-network PASV address rules. Replaces ftp-srv's use of the `ip` package.
import { BlockList, isIP } from 'node:net';

/** The canonical text of an address: IPv4 dotted quad, or IPv6 as 8 lower-case hex groups. */
export function canonicalIp(address: string | undefined | null): string {
  if (!address) return '';
  let a = address.trim().toLowerCase();
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  if (isIP(a) === 4) return a;
  const groups = ipv6Groups(a);
  if (!groups) return a;
  // An IPv4-mapped IPv6 address is that IPv4 address.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff)
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  return groups.map((g) => g.toString(16)).join(':');
}

export function sameAddress(a: string | undefined | null, b: string | undefined | null): boolean {
  const ca = canonicalIp(a);
  return ca !== '' && ca === canonicalIp(b);
}

export function isIPv4(address: string): boolean {
  return isIP(canonicalIp(address)) === 4;
}

export function isLoopback(address: string | undefined | null): boolean {
  const a = canonicalIp(address);
  return a.startsWith('127.') || a === '0:0:0:0:0:0:0:1';
}

/** Sixteen-bit groups of an IPv6 address, or null when it is not one. */
function ipv6Groups(text: string): number[] | null {
  if (isIP(text) !== 6) return null;
  let s = text;
  const tail: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const b = dotted[2]!.split('.').map(Number);
    tail.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
    s = dotted[1]!.endsWith('::') ? dotted[1]! : dotted[1]!.slice(0, -1);
  }
  const want = 8 - tail.length;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((p) => parseInt(p, 16)));
  const gap = s.indexOf('::');
  let groups: number[];
  if (gap < 0) groups = parse(s);
  else {
    const head = parse(s.slice(0, gap));
    const rest = parse(s.slice(gap + 2));
    groups = [...head, ...new Array(Math.max(0, want - head.length - rest.length)).fill(0), ...rest];
  }
  groups.push(...tail);
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/** Bytes of an address (4 or 16), for prefix matching. */
function addressBytes(address: string): number[] | null {
  const a = canonicalIp(address);
  if (isIP(a) === 4) return a.split('.').map(Number);
  const g = ipv6Groups(a);
  return g ? g.flatMap((x) => [x >> 8, x & 0xff]) : null;
}

/** True when `address` lies inside `cidr` ("10.0.0.0/8", "fd00::/8", or a bare address). */
export function inCidr(address: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const a = addressBytes(address);
  const n = addressBytes(net ?? '');
  if (!a || !n || a.length !== n.length) return false;
  const bits = bitsText === undefined ? n.length * 8 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > n.length * 8) return false;
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if ((a[byte]! & mask) !== (n[byte]! & mask)) return false;
  }
  return true;
}

/**
 * Parses a comma-separated list of networks and addresses ("10.0.0.0/8,192.0.2.7,fd00::/8")
 * into a BlockList; throws RangeError naming the first entry that is neither. IPv4-mapped IPv6
 * networks are not accepted: write the IPv4 network (inList compares canonical addresses).
 */
export function parseCidrList(spec: string): BlockList {
  const list = new BlockList();
  const entries = spec.split(',').map((p) => p.trim()).filter(Boolean);
  if (entries.length === 0) throw new RangeError('expected at least one network, like 10.0.0.0/8');
  for (const entry of entries) {
    const [net = '', bitsText, extra] = entry.split('/');
    const family = isIP(net);
    const max = family === 4 ? 32 : 128;
    const bits = bitsText === undefined ? max : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
    const mapped = family === 6 && isIP(canonicalIp(net)) === 4;
    if (!family || mapped || extra !== undefined || !(bits >= 0 && bits <= max))
      throw new RangeError(`${entry} is not a network (CIDR, like 10.0.0.0/8 or fd00::/8) or an address`);
    list.addSubnet(net, bits, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

/** True when `address` (any spelling, IPv4-mapped IPv6 included) is in `list`. */
export function inList(list: BlockList, address: string | undefined | null): boolean {
  const a = canonicalIp(address);
  const family = isIP(a);
  if (!family) return false;
  return list.check(a, family === 4 ? 'ipv4' : 'ipv6');
}

export interface PasvRule {
  /** Client network this rule applies to; null = every client not matched by another rule. */
  cidr: string | null;
  address: string;
}

/**
 * Parses `--pasv-address`: a comma-separated list of `CIDR=ADDRESS` rules and at most one plain
 * `ADDRESS` (the default), e.g. `10.0.0.0/8=10.0.0.5,203.0.113.7`.
 */
export function parsePasvRules(spec: string | undefined): PasvRule[] {
  if (!spec) return [];
  const rules: PasvRule[] = [];
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const cidr = eq < 0 ? null : part.slice(0, eq).trim();
    const address = (eq < 0 ? part : part.slice(eq + 1)).trim();
    if (isIP(address) !== 4) throw new RangeError(`PASV address ${address} is not an IPv4 address (PASV replies can only carry IPv4)`);
    if (cidr !== null && !addressBytes(cidr.split('/')[0] ?? '')) throw new RangeError(`${cidr} is not a network (CIDR) like 10.0.0.0/8`);
    rules.push({ cidr, address });
  }
  return rules;
}

/**
 * The address a PASV reply gives a client: a matching network rule, else loopback clients get the
 * loopback address they reached us on, else the default rule, else the control connection's
 * own local address (right whenever there is no NAT in between). Null when none is IPv4.
 */
export function pasvAddressFor(rules: PasvRule[], clientIp: string, localIp: string | undefined): string | null {
  for (const rule of rules) if (rule.cidr !== null && inCidr(clientIp, rule.cidr)) return rule.address;
  const local = canonicalIp(localIp);
  if (isLoopback(clientIp)) return isIP(local) === 4 && local.startsWith('127.') ? local : '127.0.0.1';
  const fallback = rules.find((r) => r.cidr === null);
  if (fallback) return fallback.address;
  return isIP(local) === 4 ? local : null;
}
