import type { Plan } from '../plan.js';
import { errorText } from '../proc.js';
import type { EndpointSystem } from '../systems/system.js';
import { progress, timed, type OpSample } from './sample.js';

export type Variant = 'noport' | 'port';

/** The attach and detach samples of one system in one variant. */
export interface SingleRow {
  readonly key: string;
  readonly label: string;
  readonly variant: Variant;
  readonly attach: OpSample[];
  readonly detach: OpSample[];
  readonly errors: string[];
}

const PORT = 8080;
/** A system that failed this many times in a row is left out of the rest of the workload. */
const GIVE_UP_AFTER = 3;

/**
 * Attach and detach of one bridge endpoint, without and with one published
 * port. Iterations go round-robin over the systems and variants, so a slow
 * spell of the shared machine hits every row alike instead of one.
 */
export async function runSingle(systems: readonly EndpointSystem[], plan: Plan): Promise<SingleRow[]> {
  const rows: SingleRow[] = [];
  for (const system of systems) {
    for (const variant of ['noport', 'port'] as const) {
      rows.push({ key: system.key, label: system.label, variant, attach: [], detach: [], errors: [] });
    }
  }
  const failuresInARow = new Map<string, number>();
  const total = plan.warmup + plan.iterations;
  for (let i = 0; i < total; i++) {
    if (i % 5 === 0) progress(`single endpoint: iteration ${i + 1}/${total}`);
    for (const row of rows) {
      const system = systems.find((s) => s.key === row.key) as EndpointSystem;
      if ((failuresInARow.get(row.key) ?? 0) >= GIVE_UP_AFTER) continue;
      const name = `s${i}${row.variant === 'port' ? 'p' : 'n'}`;
      const port = row.variant === 'port' ? PORT : undefined;
      try {
        const attach = await timed(() => system.attach(name, port));
        const detach = await timed(() => system.detach(name));
        if (i >= plan.warmup) {
          row.attach.push(attach);
          row.detach.push(detach);
        }
        failuresInARow.set(row.key, 0);
      } catch (error) {
        row.errors.push(errorText(error));
        failuresInARow.set(row.key, (failuresInARow.get(row.key) ?? 0) + 1);
        progress(`${row.label} (${row.variant}) failed: ${errorText(error)}`);
        // Whatever was made must not hold the port or the address for the next iteration.
        await system.detach(name).catch(() => undefined);
      }
    }
  }
  return rows;
}
