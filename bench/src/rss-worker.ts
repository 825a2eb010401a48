/**
 * What starting a process costs as the SDK's process grows (issue 6: "a spawn
 * from a Node process with 2 GiB resident costs 60–80 ms here"), run in a
 * child process of its own so the ballast is the only thing that grows.
 *
 * At each ballast level (resident buffers of 0, 1 and 2 GiB, touched so they
 * are really resident) it times: `/bin/true` started with
 * `child_process.spawn`; the same through netmode's default runner
 * (`ExecaRunner`, execa); the same through the runner inside a named
 * namespace (`nsenter --net=`), directly and through the helper process
 * (`HelperRunner`); and netmode attach and detach of one bridge endpoint
 * with one published port, with `processes: 'direct'` and `'helper'`. Never throws: failures are reported.
 */
import { spawn } from 'node:child_process';
import { ExecaRunner, HelperRunner, namedNetns } from '@netmode/core';
import { registerBridgeDriver } from '@netmode/driver-bridge';
import { memory } from './memory.js';
import { Namespaces } from './namespaces.js';
import { errorText } from './proc.js';
import { Profiler } from './profiler.js';
import { createNetmode } from './systems/netmode.js';
import type { OpTrace } from './systems/system.js';
import { serveWorker } from './workloads/worker.js';

export interface RssParams {
  readonly prefix: string;
  readonly tmp: string;
  readonly ballastMiB: readonly number[];
  readonly spawns: number;
  readonly attaches: number;
}

export interface RssLevel {
  readonly ballastMiB: number;
  readonly rssMb: number;
  readonly spawnMs: number[];
  readonly runnerMs: number[];
  readonly runnerNsenterMs: number[];
  readonly helperNsenterMs: number[];
  readonly attach: { ms: number; trace: OpTrace }[];
  readonly detach: { ms: number; trace: OpTrace }[];
  readonly helperAttach: { ms: number; trace: OpTrace }[];
  readonly helperDetach: { ms: number; trace: OpTrace }[];
}

export interface RssResult {
  readonly levels: RssLevel[];
  readonly ballastChunks: number;
  readonly errors: string[];
}

const CHUNK = 256 * 2 ** 20;

function spawnTrue(): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/true', [], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', () => resolve(performance.now() - started));
  });
}

async function run(params: RssParams): Promise<RssResult> {
  const ns = Namespaces.withPrefix(params.prefix);
  const profiler = new Profiler();
  const bridge = (c: Parameters<typeof registerBridgeDriver>[0]) => registerBridgeDriver(c, { bip: '10.233.0.1/16' });
  const { manager, host } = await createNetmode(ns, params.tmp, profiler, 'nm-rss', [bridge]);
  // The same through the helper process: its own host namespace, store and bridge subnet.
  const helperBridge = (c: Parameters<typeof registerBridgeDriver>[0]) => registerBridgeDriver(c, { bip: '10.234.0.1/16' });
  const helped = await createNetmode(ns, params.tmp, profiler, 'nm-rsh', [helperBridge], true, 'helper');
  const runner = new ExecaRunner();
  const helperRunner = new HelperRunner();
  const hostNetns = namedNetns(host);
  const errors: string[] = [];
  const ballast: Buffer[] = [];
  const levels: RssLevel[] = [];
  // Warm up: the bridge, the firewall base and the code paths exist before the first timed level.
  await manager
    .connect('rss-warm', 'bridge', { ports: [{ hostPort: 8080, containerPort: 80 }] })
    .catch((e: unknown) => errors.push(errorText(e)));
  await manager.disconnect('rss-warm').catch((e: unknown) => errors.push(errorText(e)));
  await helped.manager
    .connect('rsh-warm', 'bridge', { ports: [{ hostPort: 8080, containerPort: 80 }] })
    .catch((e: unknown) => errors.push(errorText(e)));
  await helped.manager.disconnect('rsh-warm').catch((e: unknown) => errors.push(errorText(e)));
  for (const target of params.ballastMiB) {
    while (ballast.length * (CHUNK / 2 ** 20) < target) ballast.push(Buffer.alloc(CHUNK, 1));
    const level: RssLevel = {
      ballastMiB: target,
      rssMb: memory().rssMb,
      spawnMs: [],
      runnerMs: [],
      runnerNsenterMs: [],
      helperNsenterMs: [],
      attach: [],
      detach: [],
      helperAttach: [],
      helperDetach: [],
    };
    process.stderr.write(`[bench] spawn cost at ${target} MiB ballast (RSS ${level.rssMb.toFixed(0)} MiB)\n`);
    try {
      for (let i = 0; i < params.spawns; i++) {
        level.spawnMs.push(await spawnTrue());
        level.runnerMs.push((await runner.run({ command: '/bin/true', args: [] })).durationMs);
        level.runnerNsenterMs.push((await runner.run({ command: '/bin/true', args: [], netns: hostNetns })).durationMs);
        level.helperNsenterMs.push((await helperRunner.run({ command: '/bin/true', args: [], netns: hostNetns })).durationMs);
      }
      for (let i = 0; i < params.attaches; i++) {
        const id = `rss-${target}-${i}`;
        const attach = await profiler.trace(() => manager.connect(id, 'bridge', { ports: [{ hostPort: 8080, containerPort: 80 }] }));
        level.attach.push({ ms: attach.ms, trace: attach.trace });
        const detach = await profiler.trace(() => manager.disconnect(id));
        level.detach.push({ ms: detach.ms, trace: detach.trace });
        const helperAttach = await profiler.trace(() =>
          helped.manager.connect(`rsh-${target}-${i}`, 'bridge', { ports: [{ hostPort: 8080, containerPort: 80 }] }),
        );
        level.helperAttach.push({ ms: helperAttach.ms, trace: helperAttach.trace });
        const helperDetach = await profiler.trace(() => helped.manager.disconnect(`rsh-${target}-${i}`));
        level.helperDetach.push({ ms: helperDetach.ms, trace: helperDetach.trace });
      }
    } catch (error) {
      errors.push(`at ${target} MiB: ${errorText(error)}`);
    }
    levels.push(level);
  }
  helperRunner.close();
  // Read after the last level, which keeps the ballast alive (resident) through it.
  return { levels, ballastChunks: ballast.length, errors };
}

serveWorker(run, errorText);
