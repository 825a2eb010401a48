import type { DemoInput } from '../inputs/demo.js';
import { buildTheWorld, startContainersInEveryMode } from '../demo/containers.js';
import { DemoRun } from '../demo/demo-run.js';
import { cleanUpOnSignal } from '../demo/on-signal.js';
import { probeEveryPath } from '../demo/probe-paths.js';
import { printPathMatrix, reportVerdict } from '../demo/report.js';
import { prepareThrowaway, removeEverythingTheDemoMade, type Throwaway } from '../demo/throwaway.js';
import { PROBE } from '../demo/world.js';
import type { Session } from '../session.js';

/** The first lines: where the demo runs, and how each step would be typed. */
function introduce(run: DemoRun, { prefix, stateDir, firewall }: Throwaway): void {
  run.say(`netmode demo: host namespace ${prefix}host, outside world ${prefix}ext, state in ${stateDir}, firewall ${firewall}`);
  run.say(
    `Each step is what you would type as: netmode --host-netns ${prefix}host --state-dir ${stateDir} --name-prefix ${prefix} --firewall ${firewall} …`,
  );
  run.say(`probe.js is ${PROBE}\n`);
}

/**
 * `netmode demo`: every mode at work in a throwaway world, probed path by
 * path, then removed. See `netmode demo --help`. Its declaration refused
 * running without root or without a firewall.
 */
export async function demoCommand(session: Session, { options }: DemoInput): Promise<number> {
  const run = new DemoRun(session.out, options.json);
  // Everything the demo makes is removed once: by the finally below, or by
  // the signal handler, whichever comes first.
  let cleanup: () => Promise<string[]> = async () => [];
  const unguard = cleanUpOnSignal(run, () => cleanup());
  const place = await prepareThrowaway(session, session.globals.firewall ?? 'nftables');
  let cleaning: Promise<string[]> | undefined;
  cleanup = () => (cleaning ??= removeEverythingTheDemoMade(place, run));
  try {
    introduce(run, place);
    await buildTheWorld(run, place);
    const containers = await startContainersInEveryMode(run, place);
    const results = await probeEveryPath(run, place, containers);
    printPathMatrix(run, results);
    return reportVerdict(run, place, results, await cleanup());
  } finally {
    await cleanup();
    unguard();
  }
}
