// What a device's state (the operator's status and its host's) allows, in one place: reads,
// placement and the jobs all ask these, so a status means the same thing to each of them.
// Whether a device may take new copies also depends on its space and weight: policy.ts.
import type { DeviceView } from './types.ts';

/** Readable for serving and copying from: the node serves it and the operator has not written it off. */
export function isReadableDevice(d: DeviceView): boolean {
  return (d.status === 'alive' || d.status === 'readonly' || d.status === 'drain') && d.hostStatus === 'alive';
}

/** A copy here counts toward the file's class: readable, not being drained, on a host that is up. */
export function countsTowardClass(d: DeviceView): boolean {
  return (d.status === 'alive' || d.status === 'readonly') && d.hostStatus === 'alive';
}
