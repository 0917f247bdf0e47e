// Readiness: may a load balancer or orchestrator send this process work? Each check answers
// within a deadline, so a stuck database makes /readyz say "no" instead of hanging.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { describeError } from '../errors.ts';
import { LATEST_SCHEMA_VERSION } from '../tracker/store/migrations.ts';
import type { Store } from '../tracker/types.ts';
import { withDeadline } from './registry.ts';
import { deviceDirs } from './storage.ts';
import { assessWriteCapacity, describeShortClass } from './write-capacity.ts';

export interface CheckResult {
  ok: boolean;
  detail: string;
}

export interface ReadyReport {
  ready: boolean;
  checks: Record<string, CheckResult>;
}

export type ReadinessCheck = () => Promise<ReadyReport>;

const CHECK_DEADLINE_MS = 5000;

async function run(checks: Record<string, () => Promise<CheckResult>>): Promise<ReadyReport> {
  const names = Object.keys(checks);
  const results = await Promise.all(
    names.map((n) => withDeadline(CHECK_DEADLINE_MS, n, checks[n]!).catch((err): CheckResult => ({ ok: false, detail: describeError(err) }))),
  );
  const out: Record<string, CheckResult> = {};
  names.forEach((n, i) => (out[n] = results[i]!));
  return { ready: results.every((r) => r.ok), checks: out };
}

/**
 * FTP front-ends and jobs: the database answers with a schema, and enough hosts can take new
 * copies for the write quorum of every class in use (see write-capacity.ts: a class no upload
 * would pick only warns).
 */
export function clusterReadiness(store: Store): ReadinessCheck {
  return () =>
    run({
      database: async () => {
        const version = await store.schemaVersion();
        if (version === 0) return { ok: false, detail: "no mogftp schema: run 'mogftp admin init'" };
        // New code on an old schema would fail on what is missing; old code on a newer schema
        // keeps working while a rolling upgrade reaches it (migrations add, never take away).
        if (version < LATEST_SCHEMA_VERSION)
          return { ok: false, detail: `schema version ${version}, this mogftp needs ${LATEST_SCHEMA_VERSION}: run 'mogftp admin init'` };
        return { ok: true, detail: `schema version ${version}${version > LATEST_SCHEMA_VERSION ? ` (newer than this mogftp's ${LATEST_SCHEMA_VERSION}: upgrade it)` : ''}` };
      },
      devices: async () => {
        const { writableHosts, short } = await assessWriteCapacity(store);
        const blocking = short.filter((s) => s.inUse);
        const unused = short.filter((s) => !s.inUse);
        const hosts = `${writableHosts} host(s) with a writable device`;
        if (writableHosts === 0) return { ok: false, detail: `${hosts}: no upload can be placed` };
        if (blocking.length > 0)
          return { ok: false, detail: `${hosts}: too few for ${blocking.map(describeShortClass).join(', ')}, so uploads there fail` };
        // An unused class short of hosts is a warning (also mogftp_classes_below_write_quorum), not a
        // reason for a load balancer to drop a front-end that can serve every file there is.
        const warning = unused.length > 0 ? `; warning: too few for ${unused.map(describeShortClass).join(', ')}, which no file uses yet` : '';
        return { ok: true, detail: `${hosts}, enough for every class in use${warning}` };
      },
    });
}

/** A storage node: its root holds at least one device directory, and all of them are writable. */
export function storageReadiness(root: string): ReadinessCheck {
  return () =>
    run({
      devices: async () => {
        const devs = await deviceDirs(root);
        if (devs.length === 0) return { ok: false, detail: `no dev<N> directories under ${root}` };
        const bad: string[] = [];
        for (const d of devs) {
          try {
            if (!(await stat(d.path)).isDirectory()) throw new Error('not a directory');
            await access(d.path, constants.W_OK);
          } catch {
            bad.push(`dev${d.devid}`);
          }
        }
        return bad.length === 0
          ? { ok: true, detail: `${devs.length} writable device(s)` }
          : { ok: false, detail: `not writable: ${bad.join(', ')}` };
      },
    });
}

/** Ready when every given check is. */
export function allOf(...checks: ReadinessCheck[]): ReadinessCheck {
  return async () => {
    const reports = await Promise.all(checks.map((c) => c()));
    return { ready: reports.every((r) => r.ready), checks: Object.assign({}, ...reports.map((r) => r.checks)) };
  };
}
