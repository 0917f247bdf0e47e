// The cluster's shape, MogileFS → mogftp: hosts keep their hostids, devices their devids and
// states, domains and classes their names. What has no exact counterpart is taken as closely as
// it can be and said in the report's notes.
import { ErrorCodes, isMogError } from '../../errors.ts';
import type { ChecksumAlg, DeviceStatus, FileClass, HostStatus, Store } from '../../tracker/types.ts';
import type { MogClass, MogDevice, MogHost, MogileFsSource } from '../../tracker/mogilefs-source.ts';
import type { ImportReport } from './report.ts';

/** What the files step needs to know of the cluster it was put in. */
export interface ClusterMap {
  /** dmid → mogftp domain. */
  domains: Map<number, { id: number; name: string }>;
  /** `${dmid}/${classid}` → mogftp class (classid 0: the domain's default class). */
  classes: Map<string, FileClass>;
  devids: Set<number>;
}

const DEVICE_STATES: readonly DeviceStatus[] = ['alive', 'readonly', 'drain', 'down', 'dead'];
const HOST_STATES: readonly HostStatus[] = ['alive', 'down', 'dead'];
/** MogileFS::Checksum's hashtype 1. */
export const HASHTYPE_MD5 = 1;

export function hostStatusOf(h: MogHost, notes: string[]): HostStatus {
  if (h.status !== null && (HOST_STATES as readonly string[]).includes(h.status)) return h.status as HostStatus;
  if (h.status === 'readonly') {
    notes.push(`host ${h.hostname} is readonly in MogileFS: imported alive with its alive devices readonly (mogftp has device states only)`);
    return 'alive';
  }
  notes.push(`host ${h.hostname} has status ${String(h.status)}: imported down`);
  return 'down';
}

export function deviceStatusOf(d: MogDevice, hostReadonly: boolean, notes: string[]): DeviceStatus {
  let status: DeviceStatus = 'down';
  if (d.status !== null && (DEVICE_STATES as readonly string[]).includes(d.status)) status = d.status as DeviceStatus;
  else notes.push(`device ${d.devid} has status ${String(d.status)}: imported down`);
  return hostReadonly && status === 'alive' ? 'readonly' : status;
}

export function classChecksumOf(c: MogClass, notes: string[]): ChecksumAlg {
  if (c.hashtype === HASHTYPE_MD5) return 'md5';
  if (c.hashtype !== null) notes.push(`class ${c.classname} (domain ${c.dmid}) has MogileFS hashtype ${c.hashtype} (SHA-1): mogftp keeps sha256 for it; fsck records one per file`);
  return 'sha256';
}

function policyNote(c: MogClass): string | null {
  const p = c.replpolicy?.trim() ?? '';
  if (p === '' || /^MultipleHosts\(\d*\)$/.test(p)) return null; // what mogftp does: copies on distinct hosts
  return `class ${c.classname} (domain ${c.dmid}) has replication policy ${p}: mogftp places its copies on distinct hosts (as MultipleHosts)`;
}

/** Imports (or, dry, only compares) hosts, devices, domains and classes; returns the map the files need. */
export async function importCluster(source: MogileFsSource, store: Store, report: ImportReport, dry: boolean): Promise<ClusterMap> {
  const map: ClusterMap = { domains: new Map(), classes: new Map(), devids: new Set() };
  const readonlyHosts = new Set<number>();
  const hostIds = new Set<number>();
  for (const h of await source.hosts()) {
    const status = hostStatusOf(h, report.notes);
    if (h.status === 'readonly') readonlyHosts.add(h.hostid);
    if (h.httpGetPort !== null && h.httpGetPort !== h.httpPort)
      report.notes.push(`host ${h.hostname} has http_get_port ${h.httpGetPort}: mogftp reads and writes through http_port ${h.httpPort}`);
    const host = { id: h.hostid, name: h.hostname || `host${h.hostid}`, address: h.hostip, httpPort: h.httpPort, status };
    try {
      const what = dry ? dryHost(await store.getHost(h.hostid), host) : await store.importHost(host);
      bump(report.hosts, what);
      hostIds.add(h.hostid);
    } catch (err) {
      report.skipped.push({ kind: 'host', id: String(h.hostid), reason: rowRefused(err) });
    }
  }
  for (const d of await source.devices()) {
    if (!hostIds.has(d.hostid)) {
      report.skipped.push({ kind: 'device', id: String(d.devid), reason: `its host ${d.hostid} was not imported` });
      continue;
    }
    const dev = { id: d.devid, hostId: d.hostid, status: deviceStatusOf(d, readonlyHosts.has(d.hostid), report.notes), weight: Math.max(0, d.weight ?? 100), mbTotal: d.mbTotal, mbUsed: d.mbUsed };
    try {
      const what = dry ? dryDevice(await store.getDevice(d.devid), dev) : await store.importDevice(dev);
      bump(report.devices, what);
      map.devids.add(d.devid);
    } catch (err) {
      report.skipped.push({ kind: 'device', id: String(d.devid), reason: rowRefused(err) });
    }
  }
  await importNames(source, store, report, dry, map);
  return map;
}

