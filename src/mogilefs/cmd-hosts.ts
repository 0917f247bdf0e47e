// The host and device commands mogadm sends: get_hosts, create/update/delete_host, get_devices,
// create_device, set_state, set_weight. They change the same hosts and devices the monitor,
// placement and `mogftp admin` use; this process's cached device view is dropped at once.
import { ErrorCodes, isMogError } from '../errors.ts';
import type { DeviceStatus, DeviceView, Host, HostStatus } from '../tracker/types.ts';
import type { Command, DoorContext } from './context.ts';
import { Refusal } from './errors.ts';
import type { Args, Reply } from './protocol.ts';

const HOST_STATES: readonly string[] = ['alive', 'down', 'dead'];
const DEVICE_STATES: readonly string[] = ['alive', 'readonly', 'drain', 'down', 'dead'];

export const getHosts: Command = async (ctx, args) => {
  const only = args.int('hostid');
  const reply: Reply = { hosts: 0 };
  let n = 0;
  for (const h of await ctx.store.listHosts()) {
    if (only !== null && h.id !== only) continue;
    const p = `host${++n}_`;
    Object.assign(reply, { [`${p}hostid`]: h.id, [`${p}hostname`]: h.name, [`${p}hostip`]: h.address, [`${p}http_port`]: h.httpPort, [`${p}status`]: h.status });
  }
  reply.hosts = n;
  return reply;
};

async function hostNamed(ctx: DoorContext, name: string, code: string): Promise<Host> {
  const host = name === '' ? null : await ctx.store.getHost(name);
  if (!host) throw new Refusal(code, 'Host not found');
  return host;
}

function hostStatus(args: Args): HostStatus | undefined {
  const s = args.text('status');
  if (s === '') return undefined;
  if (!HOST_STATES.includes(s)) throw new Refusal('unknown_state', 'Invalid/unknown state');
  return s as HostStatus;
}

function port(args: Args): number | undefined {
  const p = args.int('port');
  if (p === null) return undefined;
  if (!(p > 0 && p < 65536)) throw new Refusal('bad_params', 'The port must be 1..65535');
  return p;
}

/** create_host: a new host starts down unless a status is given, as in MogileFS. */
export const createHost: Command = async (ctx, args) => {
  const name = args.text('host');
  if (name === '') throw new Refusal('no_host', 'No host provided');
  if (await ctx.store.getHost(name)) throw new Refusal('host_exists', 'That host already exists');
  const address = args.text('ip');
  if (address === '') throw new Refusal('no_ip', 'IP required to create host');
  const httpPort = port(args);
  if (!httpPort) throw new Refusal('no_port', 'Port required to create host');
  const h = await ctx.store.createHost({ name, address, httpPort, status: hostStatus(args) ?? 'down' });
  ctx.tracker.invalidateDevices();
  return { hostid: h.id, hostname: h.name };
};

export const updateHost: Command = async (ctx, args) => {
  const host = await hostNamed(ctx, args.text('host'), 'host_not_found');
  const address = args.text('ip');
  const h = await ctx.store.updateHost(host.id, { ...(address ? { address } : {}), httpPort: port(args), status: hostStatus(args) });
  ctx.tracker.invalidateDevices();
  return { hostid: h.id, hostname: h.name };
};

export const deleteHost: Command = async (ctx, args) => {
  const host = await hostNamed(ctx, args.text('host'), 'unknown_host');
  if ((await ctx.store.listDevices()).some((d) => d.hostId === host.id)) throw new Refusal('host_not_empty', 'Unable to delete host; it contains devices still');
  await ctx.store.removeHost(host.id);
  ctx.tracker.invalidateDevices();
  return {};
};

function deviceFields(d: DeviceView): Reply {
  const free = d.mbTotal !== null && d.mbUsed !== null ? d.mbTotal - d.mbUsed : '';
  return {
    devid: d.id,
    hostid: d.hostId,
    status: d.status,
    weight: d.weight,
    mb_total: d.mbTotal ?? '',
    mb_used: d.mbUsed ?? '',
    mb_asof: d.observedAt === null ? '' : Math.floor(d.observedAt / 1000),
    mb_free: free,
    observed_state: d.observed === 'unknown' ? '' : d.observed,
    utilization: '',
    reject_bad_md5: '',
  };
}

export const getDevices: Command = async (ctx, args) => {
  const only = args.int('devid');
  const reply: Reply = {};
  let n = 0;
  for (const d of await ctx.store.listDevices()) {
    if (only !== null && d.id !== only) continue;
    n++;
    for (const [k, v] of Object.entries(deviceFields(d))) reply[`dev${n}_${k}`] = v;
  }
  reply.devices = n;
  return reply;
};

function deviceState(args: Args, name: string, fallback?: DeviceStatus): DeviceStatus {
  const s = args.text(name) || fallback;
  if (!s || !DEVICE_STATES.includes(s)) throw new Refusal('invalid_state', 'Invalid/unknown state');
  return s as DeviceStatus;
}

export const createDevice: Command = async (ctx, args) => {
  const status = deviceState(args, 'state', 'alive');
  const devid = args.int('devid');
  if (!devid || !Number.isSafeInteger(devid)) throw new Refusal('invalid_devid', 'invalid_devid');
  const hostid = args.int('hostid');
  const host = hostid ? await ctx.store.getHost(hostid) : args.text('hostname') ? await ctx.store.getHost(args.text('hostname')) : undefined;
  if (host === undefined) throw new Refusal('bad_args', 'No hostid/hostname parameter');
  if (!host) throw new Refusal(hostid ? 'unknown_hostid' : 'unknown_host', 'Host not found');
  try {
    await ctx.store.createDevice({ hostId: host.id, devid, status });
  } catch (err) {
    if (isMogError(err, ErrorCodes.EXISTS)) throw new Refusal('existing_devid', 'That devid is taken');
    throw err;
  }
  ctx.tracker.invalidateDevices();
  return {};
};

/** The device `device` of host `host` (set_state and set_weight name both). */
async function deviceOnHost(ctx: DoorContext, args: Args): Promise<DeviceView> {
  const devid = args.int('device');
  if (!devid || args.text('host') === '') throw new Refusal('bad_params', 'Invalid parameters to command; please see documentation');
  const d = await ctx.store.getDevice(devid);
  if (!d) throw new Refusal('no_device', 'Device not found');
  if (d.hostName !== args.text('host')) throw new Refusal('host_mismatch', "The device specified doesn't belong to the host specified");
  return d;
}

export const setState: Command = async (ctx, args) => {
  const state = deviceState(args, 'state');
  const d = await deviceOnHost(ctx, args);
  // A dead device's copies are already being replaced: it never comes back (MogileFS's rule too).
  if (d.status === 'dead' && state !== 'dead') throw new Refusal('state_too_high', 'Status cannot go from dead to alive; must use down');
  await ctx.store.updateDevice(d.id, { status: state });
  ctx.tracker.invalidateDevices();
  return {};
};

export const setWeight: Command = async (ctx, args) => {
  const weight = args.int('weight');
  if (weight === null || !Number.isSafeInteger(weight)) throw new Refusal('bad_params', 'Invalid parameters to command; please see documentation');
  const d = await deviceOnHost(ctx, args);
  await ctx.store.updateDevice(d.id, { weight });
  ctx.tracker.invalidateDevices();
  return {};
};
