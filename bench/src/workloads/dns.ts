import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetMode, namedNetns, netnsPath, type NetworkManager } from '@netmode/core';
import { registerBridgeDriver } from '@netmode/driver-bridge';
import type { LoadParams, LoadResult } from '../dns/load.js';
import { OUTSIDE_ADDRESS, OUTSIDE_NAME } from '../dns/world-resolver.js';
import { IP, inNetnsAt, type Namespaces } from '../namespaces.js';
import type { PeerAvailability } from '../peers/bootstrap.js';
import type { Plan } from '../plan.js';
import { errorText, mustRun, runProcess, startPiped, trackDaemon, type PipedProcess } from '../proc.js';
import { AardvarkNetwork } from '../systems/aardvark.js';
import { DnsWorld, NAMES_GATEWAY, NAMES_SUBNET, WORLD_RESOLVER } from '../systems/dns-world.js';
import { progress } from './sample.js';

const LOAD = fileURLToPath(new URL('../dns/load.js', import.meta.url));
const POLL = fileURLToPath(new URL('../dns/poll.js', import.meta.url));

/** The containers on the names network besides the client: the names asked for. */
const TARGETS = ['dnsdb0', 'dnsdb1', 'dnsdb2'];
const CLIENT = 'dnsclient';
/** The container name the load asks for. */
const ASKED = 'dnsdb1';

/** One load run: one server, one kind of name. */
export interface DnsLoadRow {
  readonly server: 'netmode' | 'aardvark';
  readonly kind: 'container' | 'forwarded';
  readonly label: string;
  /** One result per round (rounds alternate between the servers). */
  readonly rounds: LoadResult[];
  readonly errors: string[];
}

/** The time from making a container known until its name resolves from another container, per iteration. */
export interface DnsResolveRow {
  readonly server: 'netmode' | 'aardvark';
  readonly label: string;
  /** What the timed call is. */
  readonly call: string;
  /** From the call until the watcher printed the answer, ms. */
  readonly toResolveMs: number[];
  /** The call by itself, ms. */
  readonly callMs: number[];
  /** Queries the watcher sent until one was answered. */
  readonly queries: number[];
  readonly errors: string[];
}

export interface DnsResults {
  readonly concurrency: number;
  readonly durationMs: number;
  readonly load: DnsLoadRow[];
  readonly resolve: DnsResolveRow[];
  readonly errors: string[];
}

/** A server under test: where its client container is, and how a new container becomes known to it. */
interface Subject {
  readonly server: 'netmode' | 'aardvark';
  readonly clientNetns: string;
  /** Makes container `name` known; resolves when the call the runtime makes returns. `prepare` (untimed) comes first. */
  prepare(name: string): Promise<void>;
  announce(name: string): Promise<void>;
  /** Makes it unknown again and removes it, untimed. */
  forget(name: string, watcher: PipedProcess): Promise<void>;
}

/**
 * The embedded DNS server of user-defined bridge networks (issue 13) next to
 * aardvark-dns 1.4, on one network with a client container and three more.
 *
 * Load: from inside the client's namespace, a Node load generator
 * (`dns/load.ts`, `concurrency` UDP queries in flight) asks each server for
 * a container name on its network and for a name only the outside world's
 * resolver knows (forwarded), for a fixed time; rounds alternate between the
 * servers. Then the time until a new container's name resolves from the
 * client: a watcher in the client (`dns/poll.ts`) asks as fast as it can
 * from the moment netmode's `connect()` is called; for aardvark, from the
 * moment netavark would write its config file and send SIGHUP (the
 * container's interface is made before, untimed, as netavark's setup makes
 * it before it tells aardvark).
 */
