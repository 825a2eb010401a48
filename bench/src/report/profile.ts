import { median, round } from '../stats.js';
import type { OpSample } from '../workloads/sample.js';

/** One kind of step of an operation, over all samples. */
export interface StepSummary {
  readonly label: string;
  /** Calls per operation (mean: a retry or a slow path shows as a fraction). */
  readonly perOp: number;
  /** Median wall time of one call. */
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
}

/**
 * Where the time of one kind of operation goes, as medians over its samples:
 * processes (spawn to exit, as the runner measured them), state-store
 * transactions (lock wait, reads, writes, fsyncs) and reads outside them, and
 * the rest (JavaScript, validation, events, scheduling).
 */
export interface ProfileSummary {
  readonly samples: number;
  readonly wallMs: number;
  readonly processes: number;
  readonly processMs: number;
  readonly storeTransactions: number;
  readonly storeTransactionMs: number;
  readonly storeReads: number;
  readonly storeReadMs: number;
  readonly otherMs: number;
  /** The processes, by label. */
  readonly steps: StepSummary[];
  /** The state-store calls, by kind and calling SDK function. */
  readonly storeCalls: StepSummary[];
}

export function profileOf(samples: readonly OpSample[]): ProfileSummary {
  const perOp = samples.map((s) => {
    // A process inside a transaction is already counted in the transaction's time.
    const outside = s.trace.steps.filter((p) => !p.inTx);
    const tx = s.trace.store.filter((c) => c.kind === 'transaction');
    const reads = s.trace.store.filter((c) => c.kind !== 'transaction');
    const processMs = sum(outside.map((p) => p.ms));
    const txMs = sum(tx.map((c) => c.ms));
    const readMs = sum(reads.map((c) => c.ms));
    return {
      processes: s.trace.steps.length,
      processMs,
      tx: tx.length,
      txMs,
      reads: reads.length,
      readMs,
      other: s.ms - processMs - txMs - readMs,
    };
  });
  const n = samples.length;
  const group = (items: (sample: OpSample) => readonly { label: string; ms: number }[]): StepSummary[] => {
    const byLabel = new Map<string, number[]>();
    for (const sample of samples) {
      for (const item of items(sample)) {
        const list = byLabel.get(item.label) ?? [];
        list.push(item.ms);
        byLabel.set(item.label, list);
      }
    }
    return [...byLabel].map(([label, ms]) => ({
      label,
      perOp: round(ms.length / Math.max(n, 1), 2),
      medianMs: r(median(ms)),
      minMs: r(Math.min(...ms)),
      maxMs: r(Math.max(...ms)),
    }));
  };
  return {
    samples: n,
    wallMs: r(median(samples.map((s) => s.ms))),
    processes: median(perOp.map((p) => p.processes)),
    processMs: r(median(perOp.map((p) => p.processMs))),
    storeTransactions: median(perOp.map((p) => p.tx)),
    storeTransactionMs: r(median(perOp.map((p) => p.txMs))),
    storeReads: median(perOp.map((p) => p.reads)),
    storeReadMs: r(median(perOp.map((p) => p.readMs))),
    otherMs: r(median(perOp.map((p) => p.other))),
    steps: group((s) => s.trace.steps),
    storeCalls: group((s) => s.trace.store.map((c) => ({ label: `${c.kind} ${c.caller}`, ms: c.ms }))),
  };
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const r = (value: number) => round(value, 2);
