// PROPPATCH: dead properties are set and removed in document order, all or nothing, in one
// store transaction. Live properties are protected (403, the rest 424: nothing applied); a
// property over the size or count limits (state-limits.ts) gets 507, as RFC 4918 §9.2.1 has it
// for "not enough space to record the property", with a D:responsedescription saying which.
import type { DavPropPatch } from '../tracker/types.ts';
import type { DavRequest } from './context.ts';
import { DavError, sendXml, statusLine } from './http.ts';
import { hrefFor } from './paths.ts';
import { PROTECTED } from './props.ts';
import { MAX_PROPS_PER_RESOURCE, propLimitViolations } from './state-limits.ts';
import { DAV_NS, XML_DECL, elements, escapeText, isDav, parseXml, propElement, serializeContent } from './xml.ts';

const MAX_PATCH_OPS = 2 * MAX_PROPS_PER_RESOURCE;

export async function proppatch(ctx: DavRequest): Promise<void> {
  ctx.assertWritable();
  const target = await ctx.stat(ctx.path);
  await ctx.checkIf();
  await ctx.assertUnlocked([{ path: ctx.path }]);
  const root = parseXml(await ctx.body());
  if (!isDav(root, 'propertyupdate')) throw new DavError(400, 'The body of a PROPPATCH must be a DAV:propertyupdate element');

  const ops: DavPropPatch[] = [];
  for (const action of elements(root)) {
    const set = isDav(action, 'set');
    if (!set && !isDav(action, 'remove')) continue;
    for (const prop of elements(action).filter((e) => isDav(e, 'prop'))) {
      for (const p of elements(prop)) {
        ops.push(set ? { op: 'set', ns: p.ns, name: p.name, value: serializeContent(p, p.ns) } : { op: 'remove', ns: p.ns, name: p.name });
      }
    }
  }
  if (ops.length === 0) throw new DavError(400, 'A DAV:propertyupdate must set or remove at least one property');
  // Removing every property a resource may have and setting as many again is the most a patch
  // needs; more is a flood of statements in one transaction.
  if (ops.length > MAX_PATCH_OPS) throw new DavError(413, `A PROPPATCH may set or remove at most ${MAX_PATCH_OPS} properties`);

  const refused = new Map<DavPropPatch, { status: number; why?: string }>();
  for (const o of ops) if (o.ns === DAV_NS && PROTECTED.has(o.name)) refused.set(o, { status: 403 });
  if (refused.size === 0) {
    const existing = await ctx.store.davProps(ctx.domainId, [target.id]);
    for (const [o, why] of propLimitViolations(existing, ops)) refused.set(o, { status: 507, why });
  }
  if (refused.size === 0) await ctx.store.patchDavProps(ctx.domainId, target.id, ops, ctx.volume.quotaHolder); // over quota: 507

  // One propstat per status (and per reason, for 507), each property named once.
  const groups = new Map<string, { status: number; why?: string; props: string[] }>();
  const seen = new Set<string>();
  // A property named twice is listed once, with the refusal of whichever of its operations was refused.
  const refusedByKey = new Map([...refused].map(([o, r]) => [`${o.ns}\n${o.name}`, r]));
  for (const o of ops) {
    const key = `${o.ns}\n${o.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const r = refusedByKey.get(key) ?? { status: refused.size === 0 ? 200 : 424 };
    const gk = `${r.status} ${r.why ?? ''}`;
    const g = groups.get(gk) ?? { ...r, props: [] };
    g.props.push(propElement(o.ns, o.name));
    groups.set(gk, g);
  }
  let body = `${XML_DECL}<D:multistatus xmlns:D="${DAV_NS}"><D:response><D:href>${escapeText(hrefFor(ctx.path, target.kind === 'dir'))}</D:href>`;
  for (const g of groups.values()) {
    body += `<D:propstat><D:prop>${g.props.join('')}</D:prop><D:status>${statusLine(g.status)}</D:status>`;
    if (g.status === 403) body += '<D:error><D:cannot-modify-protected-property/></D:error>';
    if (g.why) body += `<D:responsedescription>${escapeText(g.why)}</D:responsedescription>`;
    body += '</D:propstat>';
  }
  sendXml(ctx.res, 207, body + '</D:response></D:multistatus>\n');
}