async function importNames(source: MogileFsSource, store: Store, report: ImportReport, dry: boolean, map: ClusterMap): Promise<void> {
  const classes = await source.classes();
  let fakeId = -1; // dry run: ids for what would be created
  for (const dm of await source.domains()) {
    let domain = await store.getDomain(dm.namespace);
    let created = false;
    if (!domain && !dry) ({ domain, created } = await store.importDomain(dm.namespace));
    report.domains[domain && !created ? 'present' : 'created']++;
    const domainId = domain?.id ?? fakeId--;
    map.domains.set(dm.dmid, { id: domainId, name: dm.namespace });
    const dflt = domain ? await store.getClass(domain.id, 'default') : null;
    const defaultClass: FileClass = dflt ?? { id: fakeId--, domainId, name: 'default', mindevcount: 2, writeQuorum: 2, checksum: 'sha256' };
    map.classes.set(`${dm.dmid}/0`, defaultClass);
    for (const c of classes.filter((x) => x.dmid === dm.dmid)) {
      const note = policyNote(c);
      if (note) report.notes.push(note);
      let mindevcount = c.mindevcount;
      if (mindevcount < 1) {
        report.notes.push(`class ${c.classname} (domain ${dm.namespace}) has mindevcount ${mindevcount}: imported with 1`);
        mindevcount = 1;
      }
      const checksum = classChecksumOf(c, report.notes);
      if (c.classid === 0 || c.classname === 'default') {
        // MogileFS's implicit class 0, given a row by `mogadm class modify DOMAIN default`.
        if (created && mindevcount !== defaultClass.mindevcount) map.classes.set(`${dm.dmid}/0`, await store.updateClass(defaultClass.id, { mindevcount }));
        map.classes.set(`${dm.dmid}/${c.classid}`, map.classes.get(`${dm.dmid}/0`)!);
        continue;
      }
      const existing = domain ? await store.getClass(domain.id, c.classname) : null;
      if (existing || dry) {
        report.classes[existing ? 'present' : 'created']++;
        map.classes.set(`${dm.dmid}/${c.classid}`, existing ?? { id: fakeId--, domainId, name: c.classname, mindevcount, writeQuorum: mindevcount, checksum });
        continue;
      }
      const r = await store.importClass(domainId, c.classname, { mindevcount, checksum });
      report.classes[r.created ? 'created' : 'present']++;
      map.classes.set(`${dm.dmid}/${c.classid}`, r.cls);
    }
  }
}

/** Why the store refused a row (it is then skipped); anything else (the database gone...) ends the import. */
function rowRefused(err: unknown): string {
  if (isMogError(err, ErrorCodes.EXISTS) || isMogError(err, ErrorCodes.NOT_FOUND) || isMogError(err, ErrorCodes.INVALID_ARGUMENT)) return err.message;
  throw err;
}

function bump(c: { created: number; present: number; updated: number }, what: 'created' | 'updated' | 'same'): void {
  c[what === 'same' ? 'present' : what]++;
}

function dryHost(cur: { name: string; address: string; httpPort: number; status: HostStatus } | null, next: { name: string; address: string; httpPort: number; status: HostStatus }): 'created' | 'updated' | 'same' {
  if (!cur) return 'created';
  return cur.name === next.name && cur.address === next.address && cur.httpPort === next.httpPort && cur.status === next.status ? 'same' : 'updated';
}

function dryDevice(cur: { status: DeviceStatus; weight: number } | null, next: { status: DeviceStatus; weight: number }): 'created' | 'updated' | 'same' {
  if (!cur) return 'created';
  return cur.status === next.status && cur.weight === next.weight ? 'same' : 'updated';
}
