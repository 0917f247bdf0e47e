// The files, in batches by ascending fid: each MogileFS file becomes a mogftp file with the
// same fid, length and copies (file_on), at the path its key names (keys.ts: its own path when
// it can be one, else an escaped name under /.mogilefs-keys). Each batch is one transaction; a
// file imported before is recognised by its fid and left alone, so an interrupted import
// resumes by running it again and a finished one can be re-run without effect.
import type { MogFile, MogileFsSource } from '../../tracker/mogilefs-source.ts';
import type { ImportFile, ImportOutcome, Store } from '../../tracker/types.ts';
import { MAX_DEPTH, MAX_PATH_BYTES, validateName } from '../../tracker/names.ts';
import { ESCAPED_KEYS_DIR, escapedNames, keyOfNames, placeOfKey } from '../keys.ts';
import { HASHTYPE_MD5, type ClusterMap } from './cluster.ts';
import { printableKey, type ImportReport } from './report.ts';

/** A file ready for the store, and what the report says of it. */
interface Planned {
  file: ImportFile;
  key: Buffer;
  domain: string;
  escaped: boolean;
  mindevcount: number;
}

export interface FilesOptions {
  batch: number;
  dry: boolean;
  /** Called after each batch with the files looked at so far. */
  progress?: (done: number) => void;
}

/** The escaped place of the key whose own path is `names` (for a file that must make way for a directory). */
const escapeFor = (names: string[]): string[] => escapedNames(keyOfNames(names));

export async function importFiles(source: MogileFsSource, store: Store, map: ClusterMap, report: ImportReport, opts: FilesOptions): Promise<void> {
  let after = 0;
  let done = 0;
  for (;;) {
    const batch = await source.filesAfter(after, opts.batch);
    if (batch.length === 0) break;
    after = batch[batch.length - 1]!.fid;
    done += batch.length;
    const now = Date.now();
    const planned: Planned[] = [];
    for (const f of batch) {
      const p = planFile(f, map, report, now);
      if (p) planned.push(p);
    }
    const outcomes = opts.dry ? await dryOutcomes(store, planned.map((p) => p.file)) : await store.importFiles(planned.map((p) => p.file), escapeFor);
    for (let i = 0; i < planned.length; i++) record(report, planned[i]!, outcomes[i]!);
    opts.progress?.(done);
  }
}

/** The file as mogftp stores it, or null (and a skipped row) when it cannot be imported. */
function planFile(f: MogFile, map: ClusterMap, report: ImportReport, now: number): Planned | null {
  const skip = (kind: 'file' | 'file_on' | 'checksum', id: string, reason: string) => report.skipped.push({ kind, id, reason });
  const domain = map.domains.get(f.dmid);
  if (!domain) {
    skip('file', String(f.fid), `its domain ${f.dmid} does not exist`);
    report.files.skipped++;
    return null;
  }
  if (f.length === null) {
    skip('file', String(f.fid), 'it has no length (MogileFS never closed its upload)');
    report.files.skipped++;
    return null;
  }
  let cls = map.classes.get(`${f.dmid}/${f.classid}`);
  if (!cls) {
    cls = map.classes.get(`${f.dmid}/0`)!;
    const note = `class ${f.classid} of domain ${domain.name} does not exist: its files are imported in the domain's default class`;
    if (!report.notes.includes(note)) report.notes.push(note);
  }
  const devids: number[] = [];
  for (const devid of f.devids) {
    if (map.devids.has(devid)) devids.push(devid);
    else skip('file_on', `${f.fid}/${devid}`, `device ${devid} was not imported`);
  }
  let checksum: string | null = null;
  let checksumAlg = cls.checksum;
  if (f.checksum?.hashtype === HASHTYPE_MD5 && /^[0-9a-f]{32}$/.test(f.checksum.hex)) {
    checksum = f.checksum.hex;
    checksumAlg = 'md5';
  } else if (f.checksum) {
    skip('checksum', String(f.fid), `hashtype ${f.checksum.hashtype} is not MD5; fsck records a ${cls.checksum} checksum instead`);
  }
  const place = placeOfKey(f.dkey);
  return {
    key: f.dkey,
    domain: domain.name,
    mindevcount: cls.mindevcount,
    escaped: place.escaped,
    file: {
      fid: f.fid, domainId: domain.id, classId: cls.id, length: f.length, checksum, checksumAlg, devids,
      names: place.names, escapedNames: escapedNames(f.dkey), mtime: now,
    },
  };
}

/** What importFiles would say, from the target's files rows only (directories of other keys are not foreseen). */
async function dryOutcomes(store: Store, files: ImportFile[]): Promise<ImportOutcome[]> {
  const present = new Set(await store.presentFids(files.map((f) => f.fid)));
  return files.map((f) => ({ fid: f.fid, state: present.has(f.fid) ? 'present' : 'imported', names: f.names, escapedBecause: null, moved: [] }));
}

function record(report: ImportReport, p: Planned, o: ImportOutcome): void {
  const { file } = p;
  if (o.state === 'present') {
    report.files.present++;
    return;
  }
  report.files.imported++;
  report.files.bytes += file.length;
  report.files.replicas += file.devids.length;
  if (file.checksum !== null) report.checksums.md5++;
  else if (file.checksumAlg !== 'none') {
    report.checksums.missing++;
    report.queued.fsck++;
  }
  if (file.devids.length < p.mindevcount) report.queued.replicate++;
  const path = '/' + o.names.join('/');
  if (p.escaped) report.renamed.push(renamed(p.domain, file.fid, p.key, path, whyNotAPath(p.key)));
  else if (o.escapedBecause) report.renamed.push(renamed(p.domain, file.fid, p.key, path, o.escapedBecause));
  for (const m of o.moved) {
    report.renamed.push(renamed(p.domain, m.fid, keyOfNames(m.from), '/' + m.to.join('/'), 'the key is also a prefix of other keys (a directory is needed at its path)'));
  }
}

function renamed(domain: string, fid: number, key: Buffer, path: string, reason: string) {
  return { domain, fid, key: printableKey(key), keyHex: key.toString('hex'), path, reason };
}

/** Why placeOfKey escaped a key, in the report's words (the checks are keys.ts's, in its order). */
function whyNotAPath(key: Buffer): string {
  if (key.length === 0) return 'the key is empty';
  if (key.length > MAX_PATH_BYTES) return `the key is longer than ${MAX_PATH_BYTES} bytes`;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(key);
  } catch {
    return 'the key is not UTF-8';
  }
  const names = text.split('/');
  if (names.length > MAX_DEPTH) return `the key has more than ${MAX_DEPTH} components`;
  if (names[0] === ESCAPED_KEYS_DIR) return `the key starts with ${ESCAPED_KEYS_DIR}/, the place of escaped keys`;
  for (const name of names) {
    if (name === '') return 'the key has an empty component (a leading, trailing or doubled /)';
    try {
      validateName(name);
    } catch (err) {
      return `a component of the key is not a file name: ${(err as Error).message}`;
    }
  }
  return 'the key is not a valid path';
}
