// The quota role of the Store (Quotas, src/tracker/store/quota.ts): reservations charged to a
// user, grown and converted at commit; dead properties and lock owners counted; the user's row
// re-read by every charged write.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.ts';
import { ROOT_ID, type QuotaHolder, type QuotaRequest } from '../../src/tracker/types.ts';
import type { Catalog, DavState, Namespace, Uploads, Users } from '../../src/tracker/types.ts';
import { expectCode, SHA_A, suiteStore, type OpenStore } from './suite-store.ts';

const LEASE = 60_000;

export function quotasSuite(name: string, open: OpenStore<Uploads & Users & Catalog & Namespace & DavState>): void {
  describe(`Store quotas: ${name}`, () => {
    const store = suiteStore(open);
    let seq = 0;

    /** A domain, its default class, and a user with `quota` whose home is /home. */
    async function setup(quota: number | null) {
      const n = ++seq;
      const domain = await store.createDomain(`qd${n}`);
      const cls = (await store.getClass(domain.id, 'default'))!;
      const home = await store.mkdir(domain.id, ROOT_ID, 'home', { mtime: 1 });
      const user = await store.createUser({ name: `qu${n}`, passwordHash: 'x', domainId: domain.id, homeDir: '/home', readOnly: false, quotaBytes: quota });
      const holder: QuotaHolder = { userId: user.id, homeId: home.id };
      const reserve = (need: number, want = need, o: Partial<QuotaRequest> & { now?: number } = {}) =>
        store.reserveUpload({
          domainId: domain.id,
          classId: cls.id,
          devids: [],
          now: o.now ?? Date.now(),
          quota: { ...holder, need, want, replacesEntryId: null, leaseMs: LEASE, ...o },
        });
      const commit = (fid: number, name: string, length: number) =>
        store.commitUpload({ fid, parentId: home.id, name, length, checksum: SHA_A, devids: [], mtime: 1 });
      return { domain, cls, home, user, holder, reserve, commit };
    }

    test('a reservation holds its bytes: parallel reservations that cannot all fit are refused, one by one', async () => {
      const s = await setup(1000);
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => s.reserve(900)));
      const ok = results.filter((r) => r.status === 'fulfilled');
      assert.equal(ok.length, 1);
      for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { code: string }).code, ErrorCodes.QUOTA_EXCEEDED);
      const granted = (ok[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof s.reserve>>>).value;
      assert.deepEqual({ ...granted.quota, leaseUntil: 0 }, { userId: s.user.id, quotaBytes: 1000, granted: 900, leaseUntil: 0 });
      assert.equal((await store.quotaUsage(s.holder, Date.now())).reserved, 900);
      // Converted at commit: usage, no reservation.
      await s.commit(granted.fid, 'a', 900);
      const u = await store.quotaUsage(s.holder, Date.now());
      assert.deepEqual([u.files, u.reserved], [900, 0]);
      await expectCode(s.reserve(101), ErrorCodes.QUOTA_EXCEEDED);
      assert.equal((await s.reserve(100)).quota?.granted, 100);
    });

    test('want is granted as far as it fits; growing beyond what is left is refused', async () => {
      const s = await setup(1000);
      const a = await s.reserve(1, 600);
      assert.equal(a.quota?.granted, 600);
      const b = await s.reserve(1, 600);
      assert.equal(b.quota?.granted, 400, 'the rest');
      await expectCode(store.growReservation(b.fid, 401, 800, LEASE, Date.now()), ErrorCodes.QUOTA_EXCEEDED);
      // The older upload may grow past the younger one's share: it has priority.
      assert.equal((await store.growReservation(a.fid, 900, 1000, LEASE, Date.now())).granted, 1000);
      // The younger one cannot commit what it was promised once the older one holds it all.
      await expectCode(s.commit(b.fid, 'b', 300), ErrorCodes.QUOTA_EXCEEDED);
      await s.commit(a.fid, 'a', 950);
      assert.equal((await store.quotaUsage(s.holder, Date.now())).files, 950);
      await store.abortUpload(b.fid);
      assert.equal((await store.quotaUsage(s.holder, Date.now())).reserved, 0);
      await expectCode(store.growReservation(b.fid, 1, 1, LEASE, Date.now()), ErrorCodes.UPLOAD_ABORTED);
    });

    test('the commit re-checks the final size against the quota', async () => {
      const s = await setup(1000);
      const r = await s.reserve(1, 10);
      await expectCode(s.commit(r.fid, 'big', 1001), ErrorCodes.QUOTA_EXCEEDED);
      assert.equal(await store.lookup(s.domain.id, s.home.id, 'big'), null);
      await s.commit(r.fid, 'fits', 1000);
    });

    test('an overwrite is credited the size of the file it replaces, once at a time', async () => {
      const s = await setup(1000);
      const first = await s.reserve(800);
      const old = (await s.commit(first.fid, 'f', 800)).entry;
      // Replacing f with 900 bytes fits (800 are freed); a second overwrite at the same time gets no credit.
      const a = await s.reserve(900, 900, { replacesEntryId: old.id });
      assert.equal(a.quota?.granted, 900);
      await expectCode(s.reserve(150, 150, { replacesEntryId: old.id }), ErrorCodes.QUOTA_EXCEEDED);
      const done = await s.commit(a.fid, 'f', 900);
      assert.equal(done.replacedFid, first.fid);
      assert.deepEqual(await store.quotaUsage(s.holder, Date.now()), { quotaBytes: 1000, files: 900, props: 0, locks: 0, reserved: 0 });
    });

    test('a reservation whose lease ran out stops counting (its front-end died)', async () => {
      const s = await setup(1000);
      const t = Date.now();
      await s.reserve(900, 900, { now: t - 2 * LEASE });
      assert.equal((await store.quotaUsage(s.holder, t)).reserved, 0);
      assert.equal((await s.reserve(900)).quota?.granted, 900);
    });

    test('a user without a quota is charged nothing, but the reservation still re-checks the user', async () => {
      const s = await setup(null);
      const r = await s.reserve(1, 10 ** 12);
      assert.deepEqual([r.quota?.quotaBytes, r.quota?.granted], [null, 0]);
      await store.updateUser(s.user.name, { readOnly: true });
      await expectCode(s.reserve(1), ErrorCodes.PERMISSION_DENIED);
      await expectCode(s.commit(r.fid, 'x', 5), ErrorCodes.PERMISSION_DENIED);
      await store.removeUser(s.user.name);
      await expectCode(s.reserve(1), ErrorCodes.AUTH_FAILED);
      await expectCode(store.growReservation(r.fid, 1, 1, LEASE, Date.now()), ErrorCodes.AUTH_FAILED);
      await store.abortUpload(r.fid);
    });

    test('dead properties count under the home: a patch that adds bytes over the quota is refused whole', async () => {
      const s = await setup(1000);
      const f = await s.commit((await s.reserve(500)).fid, 'f', 500);
      const set = (name: string, value: string) => ({ op: 'set' as const, ns: 'urn:q', name, value });
      await store.patchDavProps(s.domain.id, f.entry.id, [set('a', 'x'.repeat(200))], s.holder);
      await store.patchDavProps(s.domain.id, s.home.id, [set('h', 'y'.repeat(100))], s.holder);
      const u = await store.quotaUsage(s.holder, Date.now());
      assert.equal(u.props, 'urn:q'.length * 2 + 2 + 300);
      await expectCode(store.patchDavProps(s.domain.id, f.entry.id, [set('b', 'z'.repeat(300))], s.holder), ErrorCodes.QUOTA_EXCEEDED);
      assert.deepEqual((await store.davProps(s.domain.id, [f.entry.id])).map((p) => p.name), ['a']);
      // Properties count against uploads too.
      await expectCode(s.reserve(1000 - 500 - u.props + 1), ErrorCodes.QUOTA_EXCEEDED);
      // Shrinking is always allowed, and without a holder nothing is counted (jobs, admin).
      await store.patchDavProps(s.domain.id, f.entry.id, [{ op: 'remove', ns: 'urn:q', name: 'a' }], s.holder);
      await store.patchDavProps(s.domain.id, f.entry.id, [set('c', 'w'.repeat(5000))]);
    });

    test('lock owners count by principal: a lock whose owner goes over the quota is not taken', async () => {
      const s = await setup(1000);
      await s.commit((await s.reserve(900)).fid, 'f', 900);
      const now = Date.now();
      const lock = (path: string, owner: string | null) => ({
        token: `urn:uuid:q${++seq}`, domainId: s.domain.id, path, depth: '0' as const, scope: 'exclusive' as const,
        owner, principal: s.user.name, timeoutMs: 60_000,
      });
      await store.createDavLock(lock('/home/f', 'o'.repeat(60)), now, s.holder);
      assert.equal((await store.quotaUsage(s.holder, now)).locks, 60);
      await expectCode(store.createDavLock(lock('/home/g', 'o'.repeat(41)), now, s.holder), ErrorCodes.QUOTA_EXCEEDED);
      assert.equal((await store.davLocksAt(s.domain.id, '/home/g', { descendants: false, now })).length, 0);
      await store.createDavLock(lock('/home/h', null), now, s.holder);
      // An expired lock no longer counts.
      assert.equal((await store.quotaUsage(s.holder, now + 120_000)).locks, 0);
    });
  });
}
