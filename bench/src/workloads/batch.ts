import { errorText } from '../proc.js';
import type { EndpointSystem } from '../systems/system.js';
import { pool, progress, timed, type OpSample } from './sample.js';

/** One system setting up and tearing down N endpoints, each with one published port, `width` at a time. */
export interface BatchRun {
  readonly key: string;
  readonly label: string;
  readonly endpoints: number;
  readonly width: number;
  readonly setupMs: number;
  readonly teardownMs: number;
  readonly attach: OpSample[];
  readonly detach: OpSample[];
  readonly errors: string[];
}

const FIRST_PORT = 20000;

/**
 * N endpoints with one published port each: all set up, then all torn down,
 * `width` at a time (1: sequentially). A keeper endpoint is attached first
 * and detached last, untimed, so every system's bridge and firewall base
 * already exist and no system pays for creating or removing them inside the
 * timed part (netavark deletes its bridge with the last endpoint).
 */
export async function runBatch(system: EndpointSystem, endpoints: number, width: number, round: string): Promise<BatchRun> {
  const errors: string[] = [];
  const attach: OpSample[] = [];
  const detach: OpSample[] = [];
  const names = Array.from({ length: endpoints }, (_, i) => `${round}${i}`);
  const ports = new Map(names.map((name, i) => [name, FIRST_PORT + i]));
  progress(`${endpoints} endpoints, ${width} at a time: ${system.label}`);
  const keeper = `${round}keep`;
  try {
    await system.attach(keeper, FIRST_PORT - 1);
  } catch (error) {
    errors.push(`keeper: ${errorText(error)}`);
  }
  const attached: string[] = [];
  let started = performance.now();
  await pool(
    names,
    width,
    async (name) => {
      attach.push(await timed(() => system.attach(name, ports.get(name))));
      attached.push(name);
    },
    errors,
  );
  const setupMs = performance.now() - started;
  started = performance.now();
  await pool(
    attached,
    width,
    async (name) => {
      detach.push(await timed(() => system.detach(name)));
    },
    errors,
  );
  const teardownMs = performance.now() - started;
  await system.detach(keeper).catch((error: unknown) => errors.push(`keeper: ${errorText(error)}`));
  if (errors.length > 0) progress(`${system.label}: ${errors.length} failures, first: ${errors[0]}`);
  return { key: system.key, label: system.label, endpoints, width, setupMs, teardownMs, attach, detach, errors };
}
