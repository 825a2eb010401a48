import { constants as os } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DemoRun } from './demo-run.js';

/**
 * On SIGINT or SIGTERM: let the step under way finish (so that a container
 * being started is recorded and found by the cleanup), start no other,
 * clean up, exit with 128 + the signal's number. Install it first, so that
 * no moment of the demo is unguarded; `cleanup` is read when a signal comes.
 * Returns the function that removes the handlers.
 */
export function cleanUpOnSignal(run: DemoRun, cleanup: () => Promise<unknown>): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (run.interrupted) return;
    run.interrupted = signal;
    run.out.note(`\n${signal}: removing everything the demo made…`);
    void (async () => {
      await Promise.race([run.settled(), sleep(15_000)]);
      await cleanup();
      process.exit(128 + (os.signals[signal] ?? 0));
    })();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
