// The small parsers behind the WebDAV handlers: the If header, request paths, Timeout, Basic
// credentials, and the XML round trip that stores a property value or a lock owner.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseBasic } from '../../src/dav/auth.ts';
import { DavError } from '../../src/dav/http.ts';
import { parseIfHeader, sameEtag, submittedTokens } from '../../src/dav/if-header.ts';
import { parseTimeout } from '../../src/dav/lock.ts';
import { isOsMetadataName } from '../../src/dav/os-files.ts';
import { hrefFor, parseUrlPath } from '../../src/dav/paths.ts';
import { parsePropfind } from '../../src/dav/propfind.ts';
import { child, parseXml, serializeContent } from '../../src/dav/xml.ts';

describe('If header', () => {
  test('untagged lists, Not, ETags and several lists', () => {
    assert.deepEqual(parseIfHeader('(<opaquelocktoken:a> ["e 1"]) (Not <DAV:no-lock>)'), [
      { resource: null, conditions: [{ not: false, token: 'opaquelocktoken:a' }, { not: false, etag: '"e 1"' }] },
      { resource: null, conditions: [{ not: true, token: 'DAV:no-lock' }] },
    ]);
    assert.deepEqual(parseIfHeader('([W/"x]y"])')[0]!.conditions, [{ not: false, etag: 'W/"x]y"' }]);
    assert.deepEqual(parseIfHeader('(NOT<urn:t>)')[0]!.conditions, [{ not: true, token: 'urn:t' }]);
  });

  test('tagged lists, and several If headers joined with a comma', () => {
    const lists = parseIfHeader('<http://h:1/a/b> (<urn:1>) (<urn:2>), </c/> (<urn:3>)');
    assert.deepEqual(lists.map((l) => [l.resource, l.conditions[0]!.token]), [
      ['http://h:1/a/b', 'urn:1'],
      ['http://h:1/a/b', 'urn:2'],
      ['/c/', 'urn:3'],
    ]);
    assert.deepEqual([...submittedTokens(lists)], ['urn:1', 'urn:2', 'urn:3']);
    assert.deepEqual([...submittedTokens(parseIfHeader('(Not <urn:x>) (<urn:y>)'))], ['urn:y'], 'a negated token is not submitted');
  });

  test('malformed headers are refused', () => {
    for (const bad of ['', '<urn:x>', '(<urn:x>', '()', '(<urn:x>) <http://a/> (<urn:y>)', '(junk)', '(["unterminated)']) {
      assert.throws(() => parseIfHeader(bad), /Malformed If header/, bad);
    }
  });

  test('ETags compare weakly', () => {
    assert.ok(sameEtag('W/"a"', '"a"'));
    assert.ok(!sameEtag('"a"', '"b"'));
  });
});

describe('paths', () => {
  test('request targets decode per segment, fold dot segments, keep the trailing slash', () => {
    assert.deepEqual(parseUrlPath('/a%20b/res-%e2%82%ac?x=1'), { path: '/a b/res-€', trailingSlash: false });
    assert.deepEqual(parseUrlPath('/coll/'), { path: '/coll', trailingSlash: true });
    assert.deepEqual(parseUrlPath('/a/./b/../../../c'), { path: '/c', trailingSlash: false });
    assert.deepEqual(parseUrlPath('http://host:8080/x/y'), { path: '/x/y', trailingSlash: false });
    assert.deepEqual(parseUrlPath('/'), { path: '/', trailingSlash: false });
  });

  test('fragments, bad escapes, encoded slashes and NULs are 400', () => {
    for (const bad of ['/frag/#ment', '/%zz', '/a%2Fb', '/a%00b', 'relative']) {
      assert.throws(() => parseUrlPath(bad), (e: unknown) => e instanceof DavError && e.status === 400, bad);
    }
  });

  test('hrefs encode each segment; collections end with a slash', () => {
    assert.equal(hrefFor('/a b/€#?', false), '/a%20b/%E2%82%AC%23%3F');
    assert.equal(hrefFor('/dir', true), '/dir/');
    assert.equal(hrefFor('/', true), '/');
  });
});

