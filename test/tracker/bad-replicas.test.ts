// The bad-replica role on SQLite and MariaDB.
import { storeBackends } from '../harness/db.ts';
import { runBadReplicasConformance } from './bad-replicas.conformance.ts';

for (const backend of storeBackends) runBadReplicasConformance(backend);
