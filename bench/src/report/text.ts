import type { Summary } from '../stats.js';
import type { ProfileSummary } from './profile.js';
import type { BenchReport } from './results.js';

/** Lays out rows under headers, columns padded; the first column left-aligned, the others right-aligned. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const num = (v: number | null | undefined, digits = 1) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));
const cell = (s: Summary | undefined) => (!s || s.n === 0 ? '—' : `${num(s.median)} [${num(s.min)}–${num(s.max)}]`);

/** The tables of a report, for a person reading a terminal or RESULTS.md. */
export function renderText(report: BenchReport): string {
  const out: string[] = [];
  const meta = report.meta as {
    startedAt: string;
    durationS: number;
    quick: boolean;
    plan: { iterations: number };
    machine: Record<string, string>;
    peers: Record<string, { available: boolean; detail: string }>;
    notes: string[];
  };
  out.push(`netmode benchmark — ${meta.startedAt}, ${meta.quick ? '--quick' : 'full'} run, ${meta.durationS} s`);
  out.push(
    Object.entries(meta.machine)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; '),
  );
  for (const [name, peer] of Object.entries(meta.peers))
    out.push(`peer ${name}: ${peer.available ? 'measured' : 'SKIPPED'} (${peer.detail})`);
  out.push(...meta.notes.map((n) => `note: ${n}`));

  out.push('', `## One bridge endpoint: median [min–max] ms, ${meta.plan.iterations} iterations`);
  out.push(
    table(
      ['system', 'attach', 'detach', 'attach, 1 port', 'detach, 1 port'],
      Object.values(report.single).map((s) => [
        s.label,
        cell(s.noport.attach),
        cell(s.noport.detach),
        cell(s.port.attach),
        cell(s.port.detach),
      ]),
    ),
  );
  const failed = Object.values(report.single).filter((s) => s.errors.length > 0);
  for (const s of failed) out.push(`  ${s.label}: ${s.errors.length} failures, first: ${s.errors[0]}`);

  out.push('', '## Ratios (netmode median ÷ other median, this run)');
  out.push(
    table(
      ['ratio', 'value', 'netmode ms', 'other ms'],
      Object.entries(report.ratios).map(([name, value]) => [
        name,
        `${num(value, 3)}×`,
        num(report.medians[name]?.netmode),
        num(report.medians[name]?.other),
      ]),
    ),
  );

  out.push('', '## Targets of issue 6');
  out.push(
    table(
      ['target', 'wanted', 'measured', 'met'],
      report.targets.map((t) => [
        t.name,
        t.target,
        num(t.value, t.value !== null && t.value > 10 ? 0 : 3),
        t.met === null ? 'n/a' : t.met ? 'yes' : 'NO',
      ]),
    ),
  );

  out.push('', '## Many endpoints with one published port each (keeper endpoint untimed)');
  out.push(
    table(
      ['system', 'endpoints', 'at a time', 'set up ms', 'torn down ms', 'attach each (median [min–max])', 'detach each', 'failures'],
      report.batch.map((b) => [
        b.label,
        String(b.endpoints),
        String(b.width),
        num(b.setupMs, 0),
        num(b.teardownMs, 0),
        cell(b.attach),
        cell(b.detach),
        String(b.failures),
      ]),
    ),
  );
  for (const b of report.batch.filter((x) => x.firstError)) out.push(`  ${b.label} ×${b.width}: first failure: ${b.firstError}`);

  out.push('', '## Scale: attach and detach cost by endpoint number (netmode, nftables, 1 port each)');
  type Pair = { attach: Summary; detach: Summary };
  const scale = report.scale as null | {
    error?: string;
    endpoints?: number;
    networks?: number;
    probe?: { rounds: number; at10: Pair & { endpoint: number }; atN: Pair & { endpoint: number } };
    fill?: { around10: Pair & { endpoints: string }; aroundN: Pair & { endpoints: string } };
    curve?: { endpoints: string; attachMedianMs: number; detachMedianMs: number }[];
    memory?: Record<string, number>;
    createNetworkMs?: number[];
    failures?: number;
    firstErrors?: string[];
  };
  if (!scale) out.push('not run');
  else if (scale.error) out.push(`failed: ${scale.error}`);
  else {
    out.push(
      `${scale.endpoints} endpoints over ${scale.networks} user-defined networks; create network: ${(scale.createNetworkMs ?? []).map((v) => num(v)).join(', ')} ms`,
    );
    out.push(
      `probe, ${scale.probe?.rounds ?? 0} rounds side by side (one instance holding 9, one holding ${(scale.endpoints ?? 1) - 1}; each round adds one to both):`,
    );
    out.push(
      table(
        ['endpoint', 'attach ms', 'detach ms'],
        [scale.probe?.at10, scale.probe?.atN].map((p) => [`#${p?.endpoint ?? '?'}`, cell(p?.attach), cell(p?.detach)]),
      ),
    );
    out.push('the fill, timed as it went (minutes apart, so the load of the machine differs):');
    out.push(
      table(
        ['endpoints', 'attach ms', 'detach ms'],
        [scale.fill?.around10, scale.fill?.aroundN].map((w) => [w?.endpoints ?? '', cell(w?.attach), cell(w?.detach)]),
      ),
    );
    out.push(
      table(
        ['curve', 'attach median ms', 'detach median ms'],
        (scale.curve ?? []).map((c) => [c.endpoints, num(c.attachMedianMs), num(c.detachMedianMs)]),
      ),
    );
    const m = scale.memory ?? {};
    out.push(
      `memory of the SDK process (after gc): RSS ${num(m['rssStartedMb'])} MiB at start, ${num(m['rssEmptyMb'])} MiB with netmode and no endpoint, ` +
        `${num(m['rssHoldingMb'])} MiB holding ${m['held'] ?? '?'} endpoints; heap used ${num(m['heapUsedEmptyMb'])} → ${num(m['heapUsedHoldingMb'])} MiB, external ${num(m['externalEmptyMb'])} → ${num(m['externalHoldingMb'])} MiB`,
    );
    if (scale.failures) out.push(`failures: ${scale.failures}; first: ${(scale.firstErrors ?? []).join(' / ')}`);
  }

  out.push('', '## Other modes: median [min–max] ms');
  out.push(
    table(
      ['mode', 'attach', 'detach', 'failures'],
      report.modes.map((m) => [m.label, cell(m.attach), cell(m.detach), String(m.errors.length)]),
    ),
  );
  for (const m of report.modes.filter((x) => x.errors.length > 0)) out.push(`  ${m.label}: first failure: ${m.errors[0]}`);

  out.push('', `## Connect a second network to a running container: median [min–max] ms, ${meta.plan.iterations} iterations`);
  out.push(
    table(
      ['system', 'connect', 'disconnect (that network only)', 'failures', 'what runs'],
      report.secondNetwork.rows.map((r) => [r.label, cell(r.connect), cell(r.disconnect), String(r.errors.length), r.what]),
    ),
  );
  for (const r of report.secondNetwork.rows.filter((x) => x.errors.length > 0)) out.push(`  ${r.label}: first failure: ${r.errors[0]}`);
  for (const q of report.secondNetwork.quoted) out.push(`reference only: ${q.what} ${num(q.connectMs, 0)} ms (${q.source}; no ratio)`);

  out.push('', '## Names: the embedded DNS server next to aardvark-dns 1.4 (issue 13)');
  const dns = report.dns;
  if (!dns) out.push('not run');
  else {
    out.push(
      `load from inside a container, ${dns.concurrency} UDP queries in flight, ${num(dns.durationMs / 1000, 0)} s per round; medians over the rounds:`,
    );
    out.push(
      table(
        ['server, name asked', 'rounds', 'queries/s', 'median ms', 'p99 ms', 'lost', 'wrong'],
        dns.load.map((l) => [
          l.label,
          String(l.rounds),
          num(l.qps, 0),
          num(l.medianMs, 3),
          num(l.p99Ms, 3),
          String(l.lost),
          String(l.wrong),
        ]),
      ),
    );
    for (const l of dns.load.filter((x) => x.errors.length > 0))
      out.push(`  ${l.label}: ${l.errors.length} failures, first: ${l.errors[0]}`);
    out.push(
      table(
        ['netmode ÷ aardvark-dns', 'queries/s', 'median latency', 'p99 latency'],
        dns.ratios.map((r) => [r.kind, `${num(r.qps, 3)}×`, `${num(r.medianMs, 3)}×`, `${num(r.p99Ms, 3)}×`]),
      ),
    );
    out.push(
      "until a new container's name resolves from another container (a watcher asking as fast as it can from the call on): median [min–max] ms",
    );
    out.push(
      table(
        ['server', 'call → resolves', 'the call', 'call returned → resolves', 'queries asked', 'failures', 'the call is'],
        dns.resolve.map((r) => [
          r.label,
          cell(r.toResolve),
          cell(r.callMs),
          cell(r.afterCall),
          num(r.queries.median, 0),
          String(r.errors.length),
          r.call,
        ]),
      ),
    );
    for (const r of dns.resolve.filter((x) => x.errors.length > 0)) out.push(`  ${r.label}: first failure: ${r.errors[0]}`);
    for (const e of dns.errors) out.push(`  ${e}`);
  }

  out.push('', '## Process start cost against the SDK process resident memory: median [min–max] ms');
  const rss = report.spawnVsRss;
  if (!rss) out.push('not run');
  else if ('error' in rss) out.push(`failed: ${rss.error}`);
  else {
    out.push(
      table(
        [
          'ballast',
          'RSS MiB',
          'spawn /bin/true',
          'ExecaRunner /bin/true',
          'ExecaRunner via nsenter',
          'HelperRunner via nsenter',
          'attach, 1 port',
          'detach, 1 port',
          'attach, helper',
          'detach, helper',
        ],
        rss.map((l) => [
          `${l.ballastMiB} MiB`,
          String(l.rssMb),
          cell(l.spawnMs),
          cell(l.runnerMs),
          cell(l.runnerNsenterMs),
          cell(l.helperNsenterMs),
          cell(l.attachPortMs),
          cell(l.detachPortMs),
          cell(l.helperAttachPortMs),
          cell(l.helperDetachPortMs),
        ]),
      ),
    );
  }

  out.push('', '## One nft -f - transaction on a DNAT map, by itself (process included): median [min–max] ms');
  out.push(
    table(
      ['transaction', 'ms'],
      report.nftTransactions.map((t) => [t.label, cell(t.ms)]),
    ),
  );

  out.push('', '## Where the time goes (medians per operation)');
  for (const [name, p] of Object.entries(report.profile)) out.push(renderProfile(name, p));

  out.push('', '## Root namespace');
  out.push(
    report.rootNamespace.unchanged
      ? 'unchanged (ip netns list, ip -br link, routes, nft ruleset, iptables-save, ip_forward)'
      : `CHANGED: ${report.rootNamespace.changes.join('\n  ')}`,
  );
  if (report.rootNamespace.otherNamespaces.length > 0) {
    const others = report.rootNamespace.otherNamespaces;
    out.push(
      `${others.length} namespaces of other processes came or went meanwhile (not this run's prefix), e.g. ${others.slice(0, 3).join(' ')}`,
    );
  }
  if (report.rootNamespace.leftoverNamespaces.length > 0)
    out.push(`leftover namespaces of this run: ${report.rootNamespace.leftoverNamespaces.join(' ')}`);
  if (report.errors.length > 0) out.push('', '## Errors', ...report.errors.map((e) => `- ${e}`));
  return out.join('\n');
}

export function renderProfile(name: string, p: ProfileSummary): string {
  if (p.samples === 0) return `${name}: no samples`;
  const head =
    `${name} (n=${p.samples}): wall ${num(p.wallMs)} ms = ${p.processes} processes ${num(p.processMs)} ms` +
    (p.storeTransactions + p.storeReads > 0
      ? ` + ${p.storeTransactions} store transactions ${num(p.storeTransactionMs)} ms + ${p.storeReads} store reads ${num(p.storeReadMs)} ms`
      : '') +
    ` + other ${num(p.otherMs)} ms`;
  const line = (s: ProfileSummary['steps'][number]) =>
    `    ${s.perOp.toFixed(2)}×  ${num(s.medianMs)} ms [${num(s.minMs)}–${num(s.maxMs)}]  ${s.label}`;
  return [head, ...p.steps.map(line), ...p.storeCalls.map((s) => line({ ...s, label: `store ${s.label}` }))].join('\n');
}
