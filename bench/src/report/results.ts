import type { PeerAvailability } from '../peers/bootstrap.js';
import type { Plan } from '../plan.js';
import type { RssResult } from '../rss-worker.js';
import type { ScaleResult } from '../scale-worker.js';
import { median, ratio, round, summarize, type Summary } from '../stats.js';
import type { BatchRun } from '../workloads/batch.js';
import type { DnsResults } from '../workloads/dns.js';
import type { ModeRow } from '../workloads/modes.js';
import type { NftFact } from '../workloads/nft-facts.js';
import type { OpSample } from '../workloads/sample.js';
import type { SecondNetworkRow } from '../workloads/second-network.js';
import type { SingleRow } from '../workloads/single.js';
import { profileOf, type ProfileSummary } from './profile.js';
import { summarizeScale } from './scale-summary.js';
import { buildTargets, type Target } from './targets.js';

/** Everything one run measured, as raw as the workloads returned it. */
export interface RawResults {
  readonly plan: Plan;
  readonly startedAt: Date;
  readonly durationS: number;
  readonly prefix: string;
  readonly peers: Readonly<Record<string, PeerAvailability>>;
  readonly single: readonly SingleRow[];
  readonly batch: readonly BatchRun[];
  readonly modes: readonly ModeRow[];
  readonly secondNetwork: readonly SecondNetworkRow[];
  readonly scale: ScaleResult | string | undefined;
  readonly rss: RssResult | string | undefined;
  readonly nftFacts: { readonly facts: readonly NftFact[]; readonly errors: readonly string[] } | undefined;
  readonly dns: DnsResults | undefined;
  readonly root: {
    readonly unchanged: boolean;
    readonly changes: readonly string[];
    readonly leftoverNamespaces: readonly string[];
    /** Namespaces of other processes that came or went during the run; not this run's doing. */
    readonly otherNamespaces: readonly string[];
  };
  readonly errors: readonly string[];
  readonly machine: Readonly<Record<string, string>>;
}

export type { Target } from './targets.js';

export interface OpStats {
  readonly attach: Summary;
  readonly detach: Summary;
}

/** The one JSON object of `--json`; the tables print the same numbers. */
export interface BenchReport {
  readonly meta: Record<string, unknown>;
  readonly ratios: Record<string, number>;
  readonly medians: Record<string, { readonly netmode: number; readonly other: number }>;
  readonly targets: Target[];
  readonly single: Record<string, { label: string; noport: OpStats; port: OpStats; errors: string[] }>;
  readonly batch: {
    key: string;
    label: string;
    endpoints: number;
    width: number;
    setupMs: number;
    teardownMs: number;
    attach: Summary;
    detach: Summary;
    failures: number;
    firstError?: string;
  }[];
  readonly scale: Record<string, unknown> | { error: string } | null;
  readonly modes: { mode: string; label: string; attach: Summary; detach: Summary; errors: string[] }[];
  /** Connecting a running container to a second network and disconnecting it from that one, per system. */
  readonly secondNetwork: {
    readonly rows: { key: string; label: string; what: string; connect: Summary; disconnect: Summary; errors: string[] }[];
    /** Figures quoted from elsewhere, never measured by this run; no ratio is computed from them. */
    readonly quoted: typeof QUOTED_SECOND_NETWORK;
  };
  readonly spawnVsRss:
    | {
        ballastMiB: number;
        rssMb: number;
        spawnMs: Summary;
        runnerMs: Summary;
        runnerNsenterMs: Summary;
        helperNsenterMs: Summary;
        attachPortMs: Summary;
        detachPortMs: Summary;
        helperAttachPortMs: Summary;
        helperDetachPortMs: Summary;
      }[]
    | { error: string }
    | null;
  /** The embedded DNS server next to aardvark-dns: load, and until a new container's name resolves. */
  readonly dns: DnsReport | null;
  /** What one nft transaction costs by itself, with 1 and 10 map elements. */
  readonly nftTransactions: { label: string; ms: Summary }[];
  readonly profile: Record<string, ProfileSummary>;
  readonly rootNamespace: RawResults['root'];
  readonly errors: readonly string[];
}

