// The lifecycle role of the Store (StoreLifecycle): the schema version of a database, migrating
// it (once, by racing stores, from an older schema) and refusing a schema newer than this build.
// Every test works on a database of its own, opened unmigrated.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../src/errors.ts';
import type { Catalog, StoreLifecycle } from '../../src/tracker/types.ts';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/tracker/store/migrations.ts';
import type { SqlStore } from '../../src/tracker/store/sql-store.ts';
import { expectCode, type OpenStore } from './suite-store.ts';

export function lifecycleSuite(name: string, open: OpenStore<StoreLifecycle & Catalog>): void {
  describe(`Store lifecycle: ${name}`, () => {
    test('an empty database has version 0; migrate() creates the schema and is idempotent', async () => {
      const db = await open({ migrate: false });
      const s = db.store;
      try {
        assert.equal(await s.schemaVersion(), 0);
        assert.equal(await s.migrate(), LATEST_SCHEMA_VERSION);
        assert.equal(await s.migrate(), LATEST_SCHEMA_VERSION);
        assert.equal(await s.schemaVersion(), LATEST_SCHEMA_VERSION);
        assert.deepEqual(await s.listDomains(), []);
      } finally {
        await db.drop();
      }
    });

    test('two stores migrating one empty database at once both succeed', async () => {
      const db = await open({ migrate: false });
      const a = db.store;
      const b = await db.openAnother();
      try {
        assert.deepEqual(await Promise.all([a.migrate(), b.migrate()]), [LATEST_SCHEMA_VERSION, LATEST_SCHEMA_VERSION]);
        await a.createDomain('after-race');
        assert.equal((await b.getDomain('after-race'))?.name, 'after-race');
      } finally {
        await db.drop();
      }
    });

    test('upgrades an older schema, keeping data; refuses a newer one with SCHEMA_TOO_NEW', async () => {
      const db = await open({ migrate: false });
      // Staging other schemas takes the SQL store's own migration entry point.
      const s = db.store as SqlStore;
      const next = LATEST_SCHEMA_VERSION + 1;
      const upgrade = {
        version: next,
        description: 'test step',
        sqlite: ["INSERT INTO settings (`key`, value) VALUES ('upgraded', 'yes')"],
        mysql: ["INSERT INTO settings (`key`, value) VALUES ('upgraded', 'yes')"],
      };
      try {
        assert.equal(await s.migrateWith(MIGRATIONS), LATEST_SCHEMA_VERSION);
        const d = await s.createDomain('kept');
        assert.equal(await s.migrateWith([...MIGRATIONS, upgrade]), next);
        assert.equal(await s.schemaVersion(), next);
        assert.equal(await s.getSetting('upgraded'), 'yes');
        assert.deepEqual(await s.getDomain('kept'), d);
        // Idempotent at the new version: the step is not applied twice.
        assert.equal(await s.migrateWith([...MIGRATIONS, upgrade]), next);
        // This build knows only LATEST_SCHEMA_VERSION: it must not touch the newer schema.
        await expectCode(s.migrate(), ErrorCodes.SCHEMA_TOO_NEW, new RegExp(`version ${next}`));
        const other = await db.openAnother();
        await expectCode(other.migrate(), ErrorCodes.SCHEMA_TOO_NEW);
      } finally {
        await db.drop();
      }
    });
  });
}
