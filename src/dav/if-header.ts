// The WebDAV If header (RFC 4918 §10.4): lists of conditions on lock tokens and ETags, each list
// optionally tagged with the resource it is about. Parsing only; locks.ts evaluates.

export interface IfCondition {
  not: boolean;
  /** A state token (lock token URI, or DAV:no-lock which no lock ever has). */
  token?: string;
  /** An entity tag as written, quotes included. */
  etag?: string;
}

export interface IfList {
  /** The tagged resource's URI, or null for the request URI. */
  resource: string | null;
  conditions: IfCondition[];
}

export class IfHeaderError extends Error {}

export function parseIfHeader(value: string): IfList[] {
  const lists: IfList[] = [];
  let i = 0;
  let tag: string | null = null;
  let tagged: boolean | null = null;
  const skip = () => {
    // Several If headers arrive joined with ", ".
    while (i < value.length && /[\s,]/.test(value[i]!)) i++;
  };
  const fail = (why: string): never => {
    throw new IfHeaderError(`Malformed If header (${why})`);
  };
  const until = (close: string) => {
    const end = value.indexOf(close, i);
    if (end < 0) fail(`missing "${close}"`);
    const s = value.slice(i, end);
    i = end + 1;
    return s;
  };
  for (skip(); i < value.length; skip()) {
    const c = value[i];
    if (c === '<') {
      if (tagged === false) fail('tagged and untagged lists mixed');
      tagged = true;
      i++;
      tag = until('>').trim();
      skip();
      if (value[i] !== '(') fail('a resource tag must be followed by a list');
      continue;
    }
    if (c !== '(') fail(`unexpected "${c}"`);
    if (tagged === null) tagged = false;
    i++;
    const conditions: IfCondition[] = [];
    for (;;) {
      while (i < value.length && /\s/.test(value[i]!)) i++;
      if (i >= value.length) fail('unterminated list');
      if (value[i] === ')') {
        i++;
        break;
      }
      let not = false;
      if (value.slice(i, i + 3).toLowerCase() === 'not') {
        not = true;
        i += 3;
        while (i < value.length && /\s/.test(value[i]!)) i++;
      }
      if (value[i] === '<') {
        i++;
        const token = until('>').trim();
        if (!token) fail('empty state token');
        conditions.push({ not, token });
      } else if (value[i] === '[') {
        i++;
        conditions.push({ not, etag: readEtag() });
      } else {
        fail('expected a state token or an entity tag');
      }
    }
    if (conditions.length === 0) fail('empty list');
    lists.push({ resource: tagged ? tag : null, conditions });
  }
  if (lists.length === 0) fail('no lists');
  return lists;

  function readEtag(): string {
    const start = i;
    if (value.startsWith('W/', i)) i += 2;
    if (value[i] === '"') {
      const close = value.indexOf('"', i + 1);
      if (close < 0) fail('unterminated entity tag');
      i = close + 1;
      const etag = value.slice(start, i);
      while (i < value.length && /\s/.test(value[i]!)) i++;
      if (value[i] !== ']') fail('missing "]"');
      i++;
      return etag;
    }
    return until(']').trim();
  }
}

/** Tokens the client submitted (RFC 4918 §6.5): every state token it names positively. */
export function submittedTokens(lists: IfList[]): Set<string> {
  const out = new Set<string>();
  for (const l of lists) for (const c of l.conditions) if (c.token && !c.not) out.add(c.token);
  return out;
}

/** Weak comparison: W/"x" matches "x" (an If header states what the client saw). */
export function sameEtag(a: string, b: string): boolean {
  return a.replace(/^W\//, '') === b.replace(/^W\//, '');
}
