// Properties of a resource: the live ones computed from the namespace entry (and its file row
// for the ETag), the dead ones stored by PROPPATCH, and the <D:response> that shows them.
import type { DavLock, DavProp } from '../tracker/types.ts';
import type { VolumeStat } from '../vfs/volume.ts';
import { statusLine } from './http.ts';
import { contentTypeFor } from './mime.ts';
import { DAV_NS, escapeAttr, escapeText, propElement } from './xml.ts';

export interface PropName {
  ns: string;
  name: string;
}

export type PropRequest =
  | { kind: 'allprop'; include: PropName[] }
  | { kind: 'propname' }
  | { kind: 'prop'; names: PropName[] };

/** Everything rendering one resource needs, gathered in batches by the caller. */
export interface ResourceView {
  href: string;
  stat: VolumeStat;
  etag: string | null;
  dead: DavProp[];
  /** Active locks that apply to the resource. */
  locks: DavLock[];
  /** For lockdiscovery's lockroot. */
  lockRootHref: (l: DavLock) => string;
  /** Bytes the user may still store (quota-available-bytes), when asked for. */
  available?: number;
}

/** Live properties a client cannot set (PROPPATCH answers 403 for them). */
export const PROTECTED = new Set([
  'getcontentlength',
  'getcontenttype',
  'getetag',
  'getlastmodified',
  'resourcetype',
  'lockdiscovery',
  'supportedlock',
  'quota-available-bytes',
  'quota-used-bytes',
]);

const FILE_LIVE = ['resourcetype', 'getcontentlength', 'getcontenttype', 'getetag', 'getlastmodified', 'supportedlock', 'lockdiscovery'];
const DIR_LIVE = ['resourcetype', 'getlastmodified', 'supportedlock', 'lockdiscovery'];

export function needsDeadProps(r: PropRequest): boolean {
  return r.kind !== 'prop' || r.names.some((n) => !(n.ns === DAV_NS && PROTECTED.has(n.name)));
}

export function needsEtags(r: PropRequest): boolean {
  return r.kind === 'allprop' || (r.kind === 'prop' && r.names.some((n) => n.ns === DAV_NS && n.name === 'getetag'));
}

export function needsLocks(r: PropRequest): boolean {
  return r.kind === 'allprop' || (r.kind === 'prop' && r.names.some((n) => n.ns === DAV_NS && n.name === 'lockdiscovery'));
}

export function needsQuota(r: PropRequest): boolean {
  return r.kind === 'prop' && r.names.some((n) => n.ns === DAV_NS && n.name === 'quota-available-bytes');
}

/** The value of a live property as XML content, or undefined when the resource has none. */
function live(v: ResourceView, name: string): string | undefined {
  const { stat } = v;
  const dir = stat.kind === 'dir';
  switch (name) {
    case 'resourcetype':
      return dir ? '<D:collection/>' : '';
    case 'getcontentlength':
      return dir ? undefined : String(stat.size);
    case 'getcontenttype':
      return dir ? undefined : escapeText(contentTypeFor(stat.name));
    case 'getetag':
      return v.etag === null ? undefined : escapeText(v.etag);
    case 'getlastmodified':
      return stat.mtime.toUTCString();
    case 'supportedlock':
      return SUPPORTED_LOCK;
    case 'lockdiscovery':
      return v.locks.map((l) => activeLock(l, v.lockRootHref(l))).join('');
    case 'quota-available-bytes':
      return dir && v.available !== undefined ? String(v.available) : undefined;
    default:
      return undefined;
  }
}

const SUPPORTED_LOCK =
  '<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>' +
  '<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>';

export function activeLock(l: DavLock, rootHref: string): string {
  const seconds = Math.max(0, Math.round((l.expiresAt - Date.now()) / 1000));
  return (
    '<D:activelock>' +
    `<D:locktype><D:write/></D:locktype><D:lockscope><D:${l.scope}/></D:lockscope>` +
    `<D:depth>${l.depth === 'infinity' ? 'infinity' : '0'}</D:depth>` +
    (l.owner !== null ? `<D:owner>${l.owner}</D:owner>` : '') +
    `<D:timeout>Second-${seconds}</D:timeout>` +
    `<D:locktoken><D:href>${escapeText(l.token)}</D:href></D:locktoken>` +
    `<D:lockroot><D:href>${escapeText(rootHref)}</D:href></D:lockroot>` +
    '</D:activelock>'
  );
}

/** One <D:response> for a PROPFIND. */
export function renderResponse(v: ResourceView, r: PropRequest): string {
  const found: string[] = [];
  const missing: string[] = [];
  const liveNames = v.stat.kind === 'dir' ? DIR_LIVE : FILE_LIVE;
  const deadByKey = new Map(v.dead.map((p) => [`${p.ns}\n${p.name}`, p]));

  const addNamed = (n: PropName) => {
    if (n.ns === DAV_NS && (PROTECTED.has(n.name) || liveNames.includes(n.name))) {
      const value = live(v, n.name);
      if (value === undefined) missing.push(propElement(n.ns, n.name));
      else found.push(propElement(n.ns, n.name, value));
      return;
    }
    const dead = deadByKey.get(`${n.ns}\n${n.name}`);
    if (dead) found.push(deadElement(dead));
    else missing.push(propElement(n.ns, n.name));
  };

  if (r.kind === 'prop') {
    for (const n of r.names) addNamed(n);
  } else if (r.kind === 'propname') {
    for (const name of liveNames) if (live(v, name) !== undefined) found.push(propElement(DAV_NS, name));
    for (const p of v.dead) found.push(propElement(p.ns, p.name));
  } else {
    for (const name of liveNames) {
      const value = live(v, name);
      if (value !== undefined) found.push(propElement(DAV_NS, name, value));
    }
    for (const p of v.dead) found.push(deadElement(p));
    for (const n of r.include) if (!(n.ns === DAV_NS && liveNames.includes(n.name)) && !deadByKey.has(`${n.ns}\n${n.name}`)) addNamed(n);
  }

  let out = `<D:response><D:href>${escapeText(v.href)}</D:href>`;
  if (found.length) out += `<D:propstat><D:prop>${found.join('')}</D:prop><D:status>${statusLine(200)}</D:status></D:propstat>`;
  if (missing.length) out += `<D:propstat><D:prop>${missing.join('')}</D:prop><D:status>${statusLine(404)}</D:status></D:propstat>`;
  return out + '</D:response>';
}

/** A dead property as stored: its content was serialized with its own namespace as the default. */
function deadElement(p: DavProp): string {
  const attrNs = escapeAttr(p.ns);
  return p.value ? `<${p.name} xmlns="${attrNs}">${p.value}</${p.name}>` : `<${p.name} xmlns="${attrNs}"/>`;
}
