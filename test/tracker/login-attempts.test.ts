// The login-attempt role on SQLite and MariaDB.
import { storeBackends } from '../harness/db.ts';
import { runLoginAttemptsConformance } from './login-attempts.conformance.ts';

for (const backend of storeBackends) runLoginAttemptsConformance(backend);
