import type { Namespaces } from '../namespaces.js';
import type { Plan } from '../plan.js';
import type { ScaleParams, ScaleResult } from '../scale-worker.js';
import { progress } from './sample.js';
import { runWorker } from './worker.js';

/**
 * Runs the scale workload in a child process (see scale-worker.ts) and
 * resolves with what it reports, or with an error message.
 */
export function runScale(ns: Namespaces, tmp: string, plan: Plan): Promise<ScaleResult | string> {
  progress(`scale: ${plan.scale} endpoints over ${plan.scaleNetworks} networks, in a child process`);
  return runWorker<ScaleParams, ScaleResult>('scale-worker.js', {
    prefix: ns.prefix,
    tmp,
    endpoints: plan.scale,
    networks: plan.scaleNetworks,
    probes: plan.probes,
  });
}
