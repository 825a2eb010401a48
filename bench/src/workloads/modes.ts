import { registerContainerDriver } from '@netmode/driver-container';
import { registerHostDriver } from '@netmode/driver-host';
import { registerNoneDriver } from '@netmode/driver-none';
import { IP, inNetns, type Namespaces } from '../namespaces.js';
import type { Plan } from '../plan.js';
import { errorText, mustRun } from '../proc.js';
import type { Profiler } from '../profiler.js';
import { createNetmode } from '../systems/netmode.js';
import { emptyTrace, step } from '../systems/system.js';
import { progress, timed, type OpSample } from './sample.js';

/** Attach and detach samples of one non-bridge mode. */
export interface ModeRow {
  readonly mode: string;
  readonly label: string;
  readonly attach: OpSample[];
  readonly detach: OpSample[];
  readonly errors: string[];
}

/**
 * Attach of `none`, `host` and `container:NAME` with netmode, and the floor
 * of `none` (`ip netns add` and `lo` up in one in-namespace batch, detach by
 * `ip netns delete`). The `container:` joiner joins a `none` target made once,
 * untimed, so it measures joining alone.
 */
export async function runModes(ns: Namespaces, tmp: string, profiler: Profiler, plan: Plan): Promise<ModeRow[]> {
  const { manager } = await createNetmode(ns, tmp, profiler, 'nm-modes', [registerNoneDriver, registerHostDriver, registerContainerDriver]);
  const rows: ModeRow[] = [
    { mode: 'none', label: 'netmode none', attach: [], detach: [], errors: [] },
    { mode: 'host', label: 'netmode host', attach: [], detach: [], errors: [] },
    { mode: 'container', label: 'netmode container:NAME (target: a none endpoint)', attach: [], detach: [], errors: [] },
    { mode: 'floor-none', label: 'floor none: ip netns add + lo up', attach: [], detach: [], errors: [] },
  ];
  const target = 'modes-target';
  try {
    await manager.connect(target, 'none');
  } catch (error) {
    rows[2]?.errors.push(`target: ${errorText(error)}`);
  }
  const total = plan.warmup + plan.iterations;
  progress(`modes none, host, container: and the none floor: ${total} rounds`);
  for (let i = 0; i < total; i++) {
    for (const row of rows) {
      const id = `modes-${row.mode}-${i}`;
      try {
        let attach: OpSample;
        let detach: OpSample;
        if (row.mode === 'floor-none') {
          const netns = ns.name(`c-flnone-${i}`);
          attach = await timed(async () => {
            const trace = emptyTrace();
            await step(trace, 'ip netns add', () => mustRun([IP, 'netns', 'add', netns]));
            await step(trace, 'ip -batch @sandbox (lo up)', () =>
              mustRun(inNetns(netns, [IP, '-batch', '-']), { input: 'link set dev lo up\n' }),
            );
            return trace;
          });
          detach = await timed(async () => {
            const trace = emptyTrace();
            await step(trace, 'ip netns delete', () => mustRun([IP, 'netns', 'delete', netns]));
            return trace;
          });
        } else {
          const mode = row.mode === 'container' ? `container:${target}` : row.mode;
          attach = await timed(async () => (await profiler.trace(() => manager.connect(id, mode))).trace);
          detach = await timed(async () => (await profiler.trace(() => manager.disconnect(id))).trace);
        }
        if (i >= plan.warmup) {
          row.attach.push(attach);
          row.detach.push(detach);
        }
      } catch (error) {
        row.errors.push(errorText(error));
        if (row.mode !== 'floor-none') await manager.disconnect(id).catch(() => undefined);
      }
    }
  }
  await manager.disconnect(target).catch(() => undefined);
  manager.events.removeAllListeners();
  return rows;
}
