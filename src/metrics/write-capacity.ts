// Can the cluster take uploads now? Hosts with a device that can take a new copy, against each
// class's write quorum. Only classes in use decide readiness: a domain's 'default' class (every
// new file lands there) and any class that holds files (overwrites keep the old file's class).
// A class no file uses and no upload would pick is reported, never a reason to refuse work: a
// mindevcount-3 class kept "for later" must not take every front-end out of the load balancer
// when one of three hosts is down.
import { chooseDevicesForUpload } from '../tracker/policy.ts';
import type { FileClass, Store } from '../tracker/types.ts';

/** The class every new upload of a domain goes to (the tracker picks it by this name). */
const DEFAULT_CLASS = 'default';

export interface ShortClass {
  cls: FileClass;
  domain: string;
  /** A default class, or one that holds files: uploads to it fail now. */
  inUse: boolean;
}

export interface WriteCapacity {
  /** Distinct hosts with at least one device that can take a new copy. */
  writableHosts: number;
  /** Classes whose write quorum is more than `writableHosts`. */
  short: ShortClass[];
}

export async function assessWriteCapacity(store: Store): Promise<WriteCapacity> {
  const [devices, classes] = await Promise.all([store.listDevices(), store.listClasses()]);
  const writableHosts = chooseDevicesForUpload(devices, devices.length).length;
  const shortClasses = classes.filter((c) => c.writeQuorum > writableHosts);
  if (shortClasses.length === 0) return { writableHosts, short: [] };
  // Asked only of classes already short: a probe of a healthy cluster costs no more queries.
  const domains = new Map((await store.listDomains()).map((d) => [d.id, d.name]));
  const short: ShortClass[] = [];
  for (const cls of shortClasses) {
    const inUse = cls.name === DEFAULT_CLASS || (await store.fidsOfClass(cls.id, 0, 1)).length > 0;
    short.push({ cls, domain: domains.get(cls.domainId) ?? String(cls.domainId), inUse });
  }
  return { writableHosts, short };
}

/** "class triple of domain media (write quorum 3)" */
export function describeShortClass(s: ShortClass): string {
  return `class ${s.cls.name} of domain ${s.domain} (write quorum ${s.cls.writeQuorum})`;
}
