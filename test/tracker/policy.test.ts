// Placement and replication policy, table-driven in MogileFS's own notation
// (t/multiple-hosts-replpol.t): `min=2 h1[d1=X d2=_] h2=down[d3=_ d4=_]`.
//
// Host: h<id>[=alive|down|dead][ <devices> ]. Device: d<id>[=<tokens joined by ,>], tokens:
//   X / _            has a copy / has none (default none)
//   alive|readonly|drain|down|dead   device status (default alive)
//   obs:<state>      observed state: unknown|writeable|readonly|unreachable (default writeable)
//   NN%              percent used of 1000 MB (default 10%, as MogileFS's test devices)
//   used/total       MB used / MB total
//   ?                usage not reported yet
//   w<N>             weight (default 100)
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { chooseDevicesForUpload, judgeReplicas, type ReplicaVerdict, type UploadChoiceOptions } from '../../src/tracker/policy.ts';
import type { DeviceStatus, DeviceView, HostStatus, ObservedState } from '../../src/tracker/types.ts';
import { isMogError, ErrorCodes } from '../../src/errors.ts';

interface Cluster {
  min: number;
  devices: DeviceView[];
  on: number[];
}

const DEVICE_STATUSES = new Set<string>(['alive', 'readonly', 'drain', 'down', 'dead']);
const HOST_STATUSES = new Set<string>(['alive', 'down', 'dead']);
const OBSERVED = new Set<string>(['unknown', 'writeable', 'readonly', 'unreachable']);

function parseCluster(spec: string): Cluster {
  let rest = spec.trim();
  let min = 2;
  const minMatch = /^min=(\d+)\s*/.exec(rest);
  if (minMatch) {
    min = Number(minMatch[1]);
    rest = rest.slice(minMatch[0].length);
  }
  const devices: DeviceView[] = [];
  const on: number[] = [];
  const seenHosts = new Set<number>();
  const seenDevs = new Set<number>();
  const hostRe = /^h(\d+)(?:=(\w+))?\[([^\]]*)\]\s*/;
  while (rest.length > 0) {
    const m = hostRe.exec(rest);
    if (!m) throw new Error(`cannot parse "${rest}" in "${spec}"`);
    rest = rest.slice(m[0].length);
    const hostId = Number(m[1]);
    const hostStatus = m[2] ?? 'alive';
    if (!HOST_STATUSES.has(hostStatus)) throw new Error(`bad host status ${hostStatus} in "${spec}"`);
    if (seenHosts.has(hostId)) throw new Error(`duplicate host h${hostId}`);
    seenHosts.add(hostId);
    for (const decl of m[3]!.trim().split(/\s+/).filter(Boolean)) {
      const dm = /^d(\d+)(?:=(.*))?$/.exec(decl);
      if (!dm) throw new Error(`bad device "${decl}" in "${spec}"`);
      const id = Number(dm[1]);
      if (seenDevs.has(id)) throw new Error(`duplicate device d${id}`);
      seenDevs.add(id);
      const dev: DeviceView = {
        id,
        hostId,
        status: 'alive',
        weight: 100,
        mbTotal: 1000,
        mbUsed: 100,
        observed: 'writeable',
        observedAt: 0,
        observedSince: 0,
        hostName: `h${hostId}`,
        hostAddress: '127.0.0.1',
        hostPort: 7500 + hostId,
        hostStatus: hostStatus as HostStatus,
      };
      for (const tok of (dm[2] ?? '').split(',').filter(Boolean)) {
        let t: RegExpExecArray | null;
        if (tok === 'X') on.push(id);
        else if (tok === '_') continue;
        else if (DEVICE_STATUSES.has(tok)) dev.status = tok as DeviceStatus;
        else if (tok.startsWith('obs:') && OBSERVED.has(tok.slice(4))) dev.observed = tok.slice(4) as ObservedState;
        else if ((t = /^(\d+(?:\.\d+)?)%$/.exec(tok))) {
          dev.mbTotal = 1000;
          dev.mbUsed = Number(t[1]) * 10;
        } else if ((t = /^(\d+)\/(\d+)$/.exec(tok))) {
          dev.mbUsed = Number(t[1]);
          dev.mbTotal = Number(t[2]);
        } else if (tok === '?') {
          dev.mbUsed = null;
          dev.mbTotal = null;
        } else if ((t = /^w(\d+)$/.exec(tok))) dev.weight = Number(t[1]);
        else throw new Error(`bad token "${tok}" in "${spec}"`);
      }
      devices.push(dev);
    }
  }
  return { min, devices, on };
}

