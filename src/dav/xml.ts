// XML in and out. Request bodies (PROPFIND, PROPPATCH, LOCK) are parsed by @xmldom/xmldom,
// which resolves namespaces and rejects what the Namespaces spec forbids (e.g. xmlns:p=""),
// into a small tree of {ns, name, attrs, children}. Responses are written as strings by the
// callers with the escaping helpers here, so a multistatus can be streamed element by element.
import { DOMParser } from '@xmldom/xmldom';
import { DavError } from './http.ts';
import { MAX_XML_DEPTH, MAX_XML_ELEMENTS } from './state-limits.ts';

export const DAV_NS = 'DAV:';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

export interface XmlAttr {
  ns: string;
  name: string;
  value: string;
}

export interface XmlElement {
  /** Namespace URI, '' for none. */
  ns: string;
  /** Local name. */
  name: string;
  attrs: XmlAttr[];
  children: XmlNode[];
}

export type XmlNode = XmlElement | string;

/** Parses a request body; any malformation is a 400 (RFC 4918 §8.2 asks for it). */
export function parseXml(text: string): XmlElement {
  // Entities from a DTD are never expanded; refusing DTDs outright keeps it that way.
  if (/<!DOCTYPE/i.test(text)) throw new DavError(400, 'Document type declarations are not accepted');
  // Before the parser sees it: xmldom's time grows with the square of the nesting (100 000
  // levels took 3.6 s) and the tree walks below recurse (they overflowed the stack: a 500);
  // it spends tens of microseconds per element, so a 1 MiB body of 200 000 empty elements
  // cost seconds of CPU.
  const shape = xmlShape(text);
  if (shape.depth > MAX_XML_DEPTH) throw new DavError(400, `The request body nests elements more than ${MAX_XML_DEPTH} deep`);
  if (shape.elements > MAX_XML_ELEMENTS) throw new DavError(413, `The request body has more than ${MAX_XML_ELEMENTS} elements`);
  let doc;
  try {
    doc = new DOMParser({
      onError: (level: string, msg: string) => {
        if (level !== 'warning') throw new Error(msg);
      },
    }).parseFromString(text, 'application/xml');
  } catch (err) {
    throw new DavError(400, `The request body is not well-formed XML: ${firstLine(err)}`);
  }
  const root = doc.documentElement;
  if (!root) throw new DavError(400, 'The request body has no root element');
  return toElement(root as unknown as DomNode);
}

/**
 * The deepest element nesting in `text` and its number of elements, found by a scan that skips
 * comments, CDATA, processing instructions and quoted attribute values. It never counts less
 * than a well-formed document holds; on malformed text its answer does not matter (the parser
 * refuses that text anyway).
 */
export function xmlShape(text: string): { depth: number; elements: number } {
  let depth = 0;
  let max = 0;
  let elements = 0;
  let i = 0;
  const skipTo = (end: string, from: number) => {
    const j = text.indexOf(end, from);
    return j < 0 ? text.length : j + end.length;
  };
  while ((i = text.indexOf('<', i)) >= 0) {
    if (text.startsWith('<!--', i)) i = skipTo('-->', i + 4);
    else if (text.startsWith('<![CDATA[', i)) i = skipTo(']]>', i + 9);
    else if (text.startsWith('<?', i) || text.startsWith('<!', i)) i = skipTo('>', i + 2);
    else if (text.startsWith('</', i)) {
      depth--;
      i = skipTo('>', i + 2);
    } else {
      // A start tag: find its '>' outside quoted attribute values; '/>' closes it at once.
      let j = i + 1;
      let quote = '';
      for (; j < text.length; j++) {
        const c = text[j];
        if (quote) {
          if (c === quote) quote = '';
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '>') break;
      }
      elements++;
      max = Math.max(max, depth + 1);
      if (text[j - 1] !== '/') depth++;
      i = j + 1;
    }
  }
  return { depth: max, elements };
}

interface DomNode {
  nodeType: number;
  namespaceURI: string | null;
  localName: string | null;
  nodeName: string;
  nodeValue: string | null;
  attributes?: { length: number; item(i: number): DomNode | null };
  childNodes: { length: number; item(i: number): DomNode | null };
}

function toElement(node: DomNode): XmlElement {
  const attrs: XmlAttr[] = [];
  for (let i = 0; i < (node.attributes?.length ?? 0); i++) {
    const a = node.attributes!.item(i)!;
    if (a.namespaceURI === XMLNS_NS || a.nodeName === 'xmlns') continue;
    attrs.push({ ns: a.namespaceURI ?? '', name: a.localName ?? a.nodeName, value: a.nodeValue ?? '' });
  }
  const children: XmlNode[] = [];
  for (let i = 0; i < node.childNodes.length; i++) {
    const c = node.childNodes.item(i)!;
    if (c.nodeType === 1) children.push(toElement(c));
    else if (c.nodeType === 3 || c.nodeType === 4) {
      const last = children[children.length - 1];
      if (typeof last === 'string') children[children.length - 1] = last + (c.nodeValue ?? '');
      else children.push(c.nodeValue ?? '');
    }
  }
  return { ns: node.namespaceURI ?? '', name: node.localName ?? node.nodeName, attrs, children };
}

export function elements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string');
}

export function child(el: XmlElement, ns: string, name: string): XmlElement | undefined {
  return elements(el).find((c) => c.ns === ns && c.name === name);
}

export function textOf(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}

export function isDav(el: XmlElement, name: string): boolean {
  return el.ns === DAV_NS && el.name === name;
}

/**
 * The element's content as XML text that stands on its own inside an element whose default
 * namespace is `defaultNs`: every child states its namespace where it differs, so a stored
 * property value or lock owner reads back the same in any response.
 */
export function serializeContent(el: XmlElement, defaultNs: string): string {
  return el.children.map((c) => (typeof c === 'string' ? escapeText(c) : serializeElement(c, defaultNs))).join('');
}

function serializeElement(el: XmlElement, scopeNs: string): string {
  let out = `<${el.name}`;
  if (el.ns !== scopeNs) out += ` xmlns="${escapeAttr(el.ns)}"`;
  let n = 0;
  for (const a of el.attrs) {
    if (a.ns === '') out += ` ${a.name}="${escapeAttr(a.value)}"`;
    else if (a.ns === XML_NS) out += ` xml:${a.name}="${escapeAttr(a.value)}"`;
    else {
      const p = `a${n++}`;
      out += ` xmlns:${p}="${escapeAttr(a.ns)}" ${p}:${a.name}="${escapeAttr(a.value)}"`;
    }
  }
  if (el.children.length === 0) return out + '/>';
  return `${out}>${serializeContent(el, el.ns)}</${el.name}>`;
}

/** An element named {ns}name with the given raw XML content (or empty), declaring its namespace. */
export function propElement(ns: string, name: string, content = ''): string {
  if (ns === DAV_NS) return content ? `<D:${name}>${content}</D:${name}>` : `<D:${name}/>`;
  // Never a prefix: a default-namespace declaration is valid even for "no namespace" (xmlns="").
  return content ? `<${name} xmlns="${escapeAttr(ns)}">${content}</${name}>` : `<${name} xmlns="${escapeAttr(ns)}"/>`;
}

export function escapeText(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;')).replace(/\r/g, '&#13;');
}

export function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

export const XML_DECL = '<?xml version="1.0" encoding="utf-8"?>\n';

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/^Reporting \w+ "/, '').split(/["\n]/)[0] ?? msg;
}
