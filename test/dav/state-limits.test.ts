// The WebDAV state limits as pure functions: which PROPPATCH operations break a limit and why,
// the lock counts, and the nesting scan that runs before the XML parser.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  lockCountViolation,
  MAX_LOCKS_PER_DOMAIN,
  MAX_LOCKS_PER_RESOURCE,
  MAX_LOCKS_PER_USER,
  MAX_PROP_VALUE_BYTES,
  MAX_PROPS_PER_RESOURCE,
  propLimitViolations,
} from '../../src/dav/state-limits.ts';
import { parseXml, xmlShape } from '../../src/dav/xml.ts';
import { DavError } from '../../src/dav/http.ts';
import type { DavLock, DavProp, DavPropPatch } from '../../src/tracker/types.ts';

const prop = (name: string, value: string): DavProp => ({ entryId: 1, ns: 'urn:t', name, value });
const set = (name: string, value: string): DavPropPatch => ({ op: 'set', ns: 'urn:t', name, value });
const remove = (name: string): DavPropPatch => ({ op: 'remove', ns: 'urn:t', name });

describe('PROPPATCH limits', () => {
  test('a value one byte over the limit is blamed, one at the limit is not', () => {
    const ok = set('a', 'x'.repeat(MAX_PROP_VALUE_BYTES));
    const big = set('b', 'x'.repeat(MAX_PROP_VALUE_BYTES + 1));
    const v = propLimitViolations([], [ok, big]);
    assert.deepEqual([...v.keys()], [big]);
    assert.match(v.get(big)!, /at most 65536 bytes/);
  });

  test('the count is of the resource after the whole patch: removals make room, changes do not add', () => {
    const existing = Array.from({ length: MAX_PROPS_PER_RESOURCE }, (_, i) => prop(`p${i}`, 'v'));
    assert.equal(propLimitViolations(existing, [set('p0', 'changed')]).size, 0);
    const extra = set('new', 'v');
    assert.deepEqual([...propLimitViolations(existing, [set('p0', 'changed'), extra]).keys()], [extra]);
    assert.equal(propLimitViolations(existing, [remove('p1'), extra]).size, 0);
    // A property set and then removed in the same patch does not count.
    assert.equal(propLimitViolations(existing, [extra, remove('new')]).size, 0);
  });

  test('the total bytes of a resource: every surviving set is blamed, removals pass', () => {
    const existing = [prop('a', 'x'.repeat(60_000)), prop('b', 'x'.repeat(60_000)), prop('c', 'x'.repeat(60_000))];
    const d = set('d', 'x'.repeat(60_000));
    const e = set('e', 'x'.repeat(60_000));
    assert.equal(propLimitViolations(existing, [d]).size, 0);
    assert.deepEqual([...propLimitViolations(existing, [d, e]).keys()], [d, e]);
    assert.equal(propLimitViolations(existing, [remove('a'), d, remove('b'), e]).size, 0);
    // Over the limit already (stored before it existed): only removing is allowed.
    const legacy = [prop('old', 'x'.repeat(1024 * 1024))];
    assert.equal(propLimitViolations(legacy, [remove('other')]).size, 0);
    assert.equal(propLimitViolations(legacy, [set('tiny', '1')]).size, 1);
  });
});

describe('lock counts', () => {
  const lock = (path: string, principal: string, i: number): DavLock => ({
    token: `t${i}`,
    domainId: 1,
    path,
    depth: '0',
    scope: 'shared',
    owner: null,
    principal,
    timeoutMs: 1000,
    expiresAt: 0,
  });

  test('per resource, per user, per domain', () => {
    const onOne = Array.from({ length: MAX_LOCKS_PER_RESOURCE }, (_, i) => lock('/a', `u${i}`, i));
    assert.match(lockCountViolation(onOne, '/a', 'x')!, /at most 64 locks/);
    assert.equal(lockCountViolation(onOne, '/b', 'x'), null);
    const byOne = Array.from({ length: MAX_LOCKS_PER_USER }, (_, i) => lock(`/d${i}`, 'alice', i));
    assert.match(lockCountViolation(byOne, '/new', 'alice')!, /at most 1000 locks/);
    assert.equal(lockCountViolation(byOne, '/new', 'bob'), null);
    const all = Array.from({ length: MAX_LOCKS_PER_DOMAIN }, (_, i) => lock(`/d${i}`, `u${i % 100}`, i));
    assert.match(lockCountViolation(all, '/new', 'newcomer')!, /already has 4000 locks/);
  });
});

describe('nesting depth of request bodies', () => {
  test('counts elements, not what only looks like tags', () => {
    assert.deepEqual(xmlShape('<a/>'), { depth: 1, elements: 1 });
    assert.deepEqual(xmlShape('<a><b/></a>'), { depth: 2, elements: 2 });
    assert.deepEqual(xmlShape(`<a x=">"><b y='/>'><c/></b></a>`), { depth: 3, elements: 3 });
    assert.deepEqual(xmlShape('<?xml version="1.0"?><!-- <x><y><z> --><a><![CDATA[<q><r>]]></a>'), { depth: 1, elements: 1 });
    assert.deepEqual(xmlShape('<a>t</a><b><c></c></b>'), { depth: 2, elements: 3 });
  });

  test('100 deep parses, 101 deep is a 400 before the parser runs', () => {
    const doc = (n: number) => '<a>'.repeat(n) + '</a>'.repeat(n);
    assert.equal(parseXml(doc(100)).name, 'a');
    assert.throws(
      () => parseXml(doc(101)),
      (err: unknown) => err instanceof DavError && err.status === 400 && /more than 100 deep/.test(err.message),
    );
    assert.throws(() => parseXml(doc(100_000)), (err: unknown) => err instanceof DavError && err.status === 400);
  });

  test('20 000 elements parse, one more is a 413 before the parser runs', () => {
    const wide = (n: number) => `<r>${'<a/>'.repeat(n - 1)}</r>`;
    assert.equal(parseXml(wide(20_000)).children.length, 19_999);
    assert.throws(
      () => parseXml(wide(20_001)),
      (err: unknown) => err instanceof DavError && err.status === 413 && /more than 20000 elements/.test(err.message),
    );
  });
});
