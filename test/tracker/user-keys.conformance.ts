// The SSH key part of the Users role (UserKeys): adding, listing, matching and removing a user's
// public keys, the checks every key passes before it is stored, the per-user limit (also under
// concurrent adds) and keys leaving with their user. Keys are real ones made by ssh-keygen;
// the limit tests make their many Ed25519 keys with node:crypto.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes } from '../../src/errors.ts';
import { MAX_KEYS_PER_USER, sshFingerprint } from '../../src/tracker/ssh-keys.ts';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/tracker/store/migrations.ts';
import type { SqlStore } from '../../src/tracker/store/sql-store.ts';
import type { Catalog, Users } from '../../src/tracker/types.ts';
import { sshKeygen, type GeneratedKey } from '../harness/ssh-keygen.ts';
import { catalogFixtures, expectCode, suiteStore, uniq, type OpenStore } from './suite-store.ts';

/** An SSH wire string: uint32 length, then the bytes. */
function sshString(b: Buffer | string): Buffer {
  const data = Buffer.from(b);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

/** A fresh Ed25519 public key's wire blob. */
function ed25519Blob(): Buffer {
  const x = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!;
  return Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.from(x, 'base64url'))]);
}

const asNew = (algorithm: string, key: Buffer, comment = '', now = 1_000) => ({ algorithm, key, comment, fingerprint: sshFingerprint(key), now });
const fromKeygen = (k: GeneratedKey, now = 1_000) => ({ algorithm: k.algorithm, key: k.blob, comment: 'c', fingerprint: k.fingerprint, now });