test('Timeout: the first form understood, capped; none means the default', () => {
  assert.equal(parseTimeout('Second-600', 3600_000, 86400_000), 600_000);
  assert.equal(parseTimeout('Infinite, Second-4100000000', 3600_000, 86400_000), 86400_000);
  assert.equal(parseTimeout('Second-99999999', 3600_000, 86400_000), 86400_000);
  assert.equal(parseTimeout('bogus, Second-5', 3600_000, 86400_000), 5000);
  assert.equal(parseTimeout(undefined, 3600_000, 86400_000), 3600_000);
  assert.equal(parseTimeout('Second-0', 3600_000, 86400_000), 1000);
});

test('Basic credentials: user up to the first colon, password may hold colons and UTF-8', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  assert.deepEqual(parseBasic(`Basic ${b64('alice:p:a:ss wörd')}`), { user: 'alice', password: 'p:a:ss wörd' });
  assert.deepEqual(parseBasic(`basic ${b64('bob:')}`), { user: 'bob', password: '' });
  assert.equal(parseBasic(`Basic ${b64('nocolon')}`), null);
  assert.equal(parseBasic(`Bearer abc`), null);
  assert.equal(parseBasic(undefined), null);
});

test('OS metadata names', () => {
  for (const n of ['.DS_Store', '._x.jpg', 'Thumbs.db', 'THUMBS.DB', 'desktop.ini', 'Desktop.ini']) assert.ok(isOsMetadataName(n), n);
  for (const n of ['.DS_Store2', '_x', 'thumbs.db.bak', 'x.ini', '.hidden']) assert.ok(!isOsMetadataName(n), n);
});

describe('XML', () => {
  test('a property value keeps its namespaces when stored as text and read back', () => {
    const el = parseXml(
      `<D:propertyupdate xmlns:D="DAV:" xmlns:t="urn:t"><D:set><D:prop><t:v>a &amp; b<foo xmlns="bar" t:at="1" xml:lang="en"/><plain xmlns="">x</plain><t:inner/></t:v></D:prop></D:set></D:propertyupdate>`,
    );
    const v = child(child(child(el, 'DAV:', 'set')!, 'DAV:', 'prop')!, 'urn:t', 'v')!;
    const stored = serializeContent(v, 'urn:t');
    assert.equal(stored, 'a &amp; b<foo xmlns="bar" xmlns:a0="urn:t" a0:at="1" xml:lang="en"/><plain xmlns="">x</plain><inner/>');
    // Reading it back inside an element of the property's namespace gives the same tree.
    const again = parseXml(`<v xmlns="urn:t">${stored}</v>`);
    assert.deepEqual(again.children, v.children);
  });

  test('bodies that are not well-formed, declare an empty prefix, or carry a DTD are 400', () => {
    for (const bad of ['<foo>', '<D:propfind xmlns:D="DAV:"><D:prop><bar:foo xmlns:bar=""/></D:prop></D:propfind>', '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', '']) {
      assert.throws(() => parseXml(bad), (e: unknown) => e instanceof DavError && e.status === 400, bad);
    }
  });

  test('PROPFIND bodies: prop, allprop with include, propname; unknown siblings ignored', () => {
    assert.deepEqual(parsePropfind('<propfind xmlns="DAV:"><prop><getetag/><x xmlns="urn:x"/></prop></propfind>'), {
      kind: 'prop',
      names: [{ ns: 'DAV:', name: 'getetag' }, { ns: 'urn:x', name: 'x' }],
    });
    assert.deepEqual(parsePropfind('<propfind xmlns="DAV:"><foobar/><allprop/><include><quota-available-bytes/></include></propfind>'), {
      kind: 'allprop',
      include: [{ ns: 'DAV:', name: 'quota-available-bytes' }],
    });
    assert.deepEqual(parsePropfind('<propfind xmlns="DAV:"><propname/></propfind>'), { kind: 'propname' });
    assert.throws(() => parsePropfind('<propfind xmlns="DAV:"/>'), DavError);
    assert.throws(() => parsePropfind('<other xmlns="DAV:"><allprop/></other>'), DavError);
  });
});
