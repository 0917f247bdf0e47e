// The device monitor: every few seconds, for each device of each host not marked dead, it reads
// the node's usage and does a test write (PUT, read back, compare, DELETE), then records what it
// saw with store.observeDevice. It only records observations; the operator's status is never
// touched (auto-dead is the dead-device sweep's decision, made from these observations).
import { randomBytes } from 'node:crypto';
import { describeError } from '../errors.ts';
import { httpStatusOf, isNoAnswer } from '../storage/client.ts';
import type { NodeUsage, StorageClient } from '../storage/client.ts';
import type { CallOptions } from '../storage/client-request.ts';
import { nodeBaseUrl } from '../storage/layout.ts';
import type { DeviceView, ObservedState, Store } from '../tracker/types.ts';

export interface MonitorOptions {
  client: StorageClient;
  /** Pause between the start of one round and the next. Default 3000. */
  intervalMs?: number;
  /** Limit for each request of a check, so a dead host is noticed fast. Default 2000. */
  requestTimeoutMs?: number;
  now?: () => number;
  log?: (msg: string) => void;
}

export interface Monitor {
  /** One full round now (after any round in progress). */
  runOnce(): Promise<void>;
  /** Stops the loop and waits for a round in progress. */
  stop(): Promise<void>;
}

interface Observation {
  observed: ObservedState;
  usage: NodeUsage | null;
  /** Why the device is not writeable, for the log. */
  reason?: string;
}

export function startMonitor(store: Store, opts: MonitorOptions): Monitor {
  const intervalMs = opts.intervalMs ?? 3000;
  const call: CallOptions = { timeoutMs: opts.requestTimeoutMs ?? 2000, retries: 0 };
  const now = opts.now ?? Date.now;
  const log = opts.log ?? ((msg: string) => process.stderr.write(`mogftp monitor: ${msg}\n`));
  const { client } = opts;
  const lastSeen = new Map<number, ObservedState>();

  async function round(): Promise<void> {
    const devices = (await store.listDevices()).filter((d) => d.hostStatus !== 'dead' && d.status !== 'dead');
    await Promise.all(
      devices.map(async (d) => {
        try {
          const obs = await check(d);
          await store.observeDevice(d.id, {
            observed: obs.observed,
            at: now(),
            ...(obs.usage ? { mbTotal: Math.round(obs.usage.totalKb / 1024), mbUsed: Math.round(obs.usage.usedKb / 1024) } : {}),
          });
          const was = lastSeen.get(d.id) ?? d.observed;
          if (was !== obs.observed) log(`dev${d.id} on ${d.hostName}: ${was} → ${obs.observed}${obs.reason ? ` (${obs.reason})` : ''}`);
          lastSeen.set(d.id, obs.observed);
        } catch (err) {
          log(`dev${d.id} on ${d.hostName}: could not record an observation: ${describeError(err)}`);
        }
      }),
    );
  }

  async function check(d: DeviceView): Promise<Observation> {
    const base = nodeBaseUrl(d.hostAddress, d.hostPort);
    const [usage, write] = await Promise.allSettled([client.usage(base, d.id, call), testWrite(base, d.id)]);
    const usageValue = usage.status === 'fulfilled' ? usage.value : null;
    if (write.status === 'fulfilled') return { observed: 'writeable', usage: usageValue };
    const reason = describeError(write.reason);
    // Our node answers 404 to a PUT on a device directory it does not have: nothing to reach.
    if (httpStatusOf(write.reason) === 404) return { observed: 'unreachable', usage: null, reason };
    const answered = usage.status === 'fulfilled' || !isNoAnswer(usage.reason) || !isNoAnswer(write.reason);
    return { observed: answered ? 'readonly' : 'unreachable', usage: usageValue, reason };
  }

  async function testWrite(base: string, devid: number): Promise<void> {
    const url = `${base}/dev${devid}/test-write/test-write-${Date.now()}${randomBytes(3).readUIntBE(0, 3)}`;
    const body = randomBytes(64);
    await client.put(url, body, { checksumAlg: 'none' }, call);
    try {
      const { stream } = await client.get(url, {}, call);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      if (!Buffer.concat(chunks).equals(body)) throw new Error('the test write read back different bytes');
    } catch (err) {
      await client.delete(url, call).catch(() => {});
      throw err;
    }
    await client.delete(url, call);
  }

  // Rounds never overlap: runOnce queues behind the round in progress.
  let chain: Promise<void> = Promise.resolve();
  function runOnce(): Promise<void> {
    const p = chain.then(round);
    chain = p.catch(() => {});
    return p;
  }

  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const loop = async () => {
    const started = Date.now();
    try {
      await runOnce();
    } catch (err) {
      log(`round failed: ${describeError(err)}`);
    }
    if (!stopped) timer = setTimeout(loop, Math.max(0, intervalMs - (Date.now() - started)));
  };
  timer = setTimeout(loop, 0);

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await chain;
    },
  };
}
