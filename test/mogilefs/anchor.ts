// The real MogileFS cluster of /work/shared/mogilefs/up.sh ("the anchor") as the interop tests
// use it: its tools, its database (read only), the .fid files on its mogstored devices, and
// `mogftp tracker` started on an imported copy of it.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { fidPath } from '../../src/storage/layout.ts';
import { run } from '../harness/clients.ts';
import { testStorageKeyFile } from '../harness/nodes.ts';
import { endProcess, Tail, waitForLine } from '../harness/processes.ts';
import { BIN } from '../harness/quickstart-process.ts';

export const ANCHOR = '/tmp/mogilefs-anchor';
export const ANCHOR_TRACKER = '127.0.0.1:26001';
const DB = { host: '127.0.0.1', port: 3306, user: 'mogile_anchor', password: 'anchorpw', database: 'mogilefs_anchor' };
export const ANCHOR_DB_URL = `mysql://${DB.user}:${DB.password}@${DB.host}:${DB.port}/${DB.database}`;

/** A MogileFS tool with the cluster's environment (env.sh: PERL5LIB, PATH), against `trackers`. */
export function mog(tool: string, args: string[], trackers = ANCHOR_TRACKER) {
  const cmd = `. ${ANCHOR}/env.sh && exec ${tool} --trackers="$0" "$@"`;
  return run('bash', ['-c', cmd, trackers, ...args], { timeoutMs: 120_000 });
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Every .fid file on the three mogstored devices: path → size, mtime and sha256. */
export async function fidFiles(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.fid')) {
        const st = await stat(p);
        out.set(p, `${st.size} ${st.mtimeMs} ${await sha256File(p)}`);
      }
    }
  };
  for (const n of [1, 2, 3]) if (existsSync(join(ANCHOR, `st${n}`, `dev${n}`, '0'))) await walk(join(ANCHOR, `st${n}`, `dev${n}`, '0'));
  return out;
}

/** A file as the MogileFS database has it, with the sha256 of its copy on a mogstored device. */
export interface AnchorFile {
  fid: number;
  key: Buffer;
  length: number;
  sha256: string;
}

/**
 * Every file of a domain in the MogileFS database (read only), its bytes' sha256 taken from a copy
 * on disk (device N is on host stN in this cluster; every copy of a fid must agree).
 */
export async function anchorFiles(domain: string): Promise<AnchorFile[]> {
  const conn = await mysql.createConnection(DB);
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>(
      `SELECT f.fid, CAST(f.dkey AS BINARY) AS dkey, f.length, GROUP_CONCAT(o.devid) AS devids
         FROM file f JOIN domain d ON d.dmid = f.dmid LEFT JOIN file_on o ON o.fid = f.fid
        WHERE d.namespace = ? GROUP BY f.fid ORDER BY f.fid`,
      [domain],
    );
    const out: AnchorFile[] = [];
    for (const r of rows) {
      const fid = Number(r.fid);
      const sums = new Set<string>();
      for (const devid of String(r.devids ?? '').split(',').filter(Boolean).map(Number)) {
        sums.add(await sha256File(join(ANCHOR, `st${devid}`, fidPath(devid, fid))));
      }
      if (sums.size !== 1) throw new Error(`fid ${fid}: ${sums.size} different copies on mogstored`);
      out.push({ fid, key: Buffer.from(r.dkey as Buffer), length: Number(r.length), sha256: [...sums][0]! });
    }
    return out;
  } finally {
    await conn.end();
  }
}

/**
 * `mogftp tracker` on `dbUrl`, with the storage key and the mogstored hosts named unsigned (they
 * check no signature and refuse a PUT URL with a query): its address and how to stop it.
 */
export async function startMogftpTracker(dbUrl: string, unsignedHosts: string[]): Promise<{ address: string; stop(): Promise<void> }> {
  const args = [BIN, 'tracker', '--db', dbUrl, '--listen', '127.0.0.1:0', '--storage-key-file', testStorageKeyFile(), '--unsigned-hosts', unsignedHosts.join(','), '--log-level', 'warn'];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new Tail(16_000);
  out.attach(proc.stdout!);
  out.attach(proc.stderr!);
  const address = await waitForLine(proc, /mogftp tracker listening on (\S+)/, { timeoutMs: 30_000, what: 'mogftp tracker', diagnostics: () => out.text(), killOnFailure: true });
  return { address, stop: () => endProcess(proc, 'SIGTERM', 10_000) };
}
