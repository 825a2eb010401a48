/**
 * `pnpm bench`: netmode against the CNI reference plugins, netavark and the
 * kernel floor, on the same work, in one run, on this machine (issue 6). A
 * benchmark, never a test: it reports, it asserts nothing, and it exits 0
 * when it could measure, whatever the numbers say.
 *
 * Everything runs inside namespaces it creates (prefix `nb` + 3 hex digits),
 * each system with its own throwaway host namespace, all deleted at the end,
 * on failure and on SIGINT/SIGTERM too; the root namespace's interfaces,
 * routes, firewall and forwarding are read before and after, never written.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Namespaces } from './namespaces.js';
import { ensurePeer, type PeerAvailability } from './peers/bootstrap.js';
import { parsePlan } from './plan.js';
import { errorText, killLiveChildren, runProcess, stopSpawning } from './proc.js';
import { Profiler } from './profiler.js';
import { buildReport } from './report/results.js';
import { renderText } from './report/text.js';
import { diffRoot, snapshotRoot } from './root-check.js';
import { CNI_DIR, CniSystem } from './systems/cni.js';
import { DaemonSystem } from './systems/daemon.js';
import { FloorSystem } from './systems/floor.js';
import { AARDVARK } from './systems/aardvark.js';
import { NETAVARK, NetavarkSystem } from './systems/netavark.js';
import { FLAVOURS, NetmodeSystem, SINGLE_ONLY_FLAVOURS } from './systems/netmode.js';
import type { EndpointSystem } from './systems/system.js';
import { runBatch, type BatchRun } from './workloads/batch.js';
import { runDns, type DnsResults } from './workloads/dns.js';
import { runModes, type ModeRow } from './workloads/modes.js';
import { runNftFacts } from './workloads/nft-facts.js';
import { progress } from './workloads/sample.js';
import { runRss } from './workloads/rss.js';
import { runScale } from './workloads/scale.js';
import { runSecondNetwork, type SecondNetworkRow } from './workloads/second-network.js';
import { killWorkers } from './workloads/worker.js';
import { runSingle, type SingleRow } from './workloads/single.js';

async function machine(): Promise<Record<string, string>> {
  const version = async (argv: string[]) => (await runProcess(argv)).stdout.trim().split('\n')[0] ?? '';
  // Which netmode was measured: the commit, and whether its packages had uncommitted changes.
  const repo = fileURLToPath(new URL('../..', import.meta.url));
  const commit = (await version(['/usr/bin/git', '-C', repo, 'rev-parse', '--short', 'HEAD'])) || 'unknown';
  const dirty = (await runProcess(['/usr/bin/git', '-C', repo, 'status', '--porcelain', '--', 'packages'])).stdout.trim();
  return {
    netmode: `${commit}${dirty ? ` + ${dirty.split('\n').length} uncommitted files under packages/` : ''}`,
    node: process.version,
    kernel: release(),
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    iproute2: await version(['/usr/sbin/ip', '-V']),
    nftables: await version(['/usr/sbin/nft', '--version']),
    iptables: await version(['/usr/sbin/iptables', '--version']),
  };
}

async function main(): Promise<number> {
  const plan = parsePlan(process.argv.slice(2));
  if (typeof plan === 'string') {
    process.stderr.write(`${plan}\n`);
    return plan.startsWith('usage') ? 0 : 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('the benchmark creates network namespaces and must run as root; nothing was measured\n');
    return 1;
  }
  const startedAt = new Date();
  const rootBefore = await snapshotRoot();
  const ns = await Namespaces.create();
  const tmp = await mkdtemp(join(tmpdir(), 'netmode-bench-'));
  const errors: string[] = [];
  const systems: EndpointSystem[] = [];

  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      killWorkers();
      killLiveChildren();
      for (const system of systems) await system.close().catch(() => undefined);
      const result = await ns.deleteAll();
      if (result && result.code !== 0) errors.push(`deleting namespaces: ${result.stderr.trim()}`);
      await rm(tmp, { recursive: true, force: true });
    })());
  // On SIGINT/SIGTERM: no new process starts, running ones are ended by PID,
  // the workloads unwind (every step now fails at once) into the cleanup
  // below, and the run exits 130 without a report. A second signal, or
  // workloads that have not unwound within 10 s, clean up at once.
  let interrupted: NodeJS.Signals | undefined;
  const leaveNow = () =>
    void cleanup()
      .then(() => ns.deleteAll())
      .finally(() => process.exit(130));
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return leaveNow();
    interrupted = signal;
    process.stderr.write(`\n[bench] ${signal}: stopping; removing the run's namespaces (${ns.prefix}*) and temp dir\n`);
    stopSpawning();
    killWorkers();
    killLiveChildren();
    setTimeout(leaveNow, 10_000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const stopIfInterrupted = () => {
    if (interrupted) throw new Error(`interrupted by ${interrupted}`);
  };

  const peers: Record<string, PeerAvailability> = {};
  const single: SingleRow[] = [];
  const batch: BatchRun[] = [];
  let modes: ModeRow[] = [];
  let secondNetwork: SecondNetworkRow[] = [];
  let scale: Awaited<ReturnType<typeof runScale>> | undefined;
  let rss: Awaited<ReturnType<typeof runRss>> | undefined;
  let nftFacts: Awaited<ReturnType<typeof runNftFacts>> | undefined;
  let dns: DnsResults | undefined;
  const info = await machine();
  // The machine is shared: the load says how much other work ran beside the benchmark.
  const load = () =>
    loadavg()
      .map((v) => v.toFixed(2))
      .join(' ');
  info['load average at start (1, 5, 15 min)'] = load();
  try {
    progress(`namespaces prefix ${ns.prefix}, temp dir ${tmp}`);
    // `--only dns` runs the DNS workload alone.
    const all = plan.only === undefined;
    if (all) peers['cni'] = await ensurePeer(join(CNI_DIR, 'bridge'), 'containernetworking-plugins', progress);
    if (all) peers['netavark'] = await ensurePeer(NETAVARK, 'netavark', progress);
    peers['aardvark-dns'] = await ensurePeer(AARDVARK, 'aardvark-dns', progress);
    for (const [name, peer] of Object.entries(peers)) if (!peer.available) progress(`peer ${name} SKIPPED: ${peer.detail}`);

    const profiler = new Profiler();
    const make = async (label: string, create: () => Promise<EndpointSystem>) => {
      try {
        systems.push(await create());
      } catch (error) {
        errors.push(`setting up ${label}: ${errorText(error)}`);
        progress(`setting up ${label} failed, left out: ${errorText(error)}`);
      }
    };
    for (const flavour of all ? [FLAVOURS.nft, FLAVOURS.ipt, FLAVOURS.nftHelper, FLAVOURS.nftNoSync, ...SINGLE_ONLY_FLAVOURS] : []) {
      await make(flavour.label, () => NetmodeSystem.create(ns, tmp, profiler, flavour));
    }
    const singleOnly = new Set(SINGLE_ONLY_FLAVOURS.map((f) => f.key));
    // The same connect and disconnect through `netmode daemon`'s socket: the cost of the channel (#14).
    await make('netmode through the -H socket', () => DaemonSystem.create(ns, tmp));
    if (peers['cni']?.available) await make('CNI', () => CniSystem.create(ns, tmp));
    if (peers['netavark']?.available) await make('netavark', () => NetavarkSystem.create(ns, tmp));
    if (all) await make('floor', () => FloorSystem.create(ns));

    stopIfInterrupted();
    if (all) {
      single.push(...(await runSingle(systems, plan)));
      for (const system of systems.filter((s) => !singleOnly.has(s.key))) {
        // The store without fsyncs matters where transactions queue: 4 at a time.
        const widths = system.key === FLAVOURS.nftNoSync.key ? [plan.concurrency] : [1, plan.concurrency];
        for (const width of widths) {
          stopIfInterrupted();
          batch.push(await runBatch(system, plan.batch, width, `b${width}x`));
        }
      }
      stopIfInterrupted();
      try {
        secondNetwork = await runSecondNetwork(
          systems.filter((s) => !singleOnly.has(s.key)),
          plan,
        );
      } catch (error) {
        errors.push(`second network: ${errorText(error)}`);
      }
    }
    stopIfInterrupted();
    try {
      dns = await runDns(ns, tmp, plan, peers['aardvark-dns'] ?? { available: false, detail: 'not looked for' });
    } catch (error) {
      errors.push(`dns: ${errorText(error)}`);
    }
    if (all) {
      stopIfInterrupted();
      try {
        modes = await runModes(ns, tmp, profiler, plan);
      } catch (error) {
        errors.push(`modes: ${errorText(error)}`);
      }
      stopIfInterrupted();
      try {
        nftFacts = await runNftFacts(ns, plan);
      } catch (error) {
        errors.push(`nft facts: ${errorText(error)}`);
      }
      stopIfInterrupted();
      rss = await runRss(ns, tmp, plan);
      stopIfInterrupted();
      scale = await runScale(ns, tmp, plan);
    }
  } catch (error) {
    errors.push(`run stopped: ${errorText(error)}`);
    progress(`run stopped: ${errorText(error)}`);
  } finally {
    await cleanup();
  }
  if (interrupted) {
    // A netmode command that was already past the check may have made one more namespace.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await ns.deleteAll();
    const left = await ns.leftovers();
    process.stderr.write(`[bench] interrupted; ${left.length === 0 ? 'nothing left behind' : `left: ${left.join(' ')}`}\n`);
    return 130;
  }

  info['load average at end (1, 5, 15 min)'] = load();
  const leftoverNamespaces = await ns.leftovers();
  const rootAfter = await snapshotRoot();
  const { changes, otherNamespaces } = diffRoot(rootBefore, rootAfter, ns.prefix);
  const report = buildReport({
    plan,
    startedAt,
    durationS: (Date.now() - startedAt.getTime()) / 1000,
    prefix: ns.prefix,
    peers,
    single,
    batch,
    modes,
    secondNetwork,
    scale,
    rss,
    nftFacts,
    dns,
    root: { unchanged: changes.length === 0, changes, leftoverNamespaces, otherNamespaces },
    errors,
    machine: info,
  });
  if (plan.save !== undefined) {
    try {
      await writeFile(plan.save, `${JSON.stringify(report, null, 2)}\n`);
    } catch (error) {
      process.stderr.write(`could not write ${plan.save}: ${errorText(error)}\n`);
    }
  }
  process.stdout.write(plan.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderText(report)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // Only a failure before any namespace existed gets here (after that, main reports).
    process.stderr.write(`benchmark could not start: ${errorText(error)}\n`);
    process.exit(1);
  },
);
