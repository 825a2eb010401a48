/** What one probe printed: see probe.ts. */
export interface ProbeAnswer {
  readonly ok: boolean;
  readonly answer?: string;
  readonly error?: string;
  readonly ms?: number;
  readonly ifaces?: Record<string, string[]>;
}

/** Reads the probe's last JSON line; anything else is reported as the probe failing. */
export function readProbe(stdout: string, stderr = ''): ProbeAnswer {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    const value = JSON.parse(line) as Partial<ProbeAnswer>;
    return { ok: value.ok ?? value.ifaces !== undefined, ...value } as ProbeAnswer;
  } catch {
    return { ok: false, error: `probe printed ${JSON.stringify((line || stderr).trim().slice(0, 80))}` };
  }
}

/** What a path is expected to do, in Docker's semantics. */
export type Expectation =
  | { readonly kind: 'reach'; readonly seenAs?: string }
  | { readonly kind: 'blocked' }
  | { readonly kind: 'error'; readonly error: string }
  | { readonly kind: 'ifaces'; readonly describe: string; readonly test: (ifaces: Record<string, string[]>) => boolean };

/** One row of the demo's matrix. */
export interface PathResult {
  readonly path: string;
  readonly from: string;
  readonly to: string;
  readonly expected: string;
  readonly observed: string;
  readonly ms: number | null;
  readonly ok: boolean;
}

function describeError(error: string | undefined): string {
  switch (error) {
    case 'ETIMEDOUT':
      return 'no answer (timed out)';
    case 'ENETUNREACH':
      return 'no route (ENETUNREACH)';
    case 'ECONNREFUSED':
      return 'refused (ECONNREFUSED)';
    case 'EHOSTUNREACH':
      return 'unreachable (EHOSTUNREACH)';
    default:
      return error ?? 'failed';
  }
}

/** The words for an expectation. */
export function describeExpectation(expect: Expectation): string {
  switch (expect.kind) {
    case 'reach':
      return expect.seenAs === undefined ? 'answers' : `answers, peer seen as ${expect.seenAs}`;
    case 'blocked':
      return 'blocked';
    case 'error':
      return describeError(expect.error);
    case 'ifaces':
      return expect.describe;
  }
}

function describeIfaces(ifaces: Record<string, string[]>): string {
  const entries = Object.entries(ifaces);
  const text = entries.map(([name, addrs]) => (addrs.length > 0 ? `${name} ${addrs.join(',')}` : name)).join('; ');
  return text.length > 60 ? `${entries.length} interfaces: ${text.slice(0, 48)}…` : text;
}

/** Compares what a probe saw with what was expected. */
export function judge(path: Omit<PathResult, 'expected' | 'observed' | 'ms' | 'ok'>, expect: Expectation, seen: ProbeAnswer): PathResult {
  const expected = describeExpectation(expect);
  const ms = seen.ms ?? null;
  if (expect.kind === 'ifaces') {
    if (!seen.ifaces) return { ...path, expected, observed: describeError(seen.error), ms: null, ok: false };
    return { ...path, expected, observed: describeIfaces(seen.ifaces), ms: null, ok: expect.test(seen.ifaces) };
  }
  const observed = seen.ok ? `answers, peer seen as ${seen.answer ?? '?'}` : describeError(seen.error);
  let ok: boolean;
  switch (expect.kind) {
    case 'reach':
      ok = seen.ok && (expect.seenAs === undefined || seen.answer === expect.seenAs);
      break;
    case 'blocked':
      ok = !seen.ok && seen.error !== undefined && !seen.error.startsWith('probe printed');
      break;
    case 'error':
      ok = !seen.ok && seen.error === expect.error;
      break;
  }
  return { ...path, expected, observed, ms, ok };
}
