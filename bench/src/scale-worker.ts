/**
 * The scale workload, run in a child process of its own (forked with
 * --expose-gc) so that its resident memory is that of an SDK process holding
 * N endpoints and nothing else of the benchmark.
 *
 * Two netmode instances, each with its own host namespace, store and
 * `networks` user-defined bridge networks (a Linux bridge takes at most 1024
 * ports, so endpoints go round-robin over several): the large one is filled
 * with N-1 endpoints with one published port each (every attach timed: the
 * fill curve), the small one with 9. Then the probe: each round attaches one
 * more endpoint on both (the Nth and the 10th), then detaches both, the
 * order alternating from round to round, so the two are compared on the same
 * machine at the same moment; filling and probing at different times would
 * compare the machine's load as much as netmode. The RSS is read while the
 * large instance holds N. Finally the large instance is emptied in reverse
 * order, every detach timed. Reports over IPC; failures are counted, never
 * thrown.
 */
import { registerBridgeDriver } from '@netmode/driver-bridge';
import type { NetworkManager } from '@netmode/core';
import { memory, type MemoryReading } from './memory.js';
import { Namespaces } from './namespaces.js';
import { errorText } from './proc.js';
import { Profiler } from './profiler.js';
import { createNetmode } from './systems/netmode.js';
import type { OpTrace } from './systems/system.js';
import { serveWorker } from './workloads/worker.js';

export interface ScaleParams {
  readonly prefix: string;
  readonly tmp: string;
  readonly endpoints: number;
  readonly networks: number;
  readonly probes: number;
}

export interface TracedOp {
  readonly ms: number;
  readonly trace: OpTrace;
}

export interface ScaleResult {
  /** Wall time of attaching endpoint #k of the fill at index k-1 (k up to N-1). */
  readonly attachMs: number[];
  /** Wall time of detaching endpoint #k at index k-1 (emptied last to first: #k went while k endpoints existed). */
  readonly detachMs: number[];
  readonly attachTraces: OpTrace[];
  readonly detachTraces: OpTrace[];
  /** The probe: attach and detach of the 10th endpoint (small instance) and of the Nth (large one), side by side. */
  readonly probes: {
    readonly at10: { readonly attach: TracedOp[]; readonly detach: TracedOp[] };
    readonly atN: { readonly attach: TracedOp[]; readonly detach: TracedOp[] };
  };
  readonly networkMs: number[];
  readonly memory: {
    readonly started: MemoryReading;
    readonly empty: MemoryReading;
    readonly holding: MemoryReading;
    readonly held: number;
  };
  readonly errors: string[];
}

const FIRST_PORT = 30000;
const PROBE_PORT = 40000;
/** Traces of the fill are kept for the first and last endpoints only, so the benchmark's own data adds next to nothing to the RSS. */
const TRACED = 30;
const NO_TRACE: OpTrace = { steps: [], store: [] };

interface Fleet {
  readonly manager: NetworkManager;
  readonly networks: string[];
  held: number;
}

async function makeFleet(
  ns: Namespaces,
  params: ScaleParams,
  profiler: Profiler,
  key: string,
  second: number,
  networkMs: number[],
): Promise<Fleet> {
  const { manager } = await createNetmode(ns, params.tmp, profiler, key, [registerBridgeDriver]);
  const networks: string[] = [];
  for (let k = 0; k < params.networks; k++) {
    const t = performance.now();
    // /22 each: 1021 addresses, more than one bridge's share of the endpoints.
    const network = await manager.createNetwork({
      name: `scale${k}`,
      driver: 'bridge',
      subnets: [{ subnet: `10.${second}.${4 * k}.0/22` }],
    });
    networkMs.push(performance.now() - t);
    networks.push(network.name);
  }
  return { manager, networks, held: 0 };
}

/** Attaches one endpoint with one published port on the fleet's next network, round-robin. */
function attachOne(fleet: Fleet, profiler: Profiler, id: string, hostPort: number) {
  const network = fleet.networks[fleet.held % fleet.networks.length] as string;
  return profiler.trace(() => fleet.manager.connect(id, network, { ports: [{ hostPort, containerPort: 80 }] }));
}

