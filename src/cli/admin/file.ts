// `mogftp admin file info PATH`: where a file's bytes are — its fid, class, length, checksum,
// and each replica with its device, host, their states and its URL on the node.
import { mogError, ErrorCodes } from '../../errors.ts';
import { fidPath, nodeBaseUrl } from '../../storage/layout.ts';
import { countsTowardClass } from '../../tracker/device-state.ts';
import { joinComponents, resolvePathComponents } from '../../tracker/names.ts';
import { changeTreeClass } from '../../jobs/class-change.ts';
import { nearestDirClass } from '../../tracker/tracker.ts';
import type { Domain, Entry, Store } from '../../tracker/types.ts';
import { leaf, noun, requireClass, requireDomain, withStore } from './context.ts';
import { formatTime, jsonOption, say } from './output.ts';

/** The domain named by --domain, else the only one there is. */
export async function pickDomain(store: Store, name: string | undefined): Promise<Domain> {
  if (name !== undefined) return requireDomain(store, name);
  const all = await store.listDomains();
  if (all.length === 1) return all[0]!;
  if (all.length === 0) throw mogError(ErrorCodes.NOT_FOUND, 'There are no domains yet');
  throw mogError(ErrorCodes.INVALID_ARGUMENT, `There are ${all.length} domains (${all.map((d) => d.name).join(', ')}): name one with --domain`);
}

/** The class files created in the last directory of `chain` get, and the directory that set it (null: the domain default). */
export async function describeInherited(store: Store, chain: Entry[], names: string[]): Promise<{ name: string; from: string | null }> {
  const inherited = nearestDirClass(chain);
  if (inherited.classId === null) return { name: 'default', from: null };
  const cls = await store.getClassById(inherited.classId);
  const at = chain.findIndex((e) => e.id === inherited.fromEntryId);
  return { name: cls?.name ?? `#${inherited.classId}`, from: joinComponents(names.slice(0, at + 1)) };
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
      // What a new file at this path would get: the file's class came from there unless it was
      // set on the file itself (admin file set-class) or the directories' classes changed since.
      const here = await describeInherited(store, (await store.walkPath(domain.id, names)).slice(0, -1), names);
      const classSource = cls?.name !== here.name ? 'file' : here.from ? 'directory' : 'default';
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
        classSource,
        classFrom: classSource === 'directory' ? here.from : null,
        dirClass: here.name,
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
      say(
        `  class from: ${
          classSource === 'directory' ? `directory ${here.from}` : classSource === 'default' ? 'the domain default'
          : `the file itself (new files here get ${here.name}${here.from ? ` from ${here.from}` : ', the domain default'})`
        }`,
      );
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

const setClass = leaf<{ path: string; class: string; recursive: boolean; domain?: string }>({
  command: 'set-class <path> <class>',
  describe: "Move a file (or, with --recursive, every file below a directory) to another class; the jobs then add or trim copies",
  builder: (y) =>
    y
      .positional('path', { type: 'string', describe: 'Absolute path inside the domain' })
      .positional('class', { type: 'string', describe: 'A class of the domain (see admin class list)' })
      .option('recursive', { type: 'boolean', default: false, alias: 'r', describe: 'PATH is a directory: every file below it, at any depth' })
      .option('domain', { type: 'string', describe: 'The domain (default: the only one)' }),
  handler: async (args) => {
    const names = resolvePathComponents([], String(args.path));
    await withStore(args, async (store) => {
      const domain = await pickDomain(store, args.domain);
      const cls = await requireClass(store, domain, String(args.class));
      const path = joinComponents(names);
      const entry: Entry | null = await store.resolvePath(domain.id, names);
      if (!entry) throw mogError(ErrorCodes.NOT_FOUND, `No such file or directory: ${path} in domain ${domain.name}`);
      if (entry.kind === 'file' && entry.fid !== null) {
        const changed = await store.setFileClass(entry.fid, cls.id);
        say(changed ? `${path} is now in class ${cls.name} (mindevcount ${cls.mindevcount}); queued for replication to add or trim copies` : `${path} already is in class ${cls.name}`);
        return;
      }
      if (!args.recursive)
        throw mogError(ErrorCodes.IS_A_DIRECTORY, `${path} is a directory: pass --recursive to move every file below it (and 'admin dir set-class' for the files created there later)`);
      const { files, changed } = await changeTreeClass(store, domain.id, entry.id, cls.id);
      say(`${changed} of ${files} files below ${path} moved to class ${cls.name} (mindevcount ${cls.mindevcount}); queued for replication to add or trim copies`);
    });
  },
});

export const fileCommand = noun('file', 'Look up a stored file, or change its class', [info, setClass]);