/** mulberry32: a tiny seeded generator so every draw sequence is reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('notation parser', () => {
  test('reads hosts, devices, copies and modifiers', () => {
    const c = parseCluster('min=3 h1[d1=X d2=_,readonly] h2=down[d3=X,dead,obs:unreachable,95% d4=?,w0 d5=200/400]');
    assert.equal(c.min, 3);
    assert.deepEqual(c.on, [1, 3]);
    const d = new Map(c.devices.map((x) => [x.id, x]));
    assert.equal(d.get(2)!.status, 'readonly');
    assert.equal(d.get(3)!.hostStatus, 'down');
    assert.equal(d.get(3)!.status, 'dead');
    assert.equal(d.get(3)!.observed, 'unreachable');
    assert.equal(d.get(3)!.mbUsed, 950);
    assert.equal(d.get(4)!.mbTotal, null);
    assert.equal(d.get(4)!.weight, 0);
    assert.deepEqual([d.get(5)!.mbUsed, d.get(5)!.mbTotal], [200, 400]);
  });
  test('rejects what it cannot read', () => {
    assert.throws(() => parseCluster('h1[d1=Y]'));
    assert.throws(() => parseCluster('h1[d1] h1[d2]'));
    assert.throws(() => parseCluster('h1=sleepy[d1]'));
    assert.throws(() => parseCluster('h1[d1] junk'));
  });
});

interface JudgeRow {
  state: string;
  verdict: ReplicaVerdict;
  ideal?: number[];
  desperate?: number[];
  extra?: number[];
  /** Compare lists in order (otherwise as sets, like MogileFS's t_as_string). */
  ordered?: boolean;
  why: string;
}

