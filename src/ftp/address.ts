// The per-network PASV address rules (--pasv-address-for): which address a PASV/EPSV reply
// names for a client, by the client's network. Address parsing lives in src/addresses.ts.
import { BlockList, isIP } from 'node:net';
import { canonicalIp, isLoopback } from '../addresses.ts';

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
