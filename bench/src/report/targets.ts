import type { Plan } from '../plan.js';

/** One target of issue 6 against this run's measurement. */
export interface Target {
  readonly name: string;
  readonly target: string;
  readonly value: number | null;
  /** null when not measured, or not comparable (a --quick run's smaller counts). */
  readonly met: boolean | null;
}

/** The run's batch results as the targets need them. */
interface BatchTotals {
  readonly key: string;
  readonly width: number;
  readonly setupMs: number;
  readonly teardownMs: number;
}

/** The targets of issue 6, each with what this run measured; a benchmark reports them, it never fails on them. */
export function buildTargets(plan: Plan, ratios: Readonly<Record<string, number>>, batch: readonly BatchTotals[]): Target[] {
  const check = (name: string, value: number | undefined, limit: number, target: string, comparable = true): Target => {
    const v = value !== undefined && Number.isFinite(value) ? value : null;
    return { name, target, value: v, met: v === null || !comparable ? null : v <= limit };
  };
  const targets = [
    check('attachPortVsCni', ratios['attachPortVsCni'], 0.2, '≤ 0.2×'),
    check('attachPortVsNetavark', ratios['attachPortVsNetavark'], 0.3, '≤ 0.3×'),
    check('detachPortVsCni', ratios['detachPortVsCni'], 0.1, '≤ 0.1×'),
    check('detachPortVsNetavark', ratios['detachPortVsNetavark'], 0.1, '≤ 0.1×'),
  ];
  const full = plan.batch === 100;
  for (const width of [1, plan.concurrency]) {
    const run = batch.find((b) => b.key === 'nm-nft' && b.width === width);
    const how = width === 1 ? 'sequentially' : `${width} at a time`;
    targets.push(check(`batch${plan.batch}Setup (${how}), ms`, run?.setupMs, 1000, '≤ 1000 ms for 100', full));
    targets.push(check(`batch${plan.batch}Teardown (${how}), ms`, run?.teardownMs, 500, '≤ 500 ms for 100', full));
  }
  targets.push(check('endpoint1000Vs10', ratios['endpoint1000Vs10'], 1.25, '≤ 1.25×', plan.scale >= 1000));
  targets.push(check('attachVsFloor', ratios['attachVsFloor'], 1.5, '≤ 1.5×'));
  // The same per-endpoint targets with processes: 'helper'.
  for (const [name, limit, target] of [
    ['attachPortVsCni', 0.2, '≤ 0.2×'],
    ['attachPortVsNetavark', 0.3, '≤ 0.3×'],
    ['detachPortVsCni', 0.1, '≤ 0.1×'],
    ['detachPortVsNetavark', 0.1, '≤ 0.1×'],
    ['attachVsFloor', 1.5, '≤ 1.5×'],
  ] as const) {
    targets.push(check(`helper.${name}`, ratios[`helper.${name}`], limit, target));
  }
  return targets;
}
