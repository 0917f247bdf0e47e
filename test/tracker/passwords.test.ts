import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { scryptSync } from 'node:crypto';
import { hashPassword, verifyPassword } from '../../src/tracker/passwords.ts';

describe('passwords', () => {
  test('hash has the documented shape and parameters', async () => {
    const h = await hashPassword('s3cret');
    const m = /^scrypt\$16384\$8\$1\$([A-Za-z0-9+/]+=*)\$([A-Za-z0-9+/]+=*)$/.exec(h);
    assert.ok(m, h);
    assert.equal(Buffer.from(m[1]!, 'base64').length, 16);
    assert.equal(Buffer.from(m[2]!, 'base64').length, 32);
    // The stored key really is scrypt(N=16384, r=8, p=1) of the password with that salt.
    const key = scryptSync('s3cret', Buffer.from(m[1]!, 'base64'), 32, { N: 16384, r: 8, p: 1 });
    assert.equal(key.toString('base64'), m[2]);
  });

  test('salts differ, so equal passwords hash differently', async () => {
    const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('same', a), true);
    assert.equal(await verifyPassword('same', b), true);
  });

  test('verifies the right password and rejects wrong ones', async () => {
    const h = await hashPassword('correct horse ✓');
    assert.equal(await verifyPassword('correct horse ✓', h), true);
    assert.equal(await verifyPassword('correct horse', h), false);
    assert.equal(await verifyPassword('Correct horse ✓', h), false);
    assert.equal(await verifyPassword('', h), false);
  });

  test('an empty password still round-trips', async () => {
    const h = await hashPassword('');
    assert.equal(await verifyPassword('', h), true);
    assert.equal(await verifyPassword(' ', h), false);
  });

  test('hashes made with other (valid) parameters still verify', async () => {
    const salt = Buffer.from('0123456789abcdef');
    const key = scryptSync('pw', salt, 64, { N: 1024, r: 4, p: 2 });
    const stored = `scrypt$1024$4$2$${salt.toString('base64')}$${key.toString('base64')}`;
    assert.equal(await verifyPassword('pw', stored), true);
    assert.equal(await verifyPassword('pX', stored), false);
  });

  test('malformed stored strings give false, never a throw', async () => {
    const good = await hashPassword('pw');
    const [, n, r, p, salt, hash] = good.split('$');
    const bad = [
      '',
      'pw',
      'plain:pw',
      good.replace(/^scrypt/, 'bcrypt'),
      `scrypt$${n}$${r}$${p}$${salt}`, // too few fields
      `${good}$extra`, // too many fields
      `scrypt$1000$${r}$${p}$${salt}$${hash}`, // N not a power of two
      `scrypt$0$${r}$${p}$${salt}$${hash}`,
      `scrypt$-16384$${r}$${p}$${salt}$${hash}`,
      `scrypt$abc$${r}$${p}$${salt}$${hash}`,
      `scrypt$1073741824$${r}$${p}$${salt}$${hash}`, // would need terabytes: refused, not attempted
      `scrypt$${n}$0$${p}$${salt}$${hash}`,
      `scrypt$${n}$${r}$999$${salt}$${hash}`,
      `scrypt$${n}$${r}$${p}$$${hash}`, // empty salt
      `scrypt$${n}$${r}$${p}$${salt}$`, // empty hash
      `scrypt$${n}$${r}$${p}$not base64!$${hash}`,
      `scrypt$${n}$${r}$${p}$${salt}$AAAA`, // 3-byte key: too short to mean anything
    ];
    for (const stored of bad) {
      assert.equal(await verifyPassword('pw', stored), false, stored);
    }
    assert.equal(await verifyPassword('pw', null as unknown as string), false);
    assert.equal(await verifyPassword('pw', good), true); // the pieces were right all along
  });
});
