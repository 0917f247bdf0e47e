// The Store, written once over the Driver seam (driver.ts): every operation is a generator of
// SQL statements that the SQLite driver runs inside BEGIN IMMEDIATE and the MySQL driver runs
// on one pooled connection inside BEGIN/COMMIT (retried whole on deadlock).
//
// Each role of the Store (../types.ts) is implemented by a class of its own module: catalog.ts,
// replicas.ts, namespace.ts, uploads.ts, queues.ts, users.ts, dav.ts, repair.ts and import.ts. This module
// adds the lifecycle (migrations, schema version, close) and puts the roles together into one
// Store; sqlite.ts and mysql.ts open the database and make the driver.
import { mogError, ErrorCodes } from '../../errors.ts';
import type { Catalog, DavState, Import, Namespace, Queues, Replicas, Repair, Store, StoreLifecycle, Uploads, Users } from '../types.ts';
import { SqlCatalog } from './catalog.ts';
import { SqlDavState } from './dav.ts';
import { SqlImport } from './import.ts';
import type { Driver } from './driver.ts';
import { runMigrations, schemaVersionWork } from './migrations.ts';
import { SqlNamespace } from './namespace.ts';
import { SqlQueues } from './queues.ts';
import { SqlReplicas } from './replicas.ts';
import { SqlRepair } from './repair.ts';
import type { Migration } from './schema/migration.ts';
import { SqlUploads } from './uploads.ts';
import { SqlUsers } from './users.ts';

/** The SQL store: every role, and migrations along a given list (tests stage older and newer schemas). */
export interface SqlStore extends Store {
  migrateWith(migrations: readonly Migration[]): Promise<number>;
}

class SqlLifecycle implements StoreLifecycle {
  readonly kind: 'sqlite' | 'mysql';

  constructor(private readonly driver: Driver) {
    this.kind = driver.kind;
  }

  async migrate(): Promise<number> {
    return runMigrations(this.driver);
  }

  /** Migrates along a given list of steps (tests use it to stage older and newer schemas). */
  async migrateWith(migrations: readonly Migration[]): Promise<number> {
    return runMigrations(this.driver, migrations);
  }

  async schemaVersion(): Promise<number> {
    return this.driver.read(() => schemaVersionWork(this.kind));
  }

  async close(): Promise<void> {
    return this.driver.close();
  }
}

/** The store on an opened driver (sqlite.ts and mysql.ts make the drivers). */
export function createSqlStore(driver: Driver): SqlStore {
  const lifecycle = new SqlLifecycle(driver);
  // One object per role, each typed by its role: a role left out here does not compile.
  const roles: [Catalog, Replicas, Namespace, Uploads, Queues, Users, DavState, Repair, Import] = [
    new SqlCatalog(driver),
    new SqlReplicas(driver),
    new SqlNamespace(driver),
    new SqlUploads(driver),
    new SqlQueues(driver),
    new SqlUsers(driver),
    new SqlDavState(driver),
    new SqlRepair(driver),
    new SqlImport(driver),
  ];
  return composeRoles({ kind: lifecycle.kind }, [lifecycle, ...roles]) as SqlStore;
}

/**
 * One object that answers every method of `parts`: each part's class methods, bound to the part
 * (so a method keeps calling its own part's helpers). A role class therefore has no methods but
 * its role's; its helpers are work objects in its fields. Two parts with a method of the same
 * name are a mistake, refused here rather than one silently hiding the other.
 */
function composeRoles(base: Record<string, unknown>, parts: readonly object[]): object {
  const store: Record<string, unknown> = { ...base };
  for (const part of parts) {
    const proto = Object.getPrototypeOf(part) as object;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const method = Object.getOwnPropertyDescriptor(proto, name)?.value as unknown;
      if (name === 'constructor' || typeof method !== 'function') continue;
      if (name in store) throw mogError(ErrorCodes.INTERNAL, `Store method ${name} is implemented twice (${proto.constructor.name})`);
      store[name] = method.bind(part);
    }
  }
  return store;
}
