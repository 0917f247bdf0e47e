// `mogftp admin device ...`: devices (one directory dev<devid> on a host, normally one disk).
import { mogError, ErrorCodes, describeError, isMogError } from '../../errors.ts';
import { emptyDeadDevice } from '../../jobs/dead-devices.ts';
import { silentLog } from '../../jobs/runner.ts';
import type { DeviceStatus, DeviceView } from '../../tracker/types.ts';
import { leaf, noun, requireDevice, requireHost, withStore } from './context.ts';
import { createDeviceDir, isLocalAddress } from './local-dirs.ts';
import { formatTime, jsonOption, printList, say, type Column } from './output.ts';
import { checkDeviceTransition } from './rules.ts';
import { parseDevid, parseIntegerArg } from './values.ts';

const DEVICE_STATUSES: DeviceStatus[] = ['alive', 'readonly', 'drain', 'down', 'dead'];

/** The stable JSON shape of a device: the operator's status beside what the monitor saw. */
export function deviceRecord(d: DeviceView) {
  return {
    devid: d.id,
    hostId: d.hostId,
    host: d.hostName,
    status: d.status,
    weight: d.weight,
    observed: d.observed,
    observedAt: d.observedAt,
    mbTotal: d.mbTotal,
    mbUsed: d.mbUsed,
  };
}
type DeviceRecord = ReturnType<typeof deviceRecord>;

const columns: Column<DeviceRecord>[] = [
  { header: 'DEVID', value: (d) => d.devid },
  { header: 'HOST', value: (d) => d.host },
  { header: 'STATUS', value: (d) => d.status },
  { header: 'WEIGHT', value: (d) => d.weight },
  { header: 'OBSERVED', value: (d) => d.observed },
  { header: 'OBSERVED_AT', value: (d) => formatTime(d.observedAt) },
  { header: 'MB_TOTAL', value: (d) => d.mbTotal },
  { header: 'MB_USED', value: (d) => d.mbUsed },
];

const add = leaf<{ host: string; devid?: string; status?: DeviceStatus; weight?: string; root?: string }>({
  command: 'add <host> [devid]',
  describe: 'Add a device to a host; the devid is the next free one unless given',
  builder: (y) =>
    y
      .positional('host', { type: 'string', describe: 'Host name' })
      .positional('devid', { type: 'string', describe: 'Device id to use (never reused once taken)' })
      .option('status', { choices: DEVICE_STATUSES.filter((s) => s !== 'dead'), describe: 'Initial status (default alive)' })
      .option('weight', { type: 'string', describe: 'Placement weight (default 100)' })
      .option('root', { type: 'string', describe: "The storage node's root directory: create ROOT/dev<devid> when the host is this machine" }),
  handler: async (args) => {
    const devid = args.devid === undefined ? undefined : parseDevid(args.devid);
    const weight = args.weight === undefined ? undefined : parseIntegerArg('--weight', args.weight, 0);
    await withStore(args, async (store) => {
      const host = await requireHost(store, args.host);
      const dev = await store.createDevice({ hostId: host.id, devid, status: args.status, weight });
      say(`Added device ${dev.id} on host ${host.name} (${dev.status}, weight ${dev.weight})`);
      if (args.root === undefined) return;
      if (!isLocalAddress(host.address)) {
        say(`Host ${host.name} is not this machine: create ${args.root}/dev${dev.id} on it yourself`);
        return;
      }
      try {
        say(`Created ${await createDeviceDir(args.root, dev.id)}`);
      } catch (err) {
        throw mogError(ErrorCodes.INVALID_ARGUMENT, `Device ${dev.id} was added, but its directory could not be created: ${describeError(err)}`);
      }
    });
  },
});

const list = leaf<{ json: boolean }>({
  command: 'list',
  describe: 'List devices with their status and what the monitor last saw',
  builder: (y) => y.option('json', jsonOption),
  handler: async (args) => {
    await withStore(args, async (store) => {
      printList(args.json, (await store.listDevices()).map(deviceRecord), columns);
    });
  },
});

const mark = leaf<{ devid: string; status: DeviceStatus }>({
  command: 'mark <devid> <status>',
  describe: 'Set a device status: alive, readonly, drain, down or dead (dead is final)',
  builder: (y) => y.positional('devid', { type: 'string' }).positional('status', { choices: DEVICE_STATUSES }),
  handler: async (args) => {
    const devid = parseDevid(args.devid);
    await withStore(args, async (store) => {
      const dev = await requireDevice(store, devid);
      checkDeviceTransition(devid, dev.status, args.status);
      const updated = await store.updateDevice(devid, { status: args.status });
      say(`Marked device ${updated.id} ${updated.status}`);
      if (updated.status !== 'dead' || dev.status === 'dead') return;
      // Do the dead-device sweep's first step here, so re-replication starts within a jobs
      // process's queue poll (1 s) rather than at its next sweep (every 30 s).
      let queued: number;
      try {
        queued = await emptyDeadDevice({ store, log: silentLog }, devid); // its one log line is the "Queued" below
      } catch (err) {
        throw mogError(
          isMogError(err) ? err.code : ErrorCodes.INTERNAL,
          `Device ${devid} is marked dead, but queueing its files stopped (${describeError(err)}); the jobs' dead-device sweep finishes it within 30 s`,
          err,
        );
      }
      say(`Queued ${queued} file(s) from device ${devid} for re-replication; a running 'mogftp jobs' copies them from the other replicas`);
    });
  },
});

const remove = leaf<{ devid: string }>({
  command: 'remove <devid>',
  describe: 'Remove a device that holds no replicas (its devid is never reused)',
  builder: (y) => y.positional('devid', { type: 'string' }),
  handler: async (args) => {
    const devid = parseDevid(args.devid);
    await withStore(args, async (store) => {
      await requireDevice(store, devid);
      await store.removeDevice(devid);
      say(`Removed device ${devid}`);
    });
  },
});

export const deviceCommand = noun('device', 'Manage storage devices', [add, list, mark, remove]);
