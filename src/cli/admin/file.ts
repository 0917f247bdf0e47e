// `mogftp admin file info PATH`: where a file's bytes are — its fid, class, length, checksum,
// and each replica with its device, host, their states and its URL on the node.
import { mogError, ErrorCodes } from '../../errors.ts';
import { fidPath, nodeBaseUrl } from '../../storage/layout.ts';
import { countsTowardClass } from '../../tracker/policy.ts';
import { joinComponents, resolvePathComponents } from '../../tracker/names.ts';
import type { Domain, Store } from '../../tracker/types.ts';
import { leaf, noun, requireDomain, withStore } from './context.ts';
import { formatTime, jsonOption, say } from './output.ts';

/** The domain named by --domain, else the only one there is. */
export async function pickDomain(store: Store, name: string | undefined): Promise<Domain> {
  if (name !== undefined) return requireDomain(store, name);
  const all = await store.listDomains();
  if (all.length === 1) return all[0]!;
  if (all.length === 0) throw mogError(ErrorCodes.NOT_FOUND, 'There are no domains yet');
  throw mogError(ErrorCodes.INVALID_ARGUMENT, `There are ${all.length} domains (${all.map((d) => d.name).join(', ')}): name one with --domain`);
}

const info = leaf<{ path: string; domain?: string; json: boolean }>({
  command: 'info <path>',
  describe: "Show a file's fid, class, length, checksum and replicas (device, host, state)",
  builder: (y) =>
    y
      .positional('path', { type: 'string', describe: 'Absolute path inside the domain, e.g. /alice/report.pdf' })
      .option('domain', { type: 'string', describe: 'The domain (default: the only one)' })
      .option('json', { ...jsonOption, describe: 'Print JSON' }),
  handler: async (args) => {
    const names = resolvePathComponents([], String(args.path));
    await withStore(args, async (store) => {
      const domain = await pickDomain(store, args.domain);
      const path = joinComponents(names);
      const entry = await store.resolvePath(domain.id, names);
      if (!entry) throw mogError(ErrorCodes.NOT_FOUND, `No such file: ${path} in domain ${domain.name}`);
      if (entry.kind !== 'file' || entry.fid === null) throw mogError(ErrorCodes.IS_A_DIRECTORY, `${path} is a directory`);
      const [file, on, devices, marks] = await Promise.all([
        store.getFile(entry.fid),
        store.replicasOf(entry.fid),
        store.listDevices(),
        store.badReplicasOf(entry.fid),
      ]);
      // Copies a read found damaged: reads skip them, fsck re-checks them (docs/operations/repair.md).
      const markOf = new Map(marks.map((m) => [m.devid, { foundAt: m.foundAt, reason: m.reason }]));
      if (!file) throw mogError(ErrorCodes.NOT_FOUND, `${path} changed while it was looked up; try again`);
      const cls = await store.getClassById(file.classId);
      const byId = new Map(devices.map((d) => [d.id, d]));
      const replicas = on.map((devid) => {
        const d = byId.get(devid);
        const bad = markOf.get(devid) ?? null;
        if (!d) return { devid, host: null, deviceStatus: 'removed', hostStatus: null, observed: null, counts: false, url: null, bad };
        return {
          devid,
          bad,
          host: d.hostName,
          deviceStatus: d.status,
          hostStatus: d.hostStatus,
          observed: d.observed,
          counts: countsTowardClass(d),
          url: nodeBaseUrl(d.hostAddress, d.hostPort) + fidPath(devid, file.fid),
        };
      });
      const record = {
        domain: domain.name,
        path,
        fid: file.fid,
        class: cls?.name ?? null,
        mindevcount: cls?.mindevcount ?? null,
        length: file.length,
        checksumAlg: file.checksumAlg,
        checksum: file.checksum,
        devcount: file.devcount,
        createdAt: file.createdAt,
        mtime: entry.mtime,
        replicas,
      };
      if (args.json) {
        process.stdout.write(JSON.stringify(record, null, 2) + '\n');
        return;
      }
      say(`${record.path} (domain ${record.domain})`);
      say(`  fid ${record.fid}, class ${record.class} (mindevcount ${record.mindevcount}), ${record.length} bytes`);
      say(`  checksum ${record.checksumAlg}${record.checksum ? ` ${record.checksum}` : ''}`);
      say(`  stored ${formatTime(record.createdAt)}, modified ${formatTime(record.mtime)}`);
      const counted = replicas.filter((r) => r.counts).length;
      say(`  replicas: ${replicas.length} (${counted} counted toward the class)`);
      for (const r of replicas) {
        say(`    device ${r.devid} on ${r.host ?? '?'}: device ${r.deviceStatus}, host ${r.hostStatus ?? '?'}, seen ${r.observed ?? '?'}${r.counts ? '' : ' (not counted)'}  ${r.url ?? ''}`.trimEnd());
        if (r.bad) say(`      BAD: ${r.bad.reason} (found by a read ${formatTime(r.bad.foundAt)}; reads skip it, fsck re-checks it)`);
      }
    });
  },
});

export const fileCommand = noun('file', 'Look up a stored file', [info]);
