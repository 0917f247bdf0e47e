// The files of a test cluster, through the store and on the nodes' disks: uploads made the way a
// front-end makes them (reserveUpload → PUT the bytes to chosen devices → commitUpload), damage
// done by hand, and what the disks hold against what the store records. Cluster (cluster.ts)
// extends this with the parts it needs.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StorageClient } from '../../src/storage/client.ts';
import { IN_PROGRESS_MODE, fidPath, isInProgress, nodeBaseUrl, parseFidPath } from '../../src/storage/layout.ts';
import { resolvePathComponents } from '../../src/tracker/names.ts';
import { ROOT_ID, type FileClass, type Store } from '../../src/tracker/types.ts';
import { until } from './wait.ts';

/** What the file helpers need of a node: where it listens and where its first device is on disk. */
export interface NodeOnDisk {
  address: string;
  readonly port: number;
  root: string;
  hostId: number;
  devid: number;
  devDir: string;
}

export interface ReplicaFile {
  devid: number;
  fid: number;
  path: string;
  size: number;
}

let seq = 0;

export abstract class ClusterFiles<Node extends NodeOnDisk> {
  abstract readonly nodes: Node[];
  abstract get store(): Store;
  abstract get client(): StorageClient;
  abstract get domainId(): number;
  abstract get cls(): FileClass;
  abstract node(devid: number): Node;

  /** The fid an absolute domain path points at, or null. */
  async fidOf(path: string): Promise<number | null> {
    const entry = await this.store.resolvePath(this.domainId, resolvePathComponents([], path));
    return entry?.fid ?? null;
  }

  /** Where a replica lives on its node's disk. */
  diskPath(devid: number, fid: number): string {
    return join(this.node(devid).root, fidPath(devid, fid));
  }

  onDisk(devid: number, fid: number): Promise<Buffer | null> {
    return readFile(this.diskPath(devid, fid)).catch(() => null);
  }

  replicaUrl(devid: number, fid: number): string {
    const node = this.node(devid);
    return nodeBaseUrl(node.address, node.port) + fidPath(devid, fid);
  }

  /** An upload as the front-end makes it, landing on exactly `devids`. */
  async putFile(bytes: Buffer, devids: number[], o: { name?: string; cls?: FileClass } = {}): Promise<{ fid: number; entryId: number; replacedFid: number | null }> {
    const cls = o.cls ?? this.cls;
    const r = await this.store.reserveUpload({ domainId: this.domainId, classId: cls.id, devids, now: Date.now() });
    const checksum = cls.checksum === 'none' ? null : createHash(cls.checksum).update(bytes).digest('hex');
    for (const devid of devids) await this.client.put(this.replicaUrl(devid, r.fid), bytes, { length: bytes.length, checksumAlg: cls.checksum });
    const name = o.name ?? `file-${++seq}-${randomBytes(3).toString('hex')}`;
    const res = await this.store.commitUpload({ fid: r.fid, parentId: ROOT_ID, name, length: bytes.length, checksum, devids, mtime: Date.now() });
    return { fid: r.fid, entryId: res.entry.id, replacedFid: res.replacedFid };
  }

  /** `count` files of random bytes, file i of size(i) bytes on the device sets in turn: fid → bytes. */
  async putSpread(count: number, size: (i: number) => number, sets: number[][]): Promise<Map<number, Buffer>> {
    const files = new Map<number, Buffer>();
    for (let i = 0; i < count; i++) {
      const bytes = randomBytes(size(i));
      files.set((await this.putFile(bytes, sets[i % sets.length]!)).fid, bytes);
    }
    return files;
  }

  /** Flips one byte of a replica on disk (same length, wrong checksum). */
  async corrupt(devid: number, fid: number): Promise<void> {
    const path = this.diskPath(devid, fid);
    const data = await readFile(path);
    data[Math.floor(data.length / 2)]! ^= 0xff;
    await writeFile(path, data);
    if ((await stat(path)).size !== data.length) throw new Error(`corrupting ${path} changed its length`);
  }

  /** The whole namespace as sorted lines "path kind fid size mode", for before/after comparisons. */
  async namespace(): Promise<string[]> {
    const out: string[] = [];
    const walkDir = async (id: number, prefix: string): Promise<void> => {
      let after: string | undefined;
      for (;;) {
        const page = await this.store.listDir(this.domainId, id, { after, limit: 1000 });
        for (const e of page) {
          const path = `${prefix}/${e.name}`;
          out.push(`${path} ${e.kind} ${e.fid ?? '-'} ${e.size} ${e.mode.toString(8)}`);
          if (e.kind === 'dir') await walkDir(e.id, path);
        }
        if (page.length < 1000) return;
        after = page[page.length - 1]!.name;
      }
    };
    await walkDir(ROOT_ID, '');
    return out.sort();
  }

