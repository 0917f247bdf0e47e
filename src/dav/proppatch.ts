// PROPPATCH: dead properties are set and removed in document order, all or nothing, in one
// store transaction. Live properties are protected (403, the rest 424: nothing applied).
import type { DavPropPatch } from '../tracker/types.ts';
import type { DavRequest } from './context.ts';
import { DavError, sendXml, statusLine } from './http.ts';
import { hrefFor } from './paths.ts';
import { PROTECTED } from './props.ts';
import { DAV_NS, XML_DECL, elements, escapeText, isDav, parseXml, propElement, serializeContent } from './xml.ts';

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

  const refused = ops.filter((o) => o.ns === DAV_NS && PROTECTED.has(o.name));
  const statusOf = (o: DavPropPatch) => (refused.length === 0 ? 200 : refused.includes(o) ? 403 : 424);
  if (refused.length === 0) await ctx.store.patchDavProps(ctx.domainId, target.id, ops);

  const byStatus = new Map<number, string[]>();
  const seen = new Set<string>();
  for (const o of ops) {
    const key = `${o.ns}\n${o.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const list = byStatus.get(statusOf(o)) ?? [];
    list.push(propElement(o.ns, o.name));
    byStatus.set(statusOf(o), list);
  }
  let body = `${XML_DECL}<D:multistatus xmlns:D="${DAV_NS}"><D:response><D:href>${escapeText(hrefFor(ctx.path, target.kind === 'dir'))}</D:href>`;
  for (const [status, props] of byStatus) {
    body += `<D:propstat><D:prop>${props.join('')}</D:prop><D:status>${statusLine(status)}</D:status>`;
    if (status === 403) body += '<D:error><D:cannot-modify-protected-property/></D:error>';
    body += '</D:propstat>';
  }
  sendXml(ctx.res, 207, body + '</D:response></D:multistatus>\n');
}
