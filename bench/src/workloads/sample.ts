import { errorText } from '../proc.js';
import type { OpTrace } from '../systems/system.js';

/** One timed operation: its wall time as the caller saw it, and what it did. */
export interface OpSample {
  readonly ms: number;
  readonly trace: OpTrace;
}

/** Times `work` as the caller sees it (wall clock around the whole call). */
export async function timed(work: () => Promise<OpTrace>): Promise<OpSample> {
  const started = performance.now();
  const trace = await work();
  return { ms: performance.now() - started, trace };
}

/** Runs `fn` over `items` with at most `width` at a time, in order of start; collects failures instead of stopping. */
export async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>, errors: string[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        errors.push(errorText(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/** Writes a progress line to stderr, so `--json` keeps stdout for the one JSON object. */
export function progress(line: string): void {
  process.stderr.write(`[bench +${(performance.now() / 1000).toFixed(0)}s] ${line}\n`);
}
