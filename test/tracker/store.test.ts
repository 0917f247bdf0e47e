// The Store's contract: every role suite on every backend. A suite takes the backend's name and
// a way to open fresh databases on it, typed by the roles it tests (src/tracker/types.ts). A new
// backend is one more entry in storeBackends (test/harness/db.ts); a new suite one more line here.
import type { Store } from '../../src/tracker/types.ts';
import { storeBackends } from '../harness/db.ts';
import { badReplicasSuite } from './bad-replicas.conformance.ts';
import { catalogSuite } from './catalog.conformance.ts';
import { classTreeSuite } from './class-tree.conformance.ts';
import { davStateSuite } from './dav-state.conformance.ts';
import { importSuite } from './import.conformance.ts';
import { jobLeasesSuite } from './job-leases.conformance.ts';
import { lifecycleSuite } from './lifecycle.conformance.ts';
import { loginAttemptsSuite } from './login-attempts.conformance.ts';
import { namespaceSuite } from './namespace.conformance.ts';
import { queuesSuite } from './queues.conformance.ts';
import { quotasSuite } from './quota.conformance.ts';
import { repairSuite } from './repair.conformance.ts';
import { replicasSuite } from './replicas.conformance.ts';
import { storeOpener, type OpenStore } from './suite-store.ts';
import { uploadsSuite } from './uploads.conformance.ts';
import { userKeysSuite } from './user-keys.conformance.ts';
import { usersSuite } from './users.conformance.ts';

const ROLE_SUITES: Array<(name: string, open: OpenStore<Store>) => void> = [
  lifecycleSuite, // StoreLifecycle
  catalogSuite, // Catalog
  replicasSuite, // Replicas
  badReplicasSuite, // BadReplicas
  namespaceSuite, // Namespace
  classTreeSuite, // ClassTree
  uploadsSuite, // Uploads
  quotasSuite, // Quotas
  queuesSuite, // Queues
  jobLeasesSuite, // JobLeases
  usersSuite, // Users
  userKeysSuite, // UserKeys
  loginAttemptsSuite, // LoginAttempts
  davStateSuite, // DavState
  repairSuite, // Repair
  importSuite, // Import
];

for (const backend of storeBackends) {
  const open = storeOpener(backend);
  for (const suite of ROLE_SUITES) suite(backend.name, open);
}