const JUDGE_ROWS: JudgeRow[] = [
  // --- every scenario of MogileFS's t/multiple-hosts-replpol.t --------------------------
  { state: 'min=2 h1[d1=X d2=_] h2[d3=X d4=_]', verdict: 'all_good', why: 'mogilefs: all good' },
  { state: 'min=2 h1[d1=X d2=_] h2[d3=_ d4=_]', verdict: 'insufficient', ideal: [3, 4], why: 'mogilefs: need host2' },
  { state: 'min=2 h1[d1=X d2=X] h2[d3=_ d4=_]', verdict: 'insufficient', ideal: [3, 4], why: 'mogilefs: need host2, even though 2 on host1' },
  { state: 'min=2 h1[d1=_ d2=_] h2[d3=_ d4=_]', verdict: 'insufficient', ideal: [1, 2, 3, 4], why: 'mogilefs: anywhere' },
  { state: 'min=2 h1[d1=X d2=_] h2=down[d3=_ d4=_]', verdict: 'insufficient', desperate: [2], why: 'mogilefs: desperately d2, host2 is down' },
  { state: 'min=2 h1[d1=X d2=_] h2=down[d3=_ d4=_] h3[d5=_ d6=_]', verdict: 'insufficient', ideal: [5, 6], why: 'mogilefs: host3, since host2 is down' },
  { state: 'min=2 h1[d1=_ d2=X,dead] h2=alive[d3=X d4=_]', verdict: 'insufficient', ideal: [1], why: 'mogilefs: a copy on a non-dead disk of host1' },
  { state: 'min=3 h1[d1=_ d2=X] h2[d3=X d4=_]', verdict: 'insufficient', ideal: [1, 4], why: 'mogilefs: ideal, only 2 hosts exist' },
  { state: 'min=3 h1[d1=_ d2=X] h2[d3=X d4=_] h3[d5=_]', verdict: 'insufficient', ideal: [5], why: 'mogilefs: a 3rd host must get it' },
  { state: 'min=3 h1[d1=_ d2=X] h2[d3=X d4=_] h3=down[d5=_]', verdict: 'insufficient', desperate: [1, 4], why: 'mogilefs: 3rd host down, back to 1/4 desperately' },
  { state: 'min=2 h1[d1=X d2=_] h2[d3=X d4=_] h3[d5=X]', verdict: 'too_good', extra: [5], why: 'mogilefs: too good, unique hosts > min' },
  { state: 'min=2 h1[d1=X d2=X] h2[d3=X d4=_]', verdict: 'too_good', extra: [2], why: 'mogilefs: too good with unique hosts == min' },
  // MogileFS calls this all_good; here it is temp_sufficient (happy only because no 3rd host exists).
  { state: 'min=3 h1[d1=_ d2=X] h2[d3=X d4=X]', verdict: 'temp_sufficient', why: 'mogilefs: 3 copies, 2 on one host, all the hosts there are' },

  // --- draining devices: readable, but their copies must move -----------------------------
  { state: 'min=2 h1[d1=X,drain d2=_] h2[d3=X d4=_]', verdict: 'insufficient', ideal: [2], why: 'a drain copy does not count: copy to another device' },
  { state: 'min=2 h1[d1=X,drain d2=X] h2[d3=X d4=_]', verdict: 'all_good', extra: [1], why: 'replaced drain copy may go' },
  { state: 'min=2 h1[d1=X,drain d2=_] h2[d3=X,drain d4=_]', verdict: 'insufficient', ideal: [2, 4], why: 'only drain copies: both hosts are ideal' },
  { state: 'min=2 h1[d1=X d2=X] h2[d3=X] h3[d4=X,drain]', verdict: 'too_good', extra: [4, 2], ordered: true, why: 'drain copy first, then the surplus' },

  // --- readonly, unreachable, full, weight 0 --------------------------------------------------
  { state: 'min=2 h1[d1=X,readonly d2=_] h2[d3=X]', verdict: 'all_good', why: 'a readonly copy counts' },
  { state: 'min=2 h1[d1=X d4=_] h2[d2=_,readonly] h3[d3=_,obs:readonly]', verdict: 'insufficient', desperate: [4], why: 'readonly (status or observed) takes no copies' },
  { state: 'min=2 h1[d1=X] h2[d2=_,obs:unreachable d3=_]', verdict: 'insufficient', ideal: [3], why: 'an unreachable device takes no copies' },
  { state: 'min=2 h1[d1=X] h2[d2=_,w0 d3=_]', verdict: 'insufficient', ideal: [3], why: 'weight 0 takes no copies' },
  {
    state: 'min=2 h1[d1=X] h2[d2=_,96% d3=_,950/1000 d4=_,1900/2000 d5=_,?]',
    verdict: 'insufficient',
    ideal: [5, 4],
    ordered: true,
    why: '>95% full and <100 MB free skipped; exactly 95% with 100 MB is fine; unknown usage allowed',
  },
  { state: 'min=2 h1[d1=X] h2[d2=_,obs:unknown,?]', verdict: 'insufficient', ideal: [2], why: 'a never-polled device is a destination' },

  // --- hosts down or dead, devices down ------------------------------------------------------
  { state: 'min=2 h1[d1=X d2=_] h2=dead[d3=X d4=_]', verdict: 'insufficient', ideal: [2], why: 'a dead host neither holds copies nor counts as a host' },
  { state: 'min=2 h1[d1=X d2=_] h2=down[d3=X d4=_] h3[d5=_]', verdict: 'insufficient', ideal: [5], why: 'a copy on a down host does not count' },
  { state: 'min=2 h1[d1=X d2=X d4=_] h2=down[d3=_]', verdict: 'insufficient', why: 'enough copies, better host down: wait, no 3rd copy on host1' },
  { state: 'min=2 h1[d1=X] h2[d2=X,down d3=_]', verdict: 'insufficient', ideal: [3], why: 'a copy on a down device does not count' },

  // --- small clusters ------------------------------------------------------------------------
  { state: 'min=2 h1[d1=X d2=_ d3=_]', verdict: 'insufficient', ideal: [2, 3], why: 'one host: its other devices are ideal' },
  { state: 'min=3 h1[d1=X d2=X]', verdict: 'temp_sufficient', why: 'on every disk there is' },
  { state: 'min=2 h1[d1=X d2=X d3=_]', verdict: 'temp_sufficient', why: 'one host, enough copies' },
  { state: 'min=1 h1[d1=X] h2[d2=_]', verdict: 'all_good', why: 'min=1 with one copy' },
  { state: 'min=1 h1[d1=X] h2[d2=X,80%]', verdict: 'too_good', extra: [2], why: 'min=1 with two copies (MogileFS kept them)' },

  // --- which surplus copies go ------------------------------------------------------------------
  { state: 'min=2 h1[d1=X,50% d2=X,20%] h2[d3=X,90%]', verdict: 'too_good', extra: [1], why: 'same-host duplicate before the fullest device' },
  { state: 'min=2 h1[d1=X] h2[d2=X,90%] h3[d3=X]', verdict: 'too_good', extra: [2], why: 'no duplicates: the fullest device' },
  { state: 'min=2 h1[d1=X,readonly,90% d2=X] h2[d3=X]', verdict: 'too_good', extra: [2], why: 'a copy that can be deleted now before a readonly one' },
  {
    state: 'min=2 h1[d1=X d2=X d3=X] h2[d4=X] h3[d5=X,70%]',
    verdict: 'too_good',
    extra: [3, 2, 5],
    ordered: true,
    why: 'several: both duplicates, then the fullest',
  },
  { state: 'min=3 h1[d1=X d2=X] h2[d3=X d4=X]', verdict: 'too_good', extra: [4], why: 'on every host, one copy more than needed' },
  { state: 'min=2 h1[d1=X d2=X d3=X] h2[d4=_]', verdict: 'insufficient', ideal: [4], why: 'never trims while a host is still missing (MogileFS said too_good)' },

  // --- ordering of destinations -------------------------------------------------------------------
  { state: 'min=2 h1[d1=X] h2[d2=_,60%] h3[d3=_,20%] h4[d4=_,40%]', verdict: 'insufficient', ideal: [3, 4, 2], ordered: true, why: 'emptiest first' },
  // MogileFS's different-hosts defect: taking the first two ideal devices must give two hosts.
  { state: 'min=3 h1[d1=X] h2[d2=_,0% d3=_,0%] h3[d4=_,50%]', verdict: 'insufficient', ideal: [2, 4, 3], ordered: true, why: 'one device per host before a second on any host' },
];

