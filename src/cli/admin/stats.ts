// `mogftp admin stats`: the cluster at a glance — files and bytes, files short of their
// replica count or on too few hosts, queue depths, what each device holds, and the fsck run.
import { fsckProgress } from '../../jobs/fsck-run.ts';
import type { QueueName } from '../../tracker/types.ts';
import { leaf, withStore } from './context.ts';
import { formatTable, jsonOption, say, type Column } from './output.ts';

const QUEUES: QueueName[] = ['replicate', 'delete', 'fsck'];

interface DeviceStat {
  devid: number;
  host: string;
  status: string;
  hostStatus: string;
  observed: string;
  replicas: number;
  bytes: number;
  mbTotal: number | null;
  mbUsed: number | null;
}

const columns: Column<DeviceStat>[] = [
  { header: 'DEVID', value: (d) => d.devid },
  { header: 'HOST', value: (d) => d.host },
  { header: 'STATUS', value: (d) => d.status },
  { header: 'OBSERVED', value: (d) => d.observed },
  { header: 'REPLICAS', value: (d) => d.replicas },
  { header: 'BYTES', value: (d) => d.bytes },
  { header: 'MB_USED', value: (d) => d.mbUsed },
  { header: 'MB_TOTAL', value: (d) => d.mbTotal },
];

export const statsCommand = leaf<{ json: boolean }>({
  command: 'stats',
  describe: 'Files, bytes, under-replicated files, files on too few hosts, queue depths and per-device usage',
  builder: (y) => y.option('json', { ...jsonOption, describe: 'Print JSON' }),
  handler: async (args) => {
    await withStore(args, async (store) => {
      const [files, usage, devices, fsck] = await Promise.all([store.fileStats(), store.deviceUsage(), store.listDevices(), fsckProgress(store)]);
      const queues = Object.fromEntries(await Promise.all(QUEUES.map(async (q) => [q, await store.queueDepth(q)] as const))) as Record<QueueName, number>;
      const held = new Map(usage.map((u) => [u.devid, u]));
      const perDevice: DeviceStat[] = devices.map((d) => ({
        devid: d.id,
        host: d.hostName,
        status: d.status,
        hostStatus: d.hostStatus,
        observed: d.observed,
        replicas: held.get(d.id)?.replicas ?? 0,
        bytes: held.get(d.id)?.bytes ?? 0,
        mbTotal: d.mbTotal,
        mbUsed: d.mbUsed,
      }));
      const record = {
        files: files.files,
        bytes: files.bytes,
        underReplicated: files.underReplicated,
        onTooFewHosts: files.onTooFewHosts,
        usableHosts: files.usableHosts,
        queues,
        devices: perDevice,
        fsck: fsck.state ? { status: fsck.state.status, checked: fsck.checked, total: fsck.state.total, findings: fsck.findings } : null,
      };
      if (args.json) {
        process.stdout.write(JSON.stringify(record, null, 2) + '\n');
        return;
      }
      say(`files: ${record.files} (${record.bytes} bytes), under-replicated: ${record.underReplicated}, on too few hosts: ${record.onTooFewHosts} (of ${record.usableHosts} usable hosts)`);
      say(`queues: ${QUEUES.map((q) => `${q} ${queues[q]}`).join(', ')}`);
      if (record.fsck) say(`fsck: ${record.fsck.status}, ${record.fsck.checked} of ${record.fsck.total} checked`);
      process.stdout.write(formatTable(columns, perDevice));
    });
  },
});
