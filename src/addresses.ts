// IP address helpers every daemon may use (a bottom-level module, so the settings loader and the
// WebDAV door check --proxy-protocol-from without loading FTP code): one canonical spelling per
// address (so that "::ffff:127.0.0.1", "127.0.0.1" and the long and short IPv6 forms compare
// equal), and network matching. Node does the parsing: the URL parser reads and normalises IPv6
// text, and net.BlockList matches addresses against networks.
import { BlockList, isIP } from 'node:net';

/** The canonical text of an address: IPv4 dotted quad, or IPv6 as 8 lower-case hex groups. */
export function canonicalIp(address: string | undefined | null): string {
  if (!address) return '';
  let a = address.trim().toLowerCase();
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const groups = isIP(a) === 6 ? ipv6Groups(a) : null;
  if (!groups) return a;
  // An IPv4-mapped IPv6 address is that IPv4 address.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff)
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  return groups.map((g) => g.toString(16)).join(':');
}

/**
 * The eight 16-bit groups of a valid IPv6 address. The URL parser writes it in one normal form
 * (lower-case hex groups, an embedded IPv4 part as two groups, at most one `::`), so only the
 * zero groups that `::` stands for are left to put back. Null if the URL parser disagrees that it is one.
 */
function ipv6Groups(address: string): number[] | null {
  if (!URL.canParse(`http://[${address}]/`)) return null;
  const normal = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const [head = '', tail] = normal.split('::');
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  if (tail === undefined) return groupsOf(head);
  const before = groupsOf(head);
  const after = groupsOf(tail);
  return [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
}

export function sameAddress(a: string | undefined | null, b: string | undefined | null): boolean {
  const ca = canonicalIp(a);
  return ca !== '' && ca === canonicalIp(b);
}

export function isLoopback(address: string | undefined | null): boolean {
  const a = canonicalIp(address);
  return a.startsWith('127.') || a === '0:0:0:0:0:0:0:1';
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
