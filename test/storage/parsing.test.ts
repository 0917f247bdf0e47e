// The storage node's small parsers: request targets, byte ranges, Content-Digest, usage lines.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { formatContentDigest, parseChecksumAlg, parseContentDigest } from '../../src/storage/digest.ts';
import { parseTarget } from '../../src/storage/node-target.ts';
import { parseRange } from '../../src/storage/range.ts';
import { parseUsage } from '../../src/storage/usage.ts';

describe('parseTarget', () => {
  test('the layout, usage, test writes and layout directories', () => {
    assert.deepEqual(parseTarget('/dev7/0/000/000/0000000123.fid'), { kind: 'fid', devid: 7, rel: '0/000/000/0000000123.fid' });
    assert.deepEqual(parseTarget('/dev2/0/000/148/0000148056.fid?x=1'), { kind: 'fid', devid: 2, rel: '0/000/148/0000148056.fid' });
    assert.deepEqual(parseTarget('/dev7/usage'), { kind: 'usage', devid: 7 });
    assert.deepEqual(parseTarget('/dev7/test-write/test-write-42'), { kind: 'test-write', devid: 7, rel: 'test-write/test-write-42' });
    assert.deepEqual(parseTarget('/dev7/'), { kind: 'dir', devid: 7, rel: '' });
    assert.deepEqual(parseTarget('/dev7/0/000'), { kind: 'dir', devid: 7, rel: '0/000' });
    assert.deepEqual(parseTarget('/dev7/0/000/999/'), { kind: 'dir', devid: 7, rel: '0/000/999' });
  });
  test('everything else is refused', () => {
    for (const t of [
      '',
      '*',
      '/',
      '/dev0/usage',
      '/dev07/usage',
      '/devx/usage',
      '/dev1/../dev1/usage',
      '/dev1/%2e%2e/usage',
      '/dev1//0/000/000/0000000123.fid',
      '/dev1/0/000/000/0000000123.fid/',
      '/dev1/0/000/001/0000000123.fid',
      '/dev1/0/000/000/0000000000.fid',
      '/dev1/test-write/test-write-',
      '/dev1/test-write/other',
      '/dev1/0/000/000/000',
      '/dev1/usage/x',
      'http://host/dev1/usage',
      '/dev1\\usage',
    ]) {
      assert.equal(parseTarget(t), null, t);
    }
  });
});

describe('parseRange', () => {
  test('single ranges, clamped', () => {
    assert.deepEqual(parseRange('bytes=0-0', 10), { kind: 'partial', start: 0, end: 0 });
    assert.deepEqual(parseRange('bytes=3-', 10), { kind: 'partial', start: 3, end: 9 });
    assert.deepEqual(parseRange('bytes=5-100', 10), { kind: 'partial', start: 5, end: 9 });
    assert.deepEqual(parseRange('bytes=-4', 10), { kind: 'partial', start: 6, end: 9 });
    assert.deepEqual(parseRange('bytes=-40', 10), { kind: 'partial', start: 0, end: 9 });
  });
  test('unsatisfiable and ignored ranges', () => {
    assert.deepEqual(parseRange('bytes=10-', 10), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=10-20', 10), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=-0', 10), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange(undefined, 10), { kind: 'full' });
    assert.deepEqual(parseRange('bytes=5-2', 10), { kind: 'full' });
    assert.deepEqual(parseRange('bytes=0-1,3-4', 10), { kind: 'full' });
    assert.deepEqual(parseRange('items=0-1', 10), { kind: 'full' });
  });
});

describe('Content-Digest and X-Checksum-Alg', () => {
  const body = Buffer.from('hello');
  const sha = createHash('sha256').update(body).digest();
  const md5 = createHash('md5').update(body).digest();
  test('round trip and preference for sha-256', () => {
    const header = formatContentDigest('sha256', sha.toString('hex'));
    assert.equal(header, `sha-256=:${sha.toString('base64')}:`);
    assert.deepEqual(parseContentDigest(header), { alg: 'sha256', bytes: sha });
    assert.deepEqual(parseContentDigest(`md5=:${md5.toString('base64')}:, sha-256=:${sha.toString('base64')}:`), { alg: 'sha256', bytes: sha });
    assert.deepEqual(parseContentDigest(`sha-512=:AAAA:, md5=:${md5.toString('base64')}:`), { alg: 'md5', bytes: md5 });
  });
  test('unknown algorithms are ignored, malformed known ones refused', () => {
    assert.equal(parseContentDigest(undefined), null);
    assert.equal(parseContentDigest('sha-512=:AAAA:'), null);
    assert.throws(() => parseContentDigest('sha-256=:AAAA:'), RangeError);
    assert.throws(() => parseContentDigest('sha-256=abc'), RangeError);
  });
  test('X-Checksum-Alg', () => {
    assert.equal(parseChecksumAlg(undefined), 'sha256');
    assert.equal(parseChecksumAlg('MD5'), 'md5');
    assert.equal(parseChecksumAlg('none'), 'none');
    assert.equal(parseChecksumAlg('sha1'), null);
  });
});

describe('parseUsage', () => {
  test('MogileFS usage lines', () => {
    const text = 'available: 100\ndevice: /dev/sda1\ndisk: /var/mogdata/dev1\ntime: 1700000000\ntotal: 300\nuse: 67%\nused: 200\n';
    assert.deepEqual(parseUsage(text), { availableKb: 100, usedKb: 200, totalKb: 300, time: 1_700_000_000_000 });
    assert.equal(parseUsage('<html>not found</html>'), null);
    assert.equal(parseUsage('available: 1\nused: x\ntotal: 3\n'), null);
  });
});