describe('judgeReplicas (MultipleHosts)', () => {
  for (const row of JUDGE_ROWS) {
    test(`${row.state} => ${row.verdict}: ${row.why}`, () => {
      const c = parseCluster(row.state);
      const got = judgeReplicas(c.on, c.devices, c.min);
      const norm = (xs: number[]) => (row.ordered ? xs : [...xs].sort((a, b) => a - b));
      assert.deepEqual(
        { verdict: got.verdict, ideal: norm(got.ideal), desperate: norm(got.desperate), extra: norm(got.extra) },
        { verdict: row.verdict, ideal: norm(row.ideal ?? []), desperate: norm(row.desperate ?? []), extra: norm(row.extra ?? []) },
      );
      // The answer must not depend on the order the store listed devices or replicas in.
      const again = judgeReplicas([...c.on].reverse(), [...c.devices].reverse(), c.min);
      assert.deepEqual(again, got);
    });
  }

  test('unknown and repeated devids in the replica list are ignored', () => {
    const c = parseCluster('min=2 h1[d1=X d2=_] h2[d3=_]');
    assert.deepEqual(judgeReplicas([1, 1, 99], c.devices, 2), judgeReplicas([1], c.devices, 2));
    assert.deepEqual(judgeReplicas([1, 1, 99], c.devices, 2).ideal, [3]);
  });

  test('space limits can be changed', () => {
    const c = parseCluster('min=2 h1[d1=X] h2[d2=_,97%]');
    assert.deepEqual(judgeReplicas(c.on, c.devices, 2).ideal, []);
    assert.deepEqual(judgeReplicas(c.on, c.devices, 2, { maxFullPercent: 98, minFreeMb: 10 }).ideal, [2]);
  });

  test('a mindevcount below 1 is refused', () => {
    const c = parseCluster('h1[d1=X]');
    assert.throws(() => judgeReplicas(c.on, c.devices, 0), (e) => isMogError(e, ErrorCodes.INVALID_ARGUMENT));
    assert.throws(() => judgeReplicas(c.on, c.devices, 1.5), (e) => isMogError(e, ErrorCodes.INVALID_ARGUMENT));
  });
});

