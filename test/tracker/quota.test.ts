// The quota role on SQLite and MariaDB.
import { storeBackends } from '../harness/db.ts';
import { runQuotaConformance } from './quota.conformance.ts';

for (const backend of storeBackends) runQuotaConformance(backend);