/** The DNS workload's numbers: medians over its rounds. */
export interface DnsReport {
  readonly concurrency: number;
  readonly durationMs: number;
  readonly load: {
    server: string;
    kind: string;
    label: string;
    rounds: number;
    /** Medians over the rounds of each round's figure. */
    qps: number;
    medianMs: number;
    p99Ms: number;
    /** Summed over the rounds. */
    lost: number;
    wrong: number;
    errors: string[];
  }[];
  /** netmode ÷ aardvark-dns for each kind of name. */
  readonly ratios: { kind: string; qps: number; medianMs: number; p99Ms: number }[];
  readonly resolve: {
    server: string;
    label: string;
    call: string;
    /** From the call until the name resolved. */
    toResolve: Summary;
    /** The call by itself. */
    callMs: Summary;
    /** From the call's return until the name resolved. */
    afterCall: Summary;
    queries: Summary;
    errors: string[];
  }[];
  readonly errors: string[];
}

function dnsReport(raw: DnsResults): DnsReport {
  const load = raw.load.map((row) => ({
    server: row.server,
    kind: row.kind,
    label: row.label,
    rounds: row.rounds.length,
    qps: round(median(row.rounds.map((r) => r.qps)), 0),
    medianMs: round(median(row.rounds.map((r) => r.medianMs)), 3),
    p99Ms: round(median(row.rounds.map((r) => r.p99Ms)), 3),
    lost: row.rounds.reduce((sum, r) => sum + r.lost, 0),
    wrong: row.rounds.reduce((sum, r) => sum + r.wrong, 0),
    errors: row.errors,
  }));
  const ratios = (['container', 'forwarded'] as const).map((kind) => {
    const of = (server: string) => load.find((l) => l.server === server && l.kind === kind);
    const nm = of('netmode');
    const aa = of('aardvark');
    return {
      kind,
      qps: round(ratio(nm?.qps, aa?.qps), 3),
      medianMs: round(ratio(nm?.medianMs, aa?.medianMs), 3),
      p99Ms: round(ratio(nm?.p99Ms, aa?.p99Ms), 3),
    };
  });
  const resolve = raw.resolve.map((row) => ({
    server: row.server,
    label: row.label,
    call: row.call,
    toResolve: roundSummary(summarize(row.toResolveMs)),
    callMs: roundSummary(summarize(row.callMs)),
    afterCall: roundSummary(summarize(row.toResolveMs.map((t, i) => t - (row.callMs[i] ?? 0)))),
    queries: summarize(row.queries),
    errors: row.errors,
  }));
  return { concurrency: raw.concurrency, durationMs: raw.durationMs, load, ratios, resolve, errors: raw.errors };
}

/**
 * `docker network connect` and `podman network connect` as quoted in issue
 * 12 (measured earlier on this machine, not by this benchmark, whose peers
 * are the CNI plugins and netavark): printed as reference only, never in a ratio.
 */
export const QUOTED_SECOND_NETWORK = [
  { what: 'docker network connect', connectMs: 49, source: 'quoted in issue 12, not measured in this run' },
  { what: 'podman network connect', connectMs: 71, source: 'quoted in issue 12, not measured in this run' },
] as const;

const ms = (samples: readonly OpSample[]) => samples.map((s) => s.ms);
const stats = (attach: readonly OpSample[], detach: readonly OpSample[]): OpStats => ({
  attach: roundSummary(summarize(ms(attach))),
  detach: roundSummary(summarize(ms(detach))),
});

function roundSummary(s: Summary): Summary {
  return { n: s.n, median: round(s.median), min: round(s.min), max: round(s.max) };
}

