// What `admin import mogilefs` did (or, with --dry-run, would do): counts per kind, every key
// that landed under an escaped name and why, every row left out and why. --json prints this
// object; otherwise render() gives the operator a few lines.

export interface Counts {
  created: number;
  /** Already there from an earlier run (or made by hand with the same name): left as it is. */
  present: number;
}

/** A key that is not at its own path. */
export interface RenamedKey {
  domain: string;
  fid: number;
  /** The key as text when it is printable UTF-8, else null (see keyHex). */
  key: string | null;
  keyHex: string;
  /** Where the file is in mogftp's namespace. */
  path: string;
  reason: string;
}

/** A source row that was not imported. */
export interface SkippedRow {
  kind: 'host' | 'device' | 'class' | 'file' | 'file_on' | 'checksum';
  id: string;
  reason: string;
}

export interface ImportReport {
  dryRun: boolean;
  source: string;
  hosts: Counts & { updated: number };
  devices: Counts & { updated: number };
  domains: Counts;
  classes: Counts;
  files: { imported: number; present: number; skipped: number; bytes: number; replicas: number };
  checksums: { md5: number; missing: number };
  queued: { replicate: number; fsck: number };
  /** mogftp's fid counter after the import: new files get higher fids. */
  fidFloor: number;
  renamed: RenamedKey[];
  skipped: SkippedRow[];
  /** How MogileFS settings that have no exact mogftp counterpart were taken. */
  notes: string[];
}

export function emptyReport(source: string, dryRun: boolean): ImportReport {
  return {
    dryRun,
    source,
    hosts: { created: 0, present: 0, updated: 0 },
    devices: { created: 0, present: 0, updated: 0 },
    domains: { created: 0, present: 0 },
    classes: { created: 0, present: 0 },
    files: { imported: 0, present: 0, skipped: 0, bytes: 0, replicas: 0 },
    checksums: { md5: 0, missing: 0 },
    queued: { replicate: 0, fsck: 0 },
    fidFloor: 0,
    renamed: [],
    skipped: [],
    notes: [],
  };
}

/** A key's printable form: its text when it is UTF-8 without control characters. */
export function printableKey(key: Buffer): string | null {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(key);
  } catch {
    return null;
  }
  return /[\0-\x1f\x7f]/.test(text) ? null : text;
}

export function render(r: ImportReport): string {
  const would = r.dryRun ? 'would be ' : '';
  const lines = [
    `${r.dryRun ? 'Dry run (nothing written): ' : ''}MogileFS database ${r.source}`,
    `hosts:   ${r.hosts.created} ${would}created, ${r.hosts.updated} ${would}updated, ${r.hosts.present} unchanged`,
    `devices: ${r.devices.created} ${would}created, ${r.devices.updated} ${would}updated, ${r.devices.present} unchanged`,
    `domains: ${r.domains.created} ${would}created, ${r.domains.present} present; classes: ${r.classes.created} ${would}created, ${r.classes.present} present`,
    `files:   ${r.files.imported} ${would}imported (${r.files.bytes} bytes, ${r.files.replicas} copies), ${r.files.present} imported before, ${r.files.skipped} skipped`,
    `checksums: ${r.checksums.md5} MD5 taken over, ${r.checksums.missing} files without one (queued for fsck: ${r.queued.fsck}); queued for replication: ${r.queued.replicate}`,
    `fid counter: ${r.fidFloor} (new files get higher fids)`,
  ];
  if (r.renamed.length) {
    lines.push(`${r.renamed.length} keys ${r.dryRun ? 'would be' : 'are'} under escaped names:`);
    for (const k of r.renamed) lines.push(`  ${k.domain} ${k.key === null ? `hex:${k.keyHex}` : JSON.stringify(k.key)} -> ${k.path} (${k.reason})`);
  }
  if (r.skipped.length) {
    lines.push(`${r.skipped.length} rows skipped:`);
    for (const s of r.skipped) lines.push(`  ${s.kind} ${s.id}: ${s.reason}`);
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}