interface UploadRow {
  state: string;
  count: number;
  opts?: Omit<UploadChoiceOptions, 'random'>;
  /** How many devices every draw returns. */
  length: number;
  always?: number[];
  never?: number[];
  /** Share of draws (count 1) that pick `devid`, over many draws of one seeded generator. */
  share?: { devid: number; min: number; max: number };
  why: string;
}

const spread = (n: number, first: number, usage: (i: number) => string) =>
  Array.from({ length: n }, (_, i) => `d${first + i}=${usage(i)}`).join(' ');

const UPLOAD_ROWS: UploadRow[] = [
  { state: 'h1[d1=?,obs:unknown] h2[d2=?,obs:unknown]', count: 2, length: 2, always: [1, 2], why: 'a fresh, never-polled cluster accepts uploads' },
  { state: 'h1[d1=96% d2=950/1000 d3=50%]', count: 1, length: 1, always: [3], why: 'too full (percent) and too little free (MB) skipped' },
  { state: 'h1[d1=96%] h2[d2=950/1000]', count: 1, opts: { maxFullPercent: 97, minFreeMb: 10 }, length: 1, why: 'limits are options' },
  { state: 'h1[d1=96%] h2[d2=950/1000]', count: 2, length: 0, why: 'nothing fits: empty, the caller reports it' },
  {
    state: 'h1[d1=obs:unreachable] h2[d2=obs:readonly] h3[d3=readonly] h4[d4=drain] h5[d5=down] h6=down[d6] h7=dead[d7] h8[d8=dead] h9[d9] h10[d10=w0]',
    count: 3,
    length: 1,
    always: [9],
    why: 'unreachable, observed readonly, non-alive device or host, weight 0 skipped',
  },
  { state: 'h1[d1 d2 d3] h2[d4 d5]', count: 3, length: 2, why: 'at most one device per host' },
  { state: 'h1[d1] h2[d2]', count: 3, length: 2, always: [1, 2], why: 'fewer hosts than asked for' },
  { state: 'h1[d1 d2]', count: 0, length: 0, why: 'zero asked, zero given' },
  // MogileFS's defect compared a devid with host ids: d1 and d2 (ids 1, 2 = host ids) could both go.
  { state: 'h1[d1=0% d2=0%] h2[d3=60%]', count: 2, length: 2, always: [3], why: 'two devices of one host never both chosen while another host has room' },
  {
    state: `h1[${spread(25, 1, () => '0%')}] h2[d99=50%]`,
    count: 2,
    length: 2,
    always: [99],
    why: 'a host beyond the top 20 still gets its turn',
  },
  {
    state: Array.from({ length: 25 }, (_, i) => `h${i + 1}[d${i + 1}=${i + 1}%]`).join(' '),
    count: 1,
    length: 1,
    never: [21, 22, 23, 24, 25],
    why: 'only the 20 emptiest devices are drawn from',
  },
  { state: 'h1[d1=10%] h2[d2=90%]', count: 1, length: 1, share: { devid: 1, min: 0.87, max: 0.93 }, why: 'weighted by free space (90:10)' },
  { state: 'h1[d1=w100] h2[d2=w300]', count: 1, length: 1, share: { devid: 2, min: 0.72, max: 0.78 }, why: 'weighted by device weight (1:3)' },
  { state: 'h1[d1=?] h2[d2=40%]', count: 1, length: 1, share: { devid: 2, min: 0.52, max: 0.58 }, why: 'unknown usage weighs as half free (60:50)' },
];

