// The WebDAV compliance suite `litmus` (Debian package litmus) against a throwaway cluster on
// each database: every group must pass with no failures and no warnings beyond the accepted
// list in docs/webdav.md (empty today).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { run } from '../harness/clients.ts';
import { BACKENDS, useCluster } from '../harness/cluster.ts';

const GROUPS = ['basic', 'copymove', 'props', 'locks', 'http'] as const;
/** Warnings accepted on purpose, each explained in docs/webdav.md. */
const ACCEPTED_WARNINGS: RegExp[] = [];

const LITMUS = ['/usr/bin/litmus', '/usr/local/bin/litmus'].find((p) => existsSync(p));

for (const backend of BACKENDS) {
  describe(`litmus on ${backend}`, () => {
    const c = useCluster({ db: backend, dav: true, tmpDir: 'mogftp-litmus-' });
    let cwd: string;
    before(async () => {
      assert.ok(LITMUS, 'litmus is not installed (apt-get install litmus); .ci/run installs it');
      cwd = c.tmpDir; // litmus writes debug.log here
    });

    for (const group of GROUPS) {
      test(`litmus ${group}: all pass, no warnings`, async () => {
        const r = await run(LITMUS!, [c.dav.url, 'demo', 'demo'], { cwd, env: { ...process.env, TESTS: group }, timeoutMs: 240_000 });
        const out = r.stdout + r.stderr;
        const summary = new RegExp(`summary for .${group}': of (\\d+) tests run: (\\d+) passed, (\\d+) failed`).exec(out);
        assert.ok(summary, `no summary from litmus ${group}:\n${out}`);
        assert.equal(Number(summary[3]), 0, `litmus ${group} failures:\n${out}`);
        assert.equal(summary[1], summary[2]);
        assert.equal(r.code, 0, out);
        const warnings = out.split('\n').filter((l) => /WARNING/.test(l) && !ACCEPTED_WARNINGS.some((w) => w.test(l)));
        assert.deepEqual(warnings, [], `litmus ${group} warnings:\n${out}`);
      });
    }
  });
}
