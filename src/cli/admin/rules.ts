// The few rules the operator's commands check before asking the store, kept out of the
// yargs wiring so they read as policy.
import { mogError, ErrorCodes } from '../../errors.ts';
import type { DeviceStatus } from '../../tracker/types.ts';

/** A class needs at least one replica, and an upload can't wait for more copies than it makes. */
export function checkClassPolicy(mindevcount: number, writeQuorum: number | undefined): void {
  if (!Number.isSafeInteger(mindevcount) || mindevcount < 1)
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `--mindevcount must be at least 1, not ${mindevcount}`);
  if (writeQuorum === undefined) return;
  if (!Number.isSafeInteger(writeQuorum) || writeQuorum < 1)
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `--write-quorum must be at least 1, not ${writeQuorum}`);
  if (writeQuorum > mindevcount)
    throw mogError(
      ErrorCodes.INVALID_ARGUMENT,
      `Write quorum ${writeQuorum} is above mindevcount ${mindevcount}: an upload can't wait for more copies than the class keeps`,
    );
}

/** Dead means the data is gone and its replicas are re-made elsewhere: there is no way back. */
export function checkDeviceTransition(devid: number, from: DeviceStatus, to: DeviceStatus): void {
  if (from === 'dead' && to !== 'dead')
    throw mogError(ErrorCodes.INVALID_ARGUMENT, `Device ${devid} is dead and cannot be revived; add a new device instead`);
}