async function run(params: ScaleParams): Promise<ScaleResult> {
  const started = memory();
  const ns = Namespaces.withPrefix(params.prefix);
  const profiler = new Profiler();
  const errors: string[] = [];
  const networkMs: number[] = [];
  const large = await makeFleet(ns, params, profiler, 'nm-scale', 232, networkMs);
  const empty = memory();

  const n = params.endpoints;
  const attachMs: number[] = [];
  const attachTraces: OpTrace[] = [];
  const filled: number[] = [];
  const traced = (k: number) => k <= TRACED || k > n - 1 - TRACED;
  for (let k = 1; k < n; k++) {
    try {
      const op = await attachOne(large, profiler, `scale-${k}`, FIRST_PORT + k);
      large.held++;
      attachMs.push(op.ms);
      attachTraces.push(traced(k) ? op.trace : NO_TRACE);
      filled.push(k);
    } catch (error) {
      attachMs.push(Number.NaN);
      attachTraces.push(NO_TRACE);
      errors.push(`attach ${k}: ${errorText(error)}`);
    }
    if (k % 100 === 0) process.stderr.write(`[bench] scale: ${k}/${n - 1} attached\n`);
  }

  const small = await makeFleet(ns, params, profiler, 'nm-scale10', 234, []);
  for (let k = 1; k < 10; k++) {
    await attachOne(small, profiler, `small-${k}`, FIRST_PORT + k).then(
      () => small.held++,
      (error: unknown) => errors.push(`small attach ${k}: ${errorText(error)}`),
    );
  }

  process.stderr.write(`[bench] scale: probing the 10th and the ${n}th endpoint, ${params.probes} rounds\n`);
  const probes: ScaleResult['probes'] = { at10: { attach: [], detach: [] }, atN: { attach: [], detach: [] } };
  let holding: MemoryReading | undefined;
  let held = 0;
  for (let r = 0; r < params.probes; r++) {
    const order =
      r % 2 === 0
        ? ([
            [small, probes.at10],
            [large, probes.atN],
          ] as const)
        : ([
            [large, probes.atN],
            [small, probes.at10],
          ] as const);
    // Both instances share the name prefix, and sandbox names derive from the container id: one id each.
    const idOf = (fleet: Fleet) => `${fleet === small ? 'p10' : 'pN'}-${r}`;
    const attached = new Set<Fleet>();
    for (const [fleet, into] of order) {
      try {
        const op = await attachOne(fleet, profiler, idOf(fleet), PROBE_PORT);
        into.attach.push({ ms: op.ms, trace: op.trace });
        attached.add(fleet);
      } catch (error) {
        errors.push(`probe ${r} attach: ${errorText(error)}`);
      }
    }
    if (holding === undefined && attached.has(large)) {
      holding = memory();
      held = large.held + 1;
    }
    for (const [fleet, into] of order) {
      if (!attached.has(fleet)) continue;
      try {
        const op = await profiler.trace(() => fleet.manager.disconnect(idOf(fleet)));
        into.detach.push({ ms: op.ms, trace: op.trace });
      } catch (error) {
        errors.push(`probe ${r} detach: ${errorText(error)}`);
      }
    }
  }

  const detachMs: number[] = new Array<number>(n - 1).fill(Number.NaN);
  const detachTraces: OpTrace[] = new Array<OpTrace>(n - 1).fill(NO_TRACE);
  for (const k of filled.reverse()) {
    try {
      const op = await profiler.trace(() => large.manager.disconnect(`scale-${k}`));
      detachMs[k - 1] = op.ms;
      if (traced(k)) detachTraces[k - 1] = op.trace;
    } catch (error) {
      errors.push(`detach ${k}: ${errorText(error)}`);
    }
    if (k % 100 === 1 && k > 1) process.stderr.write(`[bench] scale: ${k - 1} endpoints left\n`);
  }
  // The small instance and both sets of networks go with the host namespaces at the run's cleanup.
  return {
    attachMs,
    detachMs,
    attachTraces,
    detachTraces,
    probes,
    networkMs,
    memory: { started, empty, holding: holding ?? memory(), held },
    errors,
  };
}

serveWorker(run, errorText);
