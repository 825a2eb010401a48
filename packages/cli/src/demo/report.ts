import { ExitCode } from '../cli-error.js';
import { formatTable } from '../output/table.js';
import type { DemoRun } from './demo-run.js';
import type { PathResult } from './paths.js';
import type { Throwaway } from './throwaway.js';

/** Prints the matrix of paths, expected against observed. */
export function printPathMatrix(run: DemoRun, results: readonly PathResult[]): void {
  const matrix = formatTable(
    ['PATH', 'FROM', 'TO', 'EXPECTED', 'OBSERVED', 'MS', ''],
    results.map((r) => [r.path, r.from, r.to, r.expected, r.observed, r.ms === null ? '-' : r.ms.toFixed(1), r.ok ? '✓' : '✗']),
  );
  run.say(matrix);
  run.say('');
}

/**
 * Prints the teardown steps and the verdict (or, with `--json`, the whole
 * report) and returns the exit status: 3 if a path differed or something
 * was left behind.
 */
export function reportVerdict(run: DemoRun, place: Throwaway, results: readonly PathResult[], problems: readonly string[]): number {
  for (const step of run.teardown) run.sayStep(step);
  const failed = results.filter((r) => !r.ok);
  const ok = failed.length === 0 && problems.length === 0;
  if (run.json) {
    run.out.json({
      ok,
      prefix: place.prefix,
      firewall: place.firewall,
      steps: run.steps,
      paths: results,
      teardown: run.teardown,
      leftovers: problems,
    });
  } else {
    run.say('');
    run.say(
      problems.length === 0
        ? 'Removed everything: no namespace, process or state of the demo is left.'
        : `Left behind: ${problems.join('; ')}`,
    );
    run.say(
      `${results.length - failed.length} of ${results.length} paths as expected${failed.length > 0 ? `; differing: ${failed.map((r) => r.path).join('; ')}` : ''}.`,
    );
  }
  return ok ? ExitCode.OK : ExitCode.CHECK_FAILED;
}