export function buildReport(raw: RawResults): BenchReport {
  const { plan } = raw;
  const errors = [...raw.errors];
  const single: BenchReport['single'] = {};
  const profile: Record<string, ProfileSummary> = {};
  for (const row of raw.single) {
    const entry = (single[row.key] ??= {
      label: row.label,
      noport: stats([], []),
      port: stats([], []),
      errors: [],
    });
    entry[row.variant] = stats(row.attach, row.detach);
    entry.errors.push(...row.errors);
    const what = row.variant === 'port' ? '1 port' : 'no port';
    profile[`${row.key} attach, ${what}`] = profileOf(row.attach);
    profile[`${row.key} detach, ${what}`] = profileOf(row.detach);
  }
  const med = (key: string, variant: 'noport' | 'port', op: 'attach' | 'detach') => single[key]?.[variant][op].median ?? Number.NaN;

  const ratios: Record<string, number> = {};
  const medians: Record<string, { netmode: number; other: number }> = {};
  const pair = (name: string, netmode: number, other: number) => {
    ratios[name] = round(ratio(netmode, other), 3);
    medians[name] = { netmode, other };
  };
  for (const [prefix, key] of [
    ['', 'nm-nft'],
    ['iptables.', 'nm-ipt'],
    ['helper.', 'nm-helper'],
  ] as const) {
    pair(`${prefix}attachPortVsCni`, med(key, 'port', 'attach'), med('cni', 'port', 'attach'));
    pair(`${prefix}attachPortVsNetavark`, med(key, 'port', 'attach'), med('netavark', 'port', 'attach'));
    pair(`${prefix}detachPortVsCni`, med(key, 'port', 'detach'), med('cni', 'port', 'detach'));
    pair(`${prefix}detachPortVsNetavark`, med(key, 'port', 'detach'), med('netavark', 'port', 'detach'));
    pair(`${prefix}attachVsFloor`, med(key, 'noport', 'attach'), med('floor', 'noport', 'attach'));
    pair(`${prefix}attachPortVsFloorPort`, med(key, 'port', 'attach'), med('floor', 'port', 'attach'));
    pair(`${prefix}attachVsCni`, med(key, 'noport', 'attach'), med('cni', 'noport', 'attach'));
    pair(`${prefix}attachVsNetavark`, med(key, 'noport', 'attach'), med('netavark', 'noport', 'attach'));
    pair(`${prefix}detachVsCni`, med(key, 'noport', 'detach'), med('cni', 'noport', 'detach'));
    pair(`${prefix}detachVsNetavark`, med(key, 'noport', 'detach'), med('netavark', 'noport', 'detach'));
    pair(`${prefix}detachVsFloor`, med(key, 'noport', 'detach'), med('floor', 'noport', 'detach'));
  }

  const secondRows = raw.secondNetwork.map((r) => {
    profile[`${r.key} second network: connect`] = profileOf(r.connect);
    profile[`${r.key} second network: disconnect`] = profileOf(r.disconnect);
    const s = stats(r.connect, r.disconnect);
    return { key: r.key, label: r.label, what: r.what, connect: s.attach, disconnect: s.detach, errors: r.errors };
  });
  const second = (key: string, op: 'connect' | 'disconnect') => secondRows.find((r) => r.key === key)?.[op].median ?? Number.NaN;
  for (const [prefix, key] of [
    ['', 'nm-nft'],
    ['iptables.', 'nm-ipt'],
    ['helper.', 'nm-helper'],
  ] as const) {
    for (const [name, other] of [
      ['Cni', 'cni'],
      ['Netavark', 'netavark'],
      ['Floor', 'floor'],
    ] as const) {
      pair(`${prefix}secondConnectVs${name}`, second(key, 'connect'), second(other, 'connect'));
      pair(`${prefix}secondDisconnectVs${name}`, second(key, 'disconnect'), second(other, 'disconnect'));
    }
  }

  let scale: BenchReport['scale'] = null;
  if (typeof raw.scale === 'string') scale = { error: raw.scale };
  else if (raw.scale) {
    const summary = summarizeScale(raw.scale, plan);
    scale = summary.scale;
    Object.assign(profile, summary.profile);
    pair('endpoint1000Vs10', summary.attach.high, summary.attach.low);
    pair('detach1000Vs10', summary.detach.high, summary.detach.low);
  }

  const batch = raw.batch.map((b) => ({
    key: b.key,
    label: b.label,
    endpoints: b.endpoints,
    width: b.width,
    setupMs: round(b.setupMs),
    teardownMs: round(b.teardownMs),
    ...stats(b.attach, b.detach),
    failures: b.errors.length,
    ...(b.errors[0] ? { firstError: b.errors[0] } : {}),
  }));
  for (const b of raw.batch.filter((x) => x.key === 'nm-nft')) {
    profile[`nm-nft batch of ${b.endpoints}, ${b.width} at a time: attach`] = profileOf(b.attach);
    profile[`nm-nft batch of ${b.endpoints}, ${b.width} at a time: detach`] = profileOf(b.detach);
  }
  const batchOf = (key: string, width: number) => batch.find((b) => b.key === key && b.width === width);
  for (const [name, other] of [
    ['Cni', 'cni'],
    ['Netavark', 'netavark'],
    ['Floor', 'floor'],
  ] as const) {
    pair(`batchSetupVs${name}`, batchOf('nm-nft', 1)?.setupMs ?? Number.NaN, batchOf(other, 1)?.setupMs ?? Number.NaN);
    pair(`batchTeardownVs${name}`, batchOf('nm-nft', 1)?.teardownMs ?? Number.NaN, batchOf(other, 1)?.teardownMs ?? Number.NaN);
  }

  const modes = raw.modes.map((m) => ({ mode: m.mode, label: m.label, ...stats(m.attach, m.detach), errors: m.errors }));
  for (const m of raw.modes.filter((x) => x.mode !== 'floor-none')) {
    profile[`mode ${m.mode} attach`] = profileOf(m.attach);
    profile[`mode ${m.mode} detach`] = profileOf(m.detach);
  }

  let spawnVsRss: BenchReport['spawnVsRss'] = null;
  if (typeof raw.rss === 'string') spawnVsRss = { error: raw.rss };
  else if (raw.rss) {
    spawnVsRss = raw.rss.levels.map((level) => {
      profile[`rss ${level.ballastMiB} MiB ballast: attach, 1 port`] = profileOf(level.attach);
      profile[`rss ${level.ballastMiB} MiB ballast: detach, 1 port`] = profileOf(level.detach);
      return {
        ballastMiB: level.ballastMiB,
        rssMb: round(level.rssMb, 0),
        spawnMs: roundSummary(summarize(level.spawnMs)),
        runnerMs: roundSummary(summarize(level.runnerMs)),
        runnerNsenterMs: roundSummary(summarize(level.runnerNsenterMs)),
        helperNsenterMs: roundSummary(summarize(level.helperNsenterMs)),
        ...(() => {
          const s = stats(level.attach, level.detach);
          const h = stats(level.helperAttach, level.helperDetach);
          return { attachPortMs: s.attach, detachPortMs: s.detach, helperAttachPortMs: h.attach, helperDetachPortMs: h.detach };
        })(),
      };
    });
    if (raw.rss.errors.length > 0) errors.push(...raw.rss.errors.map((e) => `rss worker: ${e}`));
  }

  const nftTransactions = (raw.nftFacts?.facts ?? []).map((f) => ({ label: f.label, ms: roundSummary(summarize(f.ms)) }));
  if (raw.nftFacts && raw.nftFacts.errors.length > 0) errors.push(...raw.nftFacts.errors.slice(0, 5).map((e) => `nft facts: ${e}`));

  const dns = raw.dns ? dnsReport(raw.dns) : null;
  if (dns) {
    const loadOf = (server: string, kind: string) => dns.load.find((l) => l.server === server && l.kind === kind);
    for (const kind of ['container', 'forwarded'] as const) {
      const name = kind === 'container' ? 'Container' : 'Forwarded';
      pair(`dns${name}MedianVsAardvark`, loadOf('netmode', kind)?.medianMs ?? Number.NaN, loadOf('aardvark', kind)?.medianMs ?? Number.NaN);
    }
    const resolveOf = (server: string) => dns.resolve.find((r) => r.server === server);
    pair(
      'dnsResolveAfterCallVsAardvark',
      resolveOf('netmode')?.afterCall.median ?? Number.NaN,
      resolveOf('aardvark')?.afterCall.median ?? Number.NaN,
    );
  }

  const targets = buildTargets(plan, ratios, batch);
  return {
    meta: {
      startedAt: raw.startedAt.toISOString(),
      durationS: round(raw.durationS, 1),
      quick: plan.quick,
      plan,
      namespacePrefix: raw.prefix,
      peers: raw.peers,
      machine: raw.machine,
      notes: [
        'All times are wall-clock milliseconds as the calling Node process sees them; medians with min and max.',
        'Peers and the floor include creating (attach) and deleting (detach) the container namespace, as netmode connect/disconnect do.',
        'Every system runs in its own throwaway host namespace; iterations go round-robin over systems.',
        'The batch workloads keep one untimed keeper endpoint attached, so no system creates or removes its bridge inside the timed part.',
        "The DNS workload asks from inside a container of one user-defined network: netmode's embedded server and aardvark-dns 1.4 each on their own host namespace, both forwarding to one resolver in an outside-world namespace; load rounds alternate between the servers.",
        'The second-network workload times only connecting a running container (first endpoint attached and a sleep in its namespace, untimed) to a second bridge network, and disconnecting it from that one; a keeper container stays on both networks throughout.',
        ...(plan.quick
          ? [
              `--quick: scale is ${plan.scale} endpoints, so endpoint1000Vs10 compares #${plan.scale} with #10; the batch is ${plan.batch} endpoints`,
            ]
          : []),
      ],
    },
    ratios,
    medians,
    targets,
    single,
    batch,
    scale,
    modes,
    secondNetwork: { rows: secondRows, quoted: QUOTED_SECOND_NETWORK },
    spawnVsRss,
    dns,
    nftTransactions,
    profile,
    rootNamespace: raw.root,
    errors,
  };
}
