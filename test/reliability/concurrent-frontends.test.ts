// Two front-end processes overwriting, renaming, deleting and reading the same few paths at once
// (issue 8, fault 9). Every read is some write, whole; every final file is some write, whole, on
// mindevcount devices; and once the jobs have drained the queues, every replica file on the
// nodes belongs to a live fid that records it (no orphans), with no reservation left.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { useCluster } from '../harness/cluster.ts';
import { type DaemonProcess } from '../harness/daemons.ts';
import { until } from '../harness/wait.ts';
import { contentStream, newContent, type Content } from './lib/content.ts';
import { trackFigures } from './lib/figures.ts';
import { loggedIn } from './lib/ftp.ts';

const fig = trackFigures('concurrent-frontends');
const PATHS = ['/shared/p0', '/shared/p1', '/shared/p2', '/shared/p3'];
const RUN_MS = Number(process.env.MOGFTP_RELIABILITY_LONG ? 60_000 : 10_000);

describe('two front-ends on the same paths', () => {
  const c = useCluster({ db: 'mysql', nodes: 3, mindevcount: 2, auth: false });
  let fes: DaemonProcess[];
  before(async () => {
    fes = [await c.startFrontendProcess(), await c.startFrontendProcess()];
    const ftp = await loggedIn(fes[0]!.port);
    assert.equal((await ftp.cmd('MKD /shared')).code, 257);
    await ftp.quit();
  });

  test('overwrites, renames and deletes racing: every state is one whole write, and nothing is orphaned', async () => {
    fig.scenario('2 front-ends × 4 clients overwriting/renaming/deleting 4 paths');
    const jobs = c.startJobs();
    const written = new Map<string, Content>(); // sha256 → content, every write attempted
    const problems: string[] = [];
    const counts = { stor: 0, storOk: 0, rename: 0, renameOk: 0, dele: 0, retr: 0, retrOk: 0, retrLostRace: 0 };
    const deadline = Date.now() + RUN_MS;
    // The mix runs for RUN_MS, and on past it (up to 6 × RUN_MS) until every kind of operation has
    // succeeded at least once: on a loaded machine 10 s gave as few as 6 RETRs, none of which
    // happened to find its path present.
    const giveUp = Date.now() + 6 * RUN_MS;
    const enough = () => counts.storOk > 10 && counts.renameOk > 0 && counts.retrOk > 0;
    const worker = async (w: number) => {
      const ftp = await loggedIn(fes[w % 2]!.port);
      let i = 0;
      while (Date.now() < deadline || (!enough() && Date.now() < giveUp)) {
        const path = PATHS[(w + i * 7) % PATHS.length]!;
        const other = PATHS[(w * 3 + i) % PATHS.length]!;
        const op = (w + i) % 10;
        i++;
        if (op < 4) {
          const content = newContent(64 * 1024 + ((w * 131 + i * 977) % 2000) * 1024);
          written.set(content.sha256, content);
          counts.stor++;
          const r = await ftp.stor(path, contentStream(content.seed, content.size));
          fig.up(r.sent);
          if (r.final.code === 226) counts.storOk++;
          else problems.push(`STOR ${path}: ${r.final.code} ${r.final.text}`);
        } else if (op < 6) {
          counts.rename++;
          const from = await ftp.cmd(`RNFR ${path}`);
          if (from.code !== 350) continue; // renamed or deleted away by someone else: fine
          const to = await ftp.cmd(`RNTO ${other}`);
          if (to.code === 250) counts.renameOk++;
          else if (to.code !== 550) problems.push(`RNTO ${other}: ${to.code} ${to.text}`);
        } else if (op === 6) {
          counts.dele++;
          const r = await ftp.cmd(`DELE ${path}`);
          if (r.code !== 250 && r.code !== 550) problems.push(`DELE ${path}: ${r.code} ${r.text}`);
        } else {
          counts.retr++;
          const r = await ftp.retr(path);
          fig.down(r.bytes);
          if (r.final.code === 226) {
            counts.retrOk++;
            if (!written.has(r.sha256)) {
              fig.wrong(r.bytes);
              problems.push(`RETR ${path}: ${r.bytes} bytes that are no write`);
            }
          } else if (r.final.code === 451 && /Storage temporarily unavailable/.test(r.final.text)) {
            // The version it had just looked up was replaced and its copies deleted before its
            // first read reached a node: a clean failure, never wrong bytes. (No node fails in
            // this test; the reply's words are generic since replies stopped naming nodes.)
            counts.retrLostRace++;
          } else if (r.final.code !== 550) problems.push(`RETR ${path}: ${r.final.code} ${r.final.text}`);
        }
      }
      await ftp.quit();
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    process.stdout.write(`# ${JSON.stringify(counts)}\n`);
    assert.deepEqual(problems, []);
    assert.ok(enough(), JSON.stringify(counts));

    // Every final state is one whole write, stored at mindevcount, readable through both front-ends.
    for (const path of PATHS) {
      const fid = await c.fidOf(path);
      if (fid === null) continue;
      const file = (await c.store.getFile(fid))!;
      const content = written.get(file.checksum!);
      assert.ok(content, `${path}: its checksum is one of the writes`);
      assert.equal(await c.checkStored(path, content), null);
      for (const fe of fes) {
        const ftp = await loggedIn(fe.port);
        const r = await ftp.retr(path);
        fig.down(r.bytes);
        assert.equal(r.sha256, content.sha256, `${path} through front-end ${fe.port}`);
        await ftp.quit();
      }
      fig.verified();
    }
    await c.drained();
    await jobs.stop();
    assert.deepEqual(await c.store.staleReservations(Date.now() + 60_000, 10), [], 'no reservation left');
    assert.deepEqual(await c.orphans(), [], 'every replica on disk is a recorded replica of a live fid');
    const { replicas } = await c.filesOnDisk();
    const live = (await Promise.all(PATHS.map((p) => c.fidOf(p)))).filter((f) => f !== null);
    assert.equal(replicas.length, live.length * 2, 'exactly mindevcount copies of each live file, nothing else');
  });

  test(
    // The delete job may remove the old version's copies at once: the node streams from the file
    // it has open, so a download already reading goes on to the end.
    'a download under way survives the overwrite of its file and the deletion of the old copies',
    async () => {
      fig.scenario('file overwritten and old copies deleted under a running RETR');
      const jobs = c.startJobs();
      try {
        const v1 = newContent(16 * 1024 * 1024);
        const v2 = newContent(1024 * 1024);
        const writer = await loggedIn(fes[0]!.port);
        assert.equal((await writer.stor('/shared/long-read.bin', contentStream(v1.seed, v1.size))).final.code, 226);
        const reader = await loggedIn(fes[1]!.port);
        let got = 0;
        const download = reader.retr('/shared/long-read.bin', { bytesPerSecond: 4 * 1024 * 1024, onChunk: (b) => (got += b.length) });
        let finished = false;
        void download.then(() => (finished = true));
        while (got < 1024 * 1024) await new Promise((r) => setTimeout(r, 50));
        const oldFid = (await c.fidOf('/shared/long-read.bin'))!;
        assert.equal((await writer.stor('/shared/long-read.bin', contentStream(v2.seed, v2.size))).final.code, 226);
        await writer.quit();
        await until('the old copies deleted', async () => (await c.replicasOnDisk(oldFid)).length === 0);
        assert.equal(finished, false, 'the deletion came while the download was still running');
        const r = await download;
        await reader.quit();
        assert.equal(r.final.code, 226, `${r.final.code} ${r.final.text}`);
        assert.equal(r.sha256, v1.sha256, 'the version it opened, whole');
        fig.up(v1.size + v2.size);
        fig.down(r.bytes);
        fig.verified();
        await c.drained();
        assert.equal(await c.checkStored('/shared/long-read.bin', v2), null);
      } finally {
        await jobs.stop();
      }
    },
  );
});