export function userKeysSuite(name: string, open: OpenStore<Users & Catalog>): void {
  describe(`Store user keys: ${name}`, () => {
    const store = suiteStore(open);
    const { freshDomain } = catalogFixtures(store);
    let dir: string;
    const keys: Record<string, GeneratedKey> = {};
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'mogftp-user-keys-'));
      const made = await Promise.all([
        sshKeygen(dir, 'ed', 'ed25519'),
        sshKeygen(dir, 'ec256', 'ecdsa', { bits: 256 }),
        sshKeygen(dir, 'ec521', 'ecdsa', { bits: 521 }),
        sshKeygen(dir, 'rsa', 'rsa', { bits: 2048 }),
        sshKeygen(dir, 'rsa1024', 'rsa', { bits: 1024 }),
        sshKeygen(dir, 'dsa', 'dsa'),
      ]);
      for (const k of made) keys[k.publicPath.replace(/^.*\/|\.pub$/g, '')] = k;
    });
    after(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    async function freshUser(): Promise<string> {
      const { domainId } = await freshDomain();
      const user = uniq('keyuser');
      await store.createUser({ name: user, passwordHash: 'h', domainId, homeDir: '/', readOnly: false, quotaBytes: null });
      return user;
    }

    test('add, list (oldest first), match, remove', async () => {
      const user = await freshUser();
      const ed = await store.addUserKey(user, { ...fromKeygen(keys.ed!, 2_000), comment: 'laptop key' });
      assert.deepEqual(ed, { userName: user, algorithm: 'ssh-ed25519', key: keys.ed!.blob, comment: 'laptop key', fingerprint: keys.ed!.fingerprint, createdAt: 2_000 });
      await store.addUserKey(user, fromKeygen(keys.rsa!, 1_000));
      await store.addUserKey(user, fromKeygen(keys.ec521!, 3_000));
      const listed = await store.listUserKeys(user);
      assert.deepEqual(listed.map((k) => [k.algorithm, k.fingerprint, k.createdAt]), [
        ['ssh-rsa', keys.rsa!.fingerprint, 1_000],
        ['ssh-ed25519', keys.ed!.fingerprint, 2_000],
        ['ecdsa-sha2-nistp521', keys.ec521!.fingerprint, 3_000],
      ]);
      assert.deepEqual(listed[1], ed);
      assert.ok(listed.every((k) => Buffer.isBuffer(k.key)));

      assert.equal(await store.userKeyMatches(user, 'ssh-ed25519', keys.ed!.blob), true);
      assert.equal(await store.userKeyMatches(user, 'ssh-rsa', keys.rsa!.blob), true);
      assert.equal(await store.userKeyMatches(user, 'rsa-sha2-256', keys.rsa!.blob), true, 'the RSA signature names stand for ssh-rsa');
      assert.equal(await store.userKeyMatches(user, 'rsa-sha2-512', keys.rsa!.blob), true);
      assert.equal(await store.userKeyMatches(user, 'ssh-rsa', keys.ed!.blob), false, 'a key under another type');
      assert.equal(await store.userKeyMatches(user, 'ecdsa-sha2-nistp256', keys.ec256!.blob), false, 'a key the user does not have');
      assert.equal(await store.userKeyMatches(user.toUpperCase(), 'ssh-ed25519', keys.ed!.blob), false, 'names are exact');
      assert.equal(await store.userKeyMatches('nobody-' + user, 'ssh-ed25519', keys.ed!.blob), false);
      assert.equal(await store.userKeyMatches(user, 'ssh-ed25519', Buffer.alloc(0)), false);
      assert.equal(await store.userKeyMatches(user, 'ssh-ed25519', Buffer.alloc(100_000)), false, 'an oversized blob is no match, not an error');

      assert.equal(await store.removeUserKey(user, keys.ed!.fingerprint), true);
      assert.equal(await store.removeUserKey(user, keys.ed!.fingerprint), false);
      assert.equal(await store.userKeyMatches(user, 'ssh-ed25519', keys.ed!.blob), false);
      assert.deepEqual((await store.listUserKeys(user)).map((k) => k.fingerprint), [keys.rsa!.fingerprint, keys.ec521!.fingerprint]);
      assert.equal(await store.removeUserKey('nobody-' + user, keys.rsa!.fingerprint), false);
    });

    test('EXISTS for a key the user has; another user may have the same key; NOT_FOUND for an unknown user', async () => {
      const a = await freshUser();
      const b = await freshUser();
      await store.addUserKey(a, fromKeygen(keys.ec256!));
      await expectCode(store.addUserKey(a, { ...fromKeygen(keys.ec256!), comment: 'again' }), ErrorCodes.EXISTS, /already has the key SHA256:/);
      await store.addUserKey(b, fromKeygen(keys.ec256!));
      assert.equal(await store.userKeyMatches(b, 'ecdsa-sha2-nistp256', keys.ec256!.blob), true);
      assert.equal(await store.removeUserKey(a, keys.ec256!.fingerprint), true);
      assert.equal(await store.userKeyMatches(b, 'ecdsa-sha2-nistp256', keys.ec256!.blob), true, "removing a's key leaves b's");
      await expectCode(store.addUserKey('nobody-' + a, fromKeygen(keys.ed!)), ErrorCodes.NOT_FOUND);
      await expectCode(store.listUserKeys('nobody-' + a), ErrorCodes.NOT_FOUND);
    });

    test('refuses what is not a sound, modern key (INVALID_ARGUMENT) and stores nothing', async () => {
      const user = await freshUser();
      const ed = keys.ed!.blob;
      const bad: Array<[string, ReturnType<typeof asNew>, RegExp]> = [
        ['DSA', fromKeygen(keys.dsa!), /DSA keys \(ssh-dss\) are refused/],
        ['RSA 1024', fromKeygen(keys.rsa1024!), /RSA keys of 1024 bits are refused/],
        ['a fingerprint not the key’s', { ...fromKeygen(keys.ed!), fingerprint: keys.rsa!.fingerprint }, /is not the key's/],
        ['a type not the blob’s', { ...fromKeygen(keys.ed!), algorithm: 'ssh-rsa' }, /says it is "ssh-ed25519"/],
        ['a cut blob', asNew('ssh-ed25519', ed.subarray(0, ed.length - 1)), /cut short/],
        ['bytes after the key', asNew('ssh-ed25519', Buffer.concat([ed, Buffer.from([0])])), /after its last field/],
        ['an empty key', asNew('ssh-ed25519', Buffer.alloc(0)), /required/],
        ['an unknown type', asNew('ssh-foo', Buffer.concat([sshString('ssh-foo'), sshString('x')])), /Unknown key type/],
        ['a certificate type', asNew('ssh-ed25519-cert-v01@openssh.com', ed), /certificates/],
        ['a security key', asNew('sk-ssh-ed25519@openssh.com', ed), /Security-key/],
        ['a control character in the comment', { ...fromKeygen(keys.ed!), comment: 'a\nb' }, /control characters/],
        ['a comment too long', { ...fromKeygen(keys.ed!), comment: 'x'.repeat(1025) }, /at most 1024 bytes/],
        ['a negative time', { ...fromKeygen(keys.ed!), now: -1 }, /Key time/],
      ];
      for (const [what, k, message] of bad) await expectCode(store.addUserKey(user, k), ErrorCodes.INVALID_ARGUMENT, message).catch((err: Error) => assert.fail(`${what}: ${err.message}`));
      assert.deepEqual(await store.listUserKeys(user), []);
    });

    test(`at most ${MAX_KEYS_PER_USER} keys per user, also when two stores add the last ones at once`, async () => {
      // A database of its own, with a second store on it: two front-ends racing for the last place.
      const db = await open();
      try {
        const a = db.store;
        const b = await db.openAnother();
        const { id: domainId } = await a.createDomain('limit');
        await a.createUser({ name: 'many', passwordHash: 'h', domainId, homeDir: '/', readOnly: false, quotaBytes: null });
        for (let i = 0; i < MAX_KEYS_PER_USER - 1; i++) await a.addUserKey('many', asNew('ssh-ed25519', ed25519Blob(), `k${i}`, i));
        const results = await Promise.allSettled([a.addUserKey('many', asNew('ssh-ed25519', ed25519Blob())), b.addUserKey('many', asNew('ssh-ed25519', ed25519Blob()))]);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one of the two last adds succeeds');
        const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        assert.match((refused.reason as Error).message, new RegExp(`already has ${MAX_KEYS_PER_USER} keys`));
        assert.equal((await b.listUserKeys('many')).length, MAX_KEYS_PER_USER);
        await expectCode(a.addUserKey('many', asNew('ssh-ed25519', ed25519Blob())), ErrorCodes.INVALID_ARGUMENT, /remove one first/);
      } finally {
        await db.drop();
      }
    });

    test("removing a user removes the user's keys (no row left behind)", async () => {
      // A database of its own: the rows are counted with a probe step of migrateWith, since no
      // Store method can see the keys of a user that is gone (user ids are not given out again).
      const db = await open();
      try {
        const s = db.store;
        const { id: domainId } = await s.createDomain('keys');
        const base = { passwordHash: 'h', domainId, homeDir: '/', readOnly: false, quotaBytes: null };
        await s.createUser({ name: 'gone', ...base });
        await s.createUser({ name: 'stays', ...base });
        await s.addUserKey('gone', fromKeygen(keys.ed!));
        await s.addUserKey('gone', fromKeygen(keys.rsa!));
        await s.addUserKey('stays', fromKeygen(keys.ed!));
        await s.removeUser('gone');
        const count = 'INSERT INTO settings (`key`, value) SELECT \'key_rows\', COUNT(*) FROM user_keys';
        const probe = { version: LATEST_SCHEMA_VERSION + 1, description: 'count user_keys rows', sqlite: [count], mysql: [count] };
        await (s as unknown as SqlStore).migrateWith([...MIGRATIONS, probe]);
        assert.equal(await s.getSetting('key_rows'), '1', "only the remaining user's key is left");
        await s.createUser({ name: 'gone', ...base });
        assert.deepEqual(await s.listUserKeys('gone'), []);
        assert.equal(await s.userKeyMatches('gone', 'ssh-ed25519', keys.ed!.blob), false);
        assert.equal(await s.userKeyMatches('stays', 'ssh-ed25519', keys.ed!.blob), true);
      } finally {
        await db.drop();
      }
    });
  });
}