  /** Every replica (.fid) and temp file in every node's first device directory. */
  async filesOnDisk(): Promise<{ replicas: ReplicaFile[]; temps: string[] }> {
    const replicas: ReplicaFile[] = [];
    const temps: string[] = [];
    for (const node of this.nodes) {
      for (const file of await walk(node.devDir)) {
        const parsed = parseFidPath(file.slice(node.root.length));
        // Files come and go while we look (the jobs run): what is gone by now is not counted.
        const st = await stat(file).catch(() => null);
        if (!st) continue;
        // A replica still being written (the in-progress mode) counts as a temp file, as it is one.
        if (parsed && (st.mode & 0o777) !== IN_PROGRESS_MODE) replicas.push({ ...parsed, path: file, size: st.size });
        else if (parsed || file.endsWith('.tmp')) temps.push(file);
      }
    }
    return { replicas, temps };
  }

  /** The copies of a fid (or of the file at a path) on the nodes' first devices, whatever the store says. */
  async replicasOnDisk(fileOrFid: string | number): Promise<Array<{ devid: number; hostId: number; size: number; sha256: string }>> {
    const fid = typeof fileOrFid === 'number' ? fileOrFid : await this.fidOf(fileOrFid);
    if (fid === null) return [];
    const found = [];
    for (const node of this.nodes) {
      const file = join(node.root, fidPath(node.devid, fid));
      const st = await stat(file).catch(() => null);
      // A copy still being written (a replicate job's, under its final name with the in-progress
      // mode) is no copy yet: GET and HEAD treat it as absent too.
      if (!st || isInProgress(st)) continue;
      // A delete job running meanwhile may remove the copy between the stat and the read.
      const sha256 = await sha256File(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw err;
      });
      if (sha256 !== null) found.push({ devid: node.devid, hostId: node.hostId, size: st.size, sha256 });
    }
    return found;
  }

  /**
   * The file at `path` is `expect`, whole, on at least `minReplicas` devices (default
   * mindevcount), each replica the store records is on disk with the right bytes. Returns what is wrong.
   */
  async checkStored(path: string, expect: { size: number; sha256: string }, minReplicas = this.cls.mindevcount): Promise<string | null> {
    const fid = await this.fidOf(path);
    if (fid === null) return `${path}: not in the namespace`;
    const file = await this.store.getFile(fid);
    if (!file) return `${path}: fid ${fid} has no file row`;
    if (file.length !== expect.size) return `${path}: length ${file.length}, expected ${expect.size}`;
    if (file.checksum !== null && file.checksum !== expect.sha256) return `${path}: recorded checksum differs`;
    const recorded = await this.store.replicasOf(fid);
    const onDisk = await this.replicasOnDisk(fid);
    for (const devid of recorded) {
      const r = onDisk.find((x) => x.devid === devid);
      if (!r) return `${path}: fid ${fid} recorded on device ${devid} but not there`;
      if (r.sha256 !== expect.sha256) return `${path}: fid ${fid} on device ${devid} has other bytes (${r.size} bytes)`;
    }
    const live = recorded.filter((d) => this.nodes.some((n) => n.devid === d));
    if (live.length < minReplicas) return `${path}: ${live.length} replicas, expected ${minReplicas}`;
    return null;
  }

  /**
   * After the delete queue drained: every replica file on disk is a recorded replica of a live
   * fid, and no temp file is left. Returns what is wrong.
   */
  async orphans(): Promise<string[]> {
    const { replicas, temps } = await this.filesOnDisk();
    const wrong = temps.map((t) => `temp file left: ${t}`);
    for (const r of replicas) {
      const file = await this.store.getFile(r.fid);
      if (!file) {
        const reserved = await this.store.getReservation(r.fid);
        wrong.push(`${r.path}: fid ${r.fid} is ${reserved ? 'an open reservation' : 'not live'}`);
      } else if (!(await this.store.replicasOf(r.fid)).includes(r.devid)) wrong.push(`${r.path}: fid ${r.fid} has no record on device ${r.devid}`);
    }
    return wrong;
  }

  /** Waits until the replicate and delete queues are empty (the jobs must be running). */
  async drained(timeoutMs = 60_000): Promise<void> {
    await until(
      'the replicate and delete queues to drain',
      async () => (await this.store.queueDepth('replicate')) === 0 && (await this.store.queueDepth('delete')) === 0,
      timeoutMs,
      200,
    );
  }
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
