import type { Plan } from '../plan.js';
import type { ScaleResult } from '../scale-worker.js';
import { median, round, summarize, type Summary } from '../stats.js';
import type { OpTrace } from '../systems/system.js';
import { profileOf, type ProfileSummary } from './profile.js';

/** The samples of endpoints #from..#to (1-based, inclusive), failures left out. */
function window(values: readonly number[], from: number, to: number): number[] {
  return values.slice(Math.max(from - 1, 0), to).filter((v) => Number.isFinite(v));
}

function rounded(s: Summary): Summary {
  return { n: s.n, median: round(s.median), min: round(s.min), max: round(s.max) };
}

/** The samples of endpoints #from..#to with their traces, for a profile. */
function pick(traces: readonly OpTrace[], values: readonly number[], from: number, to: number) {
  return values
    .map((ms, i) => ({ ms, trace: traces[i] ?? { steps: [], store: [] }, k: i + 1 }))
    .filter((x) => x.k >= from && x.k <= to && Number.isFinite(x.ms));
}

/**
 * The scale workload in the report's terms. The ratios come from the probe
 * (the 10th and the Nth endpoint timed side by side, round after round); the
 * fill's windows around #10 and #N-1 and its curve by hundreds are reported
 * too, but they were timed minutes apart, so the machine's load differs
 * between them. Also the memory readings and profiles.
 */
export function summarizeScale(s: ScaleResult, plan: Plan) {
  const n = plan.scale;
  const filled = s.attachMs.length;
  const lowFrom = 10 - Math.floor(plan.window / 2) + 1;
  const lowTo = lowFrom + plan.window - 1;
  const highFrom = filled - plan.window + 1;
  const ms = (ops: readonly { ms: number }[]) => ops.map((o) => o.ms);
  const p10 = { attach: summarize(ms(s.probes.at10.attach)), detach: summarize(ms(s.probes.at10.detach)) };
  const pN = { attach: summarize(ms(s.probes.atN.attach)), detach: summarize(ms(s.probes.atN.detach)) };
  const profile: Record<string, ProfileSummary> = {
    [`scale probe: attach of the 10th endpoint`]: profileOf(s.probes.at10.attach),
    [`scale probe: attach of the ${n}th endpoint`]: profileOf(s.probes.atN.attach),
    [`scale probe: detach of the 10th endpoint`]: profileOf(s.probes.at10.detach),
    [`scale probe: detach of the ${n}th endpoint`]: profileOf(s.probes.atN.detach),
    [`scale fill: attach #${lowFrom}-#${lowTo}`]: profileOf(pick(s.attachTraces, s.attachMs, lowFrom, lowTo)),
    [`scale fill: attach #${highFrom}-#${filled}`]: profileOf(pick(s.attachTraces, s.attachMs, highFrom, filled)),
  };
  const step = n >= 500 ? 100 : Math.max(10, Math.floor(n / 10));
  const curve = [];
  for (let from = 1; from <= filled; from += step) {
    const to = Math.min(from + step - 1, filled);
    curve.push({
      endpoints: `#${from}-#${to}`,
      attachMedianMs: round(median(window(s.attachMs, from, to))),
      detachMedianMs: round(median(window(s.detachMs, from, to))),
    });
  }
  return {
    attach: { low: round(p10.attach.median), high: round(pN.attach.median) },
    detach: { low: round(p10.detach.median), high: round(pN.detach.median) },
    profile,
    scale: {
      endpoints: n,
      networks: plan.scaleNetworks,
      probe: {
        rounds: plan.probes,
        at10: { endpoint: 10, attach: rounded(p10.attach), detach: rounded(p10.detach) },
        atN: { endpoint: n, attach: rounded(pN.attach), detach: rounded(pN.detach) },
      },
      fill: {
        around10: {
          endpoints: `#${lowFrom}-#${lowTo}`,
          attach: rounded(summarize(window(s.attachMs, lowFrom, lowTo))),
          detach: rounded(summarize(window(s.detachMs, lowFrom, lowTo))),
        },
        aroundN: {
          endpoints: `#${highFrom}-#${filled}`,
          attach: rounded(summarize(window(s.attachMs, highFrom, filled))),
          detach: rounded(summarize(window(s.detachMs, highFrom, filled))),
        },
      },
      curve,
      createNetworkMs: s.networkMs.map((v) => round(v)),
      memory: {
        held: s.memory.held,
        rssStartedMb: round(s.memory.started.rssMb, 1),
        rssEmptyMb: round(s.memory.empty.rssMb, 1),
        rssHoldingMb: round(s.memory.holding.rssMb, 1),
        heapUsedEmptyMb: round(s.memory.empty.heapUsedMb, 1),
        heapUsedHoldingMb: round(s.memory.holding.heapUsedMb, 1),
        externalEmptyMb: round(s.memory.empty.externalMb, 1),
        externalHoldingMb: round(s.memory.holding.externalMb, 1),
      },
      failures: s.errors.length,
      firstErrors: s.errors.slice(0, 5),
    },
  };
}
