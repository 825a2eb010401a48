import type { Namespaces } from '../namespaces.js';
import type { Plan } from '../plan.js';
import type { RssParams, RssResult } from '../rss-worker.js';
import { progress } from './sample.js';
import { runWorker } from './worker.js';

/** Runs the spawn-cost-against-resident-memory workload in a child process (see rss-worker.ts). */
export function runRss(ns: Namespaces, tmp: string, plan: Plan): Promise<RssResult | string> {
  progress('spawn and attach cost against the SDK process resident memory, in a child process');
  return runWorker<RssParams, RssResult>('rss-worker.js', {
    prefix: ns.prefix,
    tmp,
    ballastMiB: [0, 1024, 2048],
    spawns: plan.quick ? 10 : 20,
    attaches: plan.quick ? 5 : 10,
  });
}
