// The class-tree role on SQLite and MariaDB.
import { storeBackends } from '../harness/db.ts';
import { runClassTreeConformance } from './class-tree.conformance.ts';

for (const backend of storeBackends) runClassTreeConformance(backend);
