// IP address helpers for the protocol layer: one canonical spelling per address (so that
// "::ffff:127.0.0.1", "127.0.0.1" and the long and short IPv6 forms compare equal), network
// matching, and the per-network PASV address rules. Node does the parsing: the URL parser reads
// and normalises IPv6 text, and net.BlockList matches addresses against networks.
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

/** A network of one address family (a BlockList alone would also match IPv4 clients to IPv6 rules). */
interface Network {
  family: 'ipv4' | 'ipv6';
  list: BlockList;
}

export interface PasvRule {
  /** Client network this rule applies to; null = every client not matched by another rule. */
  network: Network | null;
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
    rules.push({ network: cidr === null ? null : ruleNetwork(cidr), address });
  }
  return rules;
}

/**
 * The client network of one PASV rule. Its address may be spelt any way canonicalIp reads; a
 * prefix length that is not a whole number within the address's size is taken, as it always was,
 * and matches no client.
 */
function ruleNetwork(cidr: string): Network {
  const [net = '', bitsText] = cidr.split('/');
  const address = canonicalIp(net);
  const family = isIP(address) === 4 ? 'ipv4' : isIP(address) === 6 ? 'ipv6' : null;
  if (!family) throw new RangeError(`${cidr} is not a network (CIDR) like 10.0.0.0/8`);
  const max = family === 'ipv4' ? 32 : 128;
  const bits = bitsText === undefined ? max : Number(bitsText);
  const list = new BlockList();
  if (Number.isInteger(bits) && bits >= 0 && bits <= max) list.addSubnet(address, bits, family);
  return { family, list };
}

/** True when the client's address (any spelling) is of the network's family and inside it. */
function inNetwork(network: Network, clientIp: string): boolean {
  const a = canonicalIp(clientIp);
  const family = isIP(a) === 4 ? 'ipv4' : isIP(a) === 6 ? 'ipv6' : null;
  return family === network.family && network.list.check(a, family);
}

/**
 * The address a PASV reply gives a client: a matching network rule, else loopback clients get the
 * loopback address they reached us on, else the default rule, else the control connection's
 * own local address (right whenever there is no NAT in between). Null when none is IPv4.
 */
export function pasvAddressFor(rules: PasvRule[], clientIp: string, localIp: string | undefined): string | null {
  for (const rule of rules) if (rule.network !== null && inNetwork(rule.network, clientIp)) return rule.address;
  const local = canonicalIp(localIp);
  if (isLoopback(clientIp)) return isIP(local) === 4 && local.startsWith('127.') ? local : '127.0.0.1';
  const fallback = rules.find((r) => r.network === null);
  if (fallback) return fallback.address;
  return isIP(local) === 4 ? local : null;
}