describe('chooseDevicesForUpload', () => {
  for (const row of UPLOAD_ROWS) {
    test(`${row.state.length > 90 ? row.state.slice(0, 87) + '...' : row.state} x${row.count}: ${row.why}`, () => {
      const c = parseCluster(row.state);
      for (let seed = 1; seed <= 200; seed++) {
        const got = chooseDevicesForUpload(c.devices, row.count, { ...row.opts, random: seeded(seed) });
        const ids = got.map((d) => d.id);
        assert.equal(got.length, row.length, `seed ${seed}: ${ids.join(',')}`);
        assert.equal(new Set(got.map((d) => d.hostId)).size, got.length, `seed ${seed}: two devices on one host: ${ids}`);
        for (const id of row.always ?? []) assert.ok(ids.includes(id), `seed ${seed}: d${id} missing from ${ids}`);
        for (const id of row.never ?? []) assert.ok(!ids.includes(id), `seed ${seed}: d${id} chosen`);
        // Same seed, same answer.
        assert.deepEqual(chooseDevicesForUpload(c.devices, row.count, { ...row.opts, random: seeded(seed) }).map((d) => d.id), ids);
      }
      if (row.share) {
        const random = seeded(42);
        const draws = 4000;
        let hits = 0;
        for (let i = 0; i < draws; i++) if (chooseDevicesForUpload(c.devices, 1, { random })[0]?.id === row.share.devid) hits++;
        const share = hits / draws;
        assert.ok(share >= row.share.min && share <= row.share.max, `d${row.share.devid} share ${share}`);
      }
    });
  }

  test('every device of a host gets picked over many draws (the choice is random, not fixed)', () => {
    const c = parseCluster('h1[d1 d2 d3] h2[d4 d5]');
    const seen = new Set<number>();
    for (let seed = 1; seed <= 200; seed++) {
      for (const d of chooseDevicesForUpload(c.devices, 2, { random: seeded(seed) })) seen.add(d.id);
    }
    assert.deepEqual([...seen].sort(), [1, 2, 3, 4, 5]);
  });

  test('bad arguments are refused', () => {
    const c = parseCluster('h1[d1]');
    const bad = (e: unknown) => isMogError(e, ErrorCodes.INVALID_ARGUMENT);
    assert.throws(() => chooseDevicesForUpload(c.devices, -1), bad);
    assert.throws(() => chooseDevicesForUpload(c.devices, 1.5), bad);
    assert.throws(() => chooseDevicesForUpload(c.devices, 1, { maxFullPercent: 120 }), bad);
    assert.throws(() => chooseDevicesForUpload(c.devices, 1, { minFreeMb: -1 }), bad);
  });
});