export async function runDns(ns: Namespaces, tmp: string, plan: Plan, aardvark: PeerAvailability): Promise<DnsResults> {
  const results: DnsResults = { concurrency: plan.dnsConcurrency, durationMs: plan.dnsDurationMs, load: [], resolve: [], errors: [] };
  let world: DnsWorld | undefined;
  let manager: NetworkManager | undefined;
  let aa: AardvarkNetwork | undefined;
  const watchers: PipedProcess[] = [];
  const subjects: Subject[] = [];
  try {
    world = await DnsWorld.create(ns);
    progress(`dns: outside world ${world.netns}, resolver ${WORLD_RESOLVER}`);

    // netmode, as a runtime would make it, its host resolv.conf naming the world's resolver.
    try {
      const host = await ns.createHost('h-nmdns');
      await world.link(host);
      const hostResolvConf = join(tmp, 'nm-dns-resolv.conf');
      await writeFile(hostResolvConf, `nameserver ${WORLD_RESOLVER}\n`);
      const nm = createNetMode({
        drivers: [(c) => registerBridgeDriver(c, { bip: '10.231.0.1/16', bridgeName: 'nmbr0' })],
        hostNetns: namedNetns(host),
        // A state directory, not a store: the companion and the sandbox files live there.
        stateDir: join(tmp, 'state-nm-dns'),
        namePrefix: ns.prefix,
        hostResolvConf,
      });
      manager = nm;
      await nm.createNetwork({ name: 'names', driver: 'bridge', subnets: [{ subnet: NAMES_SUBNET, gateway: NAMES_GATEWAY }] });
      const client = await nm.connect(CLIENT, 'names');
      for (const target of TARGETS) await nm.connect(target, 'names');
      const companion = await nm.nameServer();
      if (!companion) throw new Error('no name server runs after connect');
      trackDaemon(companion.pid, 'companion');
      subjects.push({
        server: 'netmode',
        clientNetns: netnsPath(client.netns),
        prepare: async () => undefined,
        announce: async (name) => void (await nm.connect(name, 'names')),
        forget: async (name) => nm.disconnect(name),
      });
    } catch (error) {
      results.errors.push(`netmode: ${errorText(error)}`);
      progress(`dns: netmode left out: ${errorText(error)}`);
    }

    if (aardvark.available) {
      try {
        const a = await AardvarkNetwork.create(ns, tmp, world);
        aa = a;
        const base = [CLIENT, ...TARGETS];
        for (const name of base) await a.plumb(name);
        await a.writeConfig(base);
        await a.start();
        subjects.push({
          server: 'aardvark',
          clientNetns: a.netnsPath(CLIENT),
          prepare: (name) => a.plumb(name),
          announce: async (name) => {
            await a.writeConfig([...base, name]);
            a.reload();
          },
          forget: async (name, watcher) => {
            await a.writeConfig(base);
            a.reload();
            // Until the reload is done: a SIGHUP during one is not safe to send.
            watcher.write(`gone ${name}`);
            await watcher.line('gone', 5_000);
            await mustRun([IP, 'netns', 'delete', ns.name(`c-aa-${name}`)]);
          },
        });
      } catch (error) {
        results.errors.push(`aardvark-dns: ${errorText(error)}`);
        progress(`dns: aardvark-dns left out: ${errorText(error)}`);
      }
    } else {
      results.errors.push(`aardvark-dns skipped: ${aardvark.detail}`);
    }

    // The load, round-robin over the servers.
    const rows = new Map<string, DnsLoadRow>();
    const rounds = plan.quick ? 1 : 3;
    for (let round = 0; round < rounds; round++) {
      for (const kind of ['container', 'forwarded'] as const) {
        for (const subject of subjects) {
          const key = `${subject.server} ${kind}`;
          const row = rows.get(key) ?? {
            server: subject.server,
            kind,
            label: `${subject.server === 'netmode' ? 'netmode embedded server' : 'aardvark-dns 1.4'}, ${kind === 'container' ? `container name (${ASKED})` : `forwarded (${OUTSIDE_NAME})`}`,
            rounds: [],
            errors: [],
          };
          rows.set(key, row);
          progress(`dns load ${round + 1}/${rounds}: ${row.label}, ${plan.dnsConcurrency} in flight, ${plan.dnsDurationMs / 1000} s`);
          try {
            row.rounds.push(await load(subject.clientNetns, kind === 'container' ? ASKED : OUTSIDE_NAME, plan));
          } catch (error) {
            row.errors.push(errorText(error));
          }
        }
      }
    }
    results.load.push(...rows.values());

    // Until a new container's name resolves.
    for (const subject of subjects) {
      const row: DnsResolveRow = {
        server: subject.server,
        label: subject.server === 'netmode' ? 'netmode embedded server' : 'aardvark-dns 1.4',
        call: subject.server === 'netmode' ? "connect(id, 'names')" : 'write the config file + SIGHUP (interface made before, untimed)',
        toResolveMs: [],
        callMs: [],
        queries: [],
        errors: [],
      };
      results.resolve.push(row);
      const watcher = await startPiped(inNetnsAt(subject.clientNetns, [process.execPath, POLL, NAMES_GATEWAY]));
      watchers.push(watcher);
      await watcher.line('ready');
      const total = plan.warmup + plan.iterations;
      progress(`dns: connect until the name resolves, ${subject.server}, ${total} rounds`);
      let failuresInARow = 0;
      for (let i = 0; i < total && failuresInARow < 3; i++) {
        const name = `${subject.server === 'netmode' ? 'nm' : 'aa'}late${i}`;
        try {
          await subject.prepare(name);
          const started = performance.now();
          watcher.write(`go ${name}`);
          await subject.announce(name);
          const called = performance.now() - started;
          const line = await watcher.line('resolved', 5_000);
          const resolved = performance.now() - started;
          if (i >= plan.warmup) {
            row.toResolveMs.push(resolved);
            row.callMs.push(called);
            row.queries.push(Number(line.split(' ')[3]));
          }
          await subject.forget(name, watcher);
          failuresInARow = 0;
        } catch (error) {
          row.errors.push(errorText(error));
          failuresInARow += 1;
          progress(`dns (${subject.server}) until resolved failed: ${errorText(error)}`);
        }
      }
    }
  } catch (error) {
    results.errors.push(errorText(error));
  } finally {
    for (const watcher of watchers) await watcher.stop();
    // The companion lives in the host namespace: stopped before the run deletes it.
    if (manager) {
      await manager.stopNameServer().catch((error: unknown) => results.errors.push(`stopping netmode's name server: ${errorText(error)}`));
      manager.events.removeAllListeners();
    }
    await aa?.stop();
    await world?.close();
  }
  return results;
}

/** One run of the load generator inside the client's namespace. */
async function load(clientNetns: string, name: string, plan: Plan): Promise<LoadResult> {
  const params: LoadParams = {
    server: NAMES_GATEWAY,
    name,
    concurrency: plan.dnsConcurrency,
    warmupMs: 500,
    durationMs: plan.dnsDurationMs,
    timeoutMs: 1_000,
  };
  const result = await runProcess(inNetnsAt(clientNetns, [process.execPath, LOAD, JSON.stringify(params)]));
  let parsed: LoadResult | { error: string };
  try {
    parsed = JSON.parse(result.stdout) as LoadResult | { error: string };
  } catch {
    throw new Error(`load generator exited ${String(result.code)}: ${result.stderr.trim().split('\n').slice(-2).join(' / ')}`);
  }
  if ('error' in parsed) throw new Error(`load generator: ${parsed.error}`);
  if (parsed.answered === 0) throw new Error(`no answer (${parsed.lost} lost, ${parsed.wrong} wrong)`);
  if (name === OUTSIDE_NAME && !parsed.sample.includes(OUTSIDE_ADDRESS)) throw new Error(`forwarded answer was ${parsed.sample.join(',')}`);
  return parsed;
}
