import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ESCAPED_KEYS_DIR, escapedNames, keyOfNames, placeOfKey } from '../../src/mogilefs/keys.ts';

const key = (s: string | Buffer) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s);

describe('MogileFS keys as paths', () => {
  test('a key with valid components is its own path', () => {
    assert.deepEqual(placeOfKey(key('photos/2006/a.jpg')), { names: ['photos', '2006', 'a.jpg'], escaped: false });
    assert.deepEqual(placeOfKey(key('plain')), { names: ['plain'], escaped: false });
    assert.deepEqual(placeOfKey(key('ünï/cödé')), { names: ['ünï', 'cödé'], escaped: false });
  });

  test('keys that cannot be paths are escaped under one directory', () => {
    const bad = ['', '/lead', 'trail/', 'a//b', 'a/./b', 'a/../b', '..', 'nul\0byte', 'cr\rlf', `${'x'.repeat(256)}/y`, `${ESCAPED_KEYS_DIR}/a`];
    for (const k of bad) {
      const place = placeOfKey(key(k));
      assert.equal(place.escaped, true, JSON.stringify(k));
      assert.equal(place.names[0], ESCAPED_KEYS_DIR);
      assert.ok(place.names.at(-1)!.endsWith('.k'));
      assert.deepEqual(keyOfNames(place.names), key(k), JSON.stringify(k));
    }
    const invalidUtf8 = Buffer.from([0x61, 0xff, 0xfe, 0x62]);
    assert.equal(placeOfKey(invalidUtf8).escaped, true);
    assert.deepEqual(keyOfNames(placeOfKey(invalidUtf8).names), invalidUtf8);
  });

  test('every escaped component is a valid name, and long keys nest without clashing', () => {
    const long = Buffer.alloc(255, 0xff); // MogileFS's longest key, as bytes that are not UTF-8
    const names = escapedNames(long);
    assert.ok(names.length > 2);
    for (const n of names) assert.ok(Buffer.byteLength(n) <= 255 && n.length > 0 && !n.includes('/'));
    assert.deepEqual(keyOfNames(names), long);
    // A key whose escaped text is a prefix of another's: the shorter one's file is not the longer one's directory.
    const a = Buffer.alloc(150, 1); // base64url: exactly 200 characters
    const b = Buffer.concat([a, Buffer.from('more')]);
    const na = escapedNames(a);
    const nb = escapedNames(b);
    assert.equal(na.length, 2);
    assert.notEqual(na[1], nb[1]);
    assert.deepEqual(keyOfNames(na), a);
    assert.deepEqual(keyOfNames(nb), b);
  });

  test('a path outside the escape directory is its key', () => {
    assert.deepEqual(keyOfNames(['photos', 'a.jpg']), key('photos/a.jpg'));
    assert.deepEqual(keyOfNames(escapedNames(key('a'))), key('a'));
  });
});
