import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { invalidConfig, isToolFailure } from '../errors.js';
import { ExecaRunner } from '../exec/execa-runner.js';
import type { CommandRunner } from '../exec/runner.js';
import { namedNetns, type NetnsRef } from '../model/netns-ref.js';
import { NetnsSandboxService } from '../netns/sandbox-service.js';
import { COMPANION_KEY } from '../names/companion-control.js';
import { isProcessAlive } from '../store/process-identity.js';

/**
 * Whether root-only integration tests can run here. Returns `true` as root;
 * without root it returns `false` (skip) — unless `CI=true`, where it throws,
 * because in CI the integration tests must run, never skip.
 */
export function integrationAvailable(): boolean {
  if (process.getuid?.() === 0) return true;
  if (process.env['CI'] === 'true') {
    throw new Error('CI=true but the tests are not running as root: the integration tests must run as root in CI');
  }
  return false;
}

interface JsonLink {
  ifname: string;
  link_type?: string;
  master?: string;
  mtu?: number;
  address?: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}
interface JsonRoute {
  dst?: string;
  dev?: string;
  type?: string;
  table?: string;
  gateway?: string;
}

/**
 * Keeps what netmode could leave behind and drops what the kernel changes by
 * itself: link state flags and counters, IPv6 link-local addresses and their
 * routes (a bridge gets one the first time a port brings it up), and rule
 * counters.
 */
function normalizeSnapshot(raw: {
  namespaces: string[];
  links: JsonLink[];
  addresses: JsonLink[];
  routes: JsonRoute[];
  ruleset: string;
}): HostSnapshot {
  const linkLocal = (text = '') => /^fe80:/.test(text) || /^ff00:/.test(text);
  return {
    namespaces: raw.namespaces,
    links: raw.links.map((l) => ({ name: l.ifname, type: l.link_type, master: l.master, mtu: l.mtu, mac: l.address })),
    addresses: raw.addresses.map((l) => ({
      name: l.ifname,
      addresses: (l.addr_info ?? []).filter((a) => !linkLocal(a.local)).map((a) => `${a.local}/${a.prefixlen}`),
    })),
    routes: raw.routes
      .filter((r) => !linkLocal(r.dst) && r.type !== 'multicast')
      .map((r) => `${r.type ?? 'unicast'} ${r.dst ?? ''} ${r.gateway ?? ''} ${r.dev ?? ''} ${r.table ?? 'main'}`),
    ruleset: raw.ruleset.replace(/counter packets \d+ bytes \d+/g, 'counter'),
  };
}

/** Everything an integration test compares before and after, to prove nothing was left behind. */
export interface HostSnapshot {
  /** Named namespaces under `/run/netns` that carry the fixture's prefix. */
  readonly namespaces: readonly string[];
  /** Every link of the host namespace: name, type, master, MTU and MAC. */
  readonly links: readonly unknown[];
  /** Every address of the host namespace, by link, IPv6 link-local ones left out. */
  readonly addresses: readonly unknown[];
  /** Every route of the host namespace, all tables, both families, link-local and multicast left out. */
  readonly routes: readonly string[];
  /** `nft list ruleset` in the host namespace, counters blanked (empty when nft is not installed). */
  readonly ruleset: string;
}

/** A throwaway host namespace and the means to make more, all removed by {@link NetnsFixture.cleanup}. */
export interface NetnsFixture {
  /** The prefix of every namespace this fixture makes (`nt` and 3 hex digits by default); also a valid netmode `namePrefix`. */
  readonly prefix: string;
  /** The namespace that plays the host; pass it as `hostNetns`. */
  readonly hostNetns: NetnsRef;
  /** A fresh temporary directory for a state store; removed at cleanup. */
  readonly stateDir: string;
  /** A plain runner for checks of the test's own. */
  readonly runner: CommandRunner;
  /** Creates another namespace `PREFIX + suffix`, with `lo` up. */
  createNetns(suffix: string): Promise<NetnsRef>;
  /** Runs `ip ARGS` in a namespace and returns its standard output. */
  ip(netns: NetnsRef, ...args: string[]): Promise<string>;
  /** Takes a snapshot of the host namespace and of the prefixed namespaces. */
  snapshot(): Promise<HostSnapshot>;
  /**
   * Takes snapshots until one equals `expected` or `timeoutMs` (default 2000)
   * pass, and returns the last. The kernel finishes some removals after the
   * call that caused them returns (a deleted namespace's veth pair goes
   * within about 0.1 s), so "nothing left" is checked once that settles.
   */
  settle(expected: HostSnapshot, timeoutMs?: number): Promise<HostSnapshot>;
  /** Every file under {@link stateDir}, by path, with its content: to show that a refused call wrote nothing. */
  stateFiles(): Promise<Record<string, string>>;
  /** Deletes every namespace with the prefix and the state directory. Safe to call twice. */
  cleanup(): Promise<void>;
}

/** Options of {@link createNetnsFixture}. */
export interface NetnsFixtureOptions {
  /**
   * How the prefix starts: the fixture adds random hex digits up to 5
   * characters (the longest netmode `namePrefix`). Default `nt`. Two suites
   * that may run on one machine at once should use different starts; the
   * fixture never takes a prefix another live fixture holds either way.
   */
  readonly prefixStart?: string;
  /** The directory the temporary state directory is made in. Default: the system's temporary directory. */
  readonly tmpDir?: string;
}

/**
 * Creates a throwaway host namespace `PREFIXhost` (lo up), where PREFIX is
 * `nt` and 3 random hex digits unless `options.prefixStart` says otherwise,
 * and a temporary state directory. The prefix is taken race-free: making
 * `PREFIXhost` fails when another fixture (in any process) holds it, and
 * then another prefix is drawn. Call `cleanup()` in `afterAll` (or
 * `finally`): it deletes every namespace carrying the prefix, whatever the
 * test did, so a failed test leaves nothing behind. Requires root.
 */
export async function createNetnsFixture(options: NetnsFixtureOptions = {}): Promise<NetnsFixture> {
  const start = options.prefixStart ?? 'nt';
  if (!/^[a-z][a-z0-9]{0,3}$/.test(start)) {
    throw invalidConfig('prefixStart', `${JSON.stringify(start)} must be 1 to 4 lower-case letters or digits, starting with a letter`);
  }
  const runner = new ExecaRunner();
  const sandboxes = new NetnsSandboxService(runner);
  let prefix = '';
  let hostNetns: NetnsRef | undefined;
  for (let attempt = 0; hostNetns === undefined; attempt += 1) {
    prefix = `${start}${randomBytes(3)
      .toString('hex')
      .slice(0, 5 - start.length)}`;
    // Another fixture's namespaces may carry a longer name starting with ours: skip such a prefix.
    if ((await sandboxes.listNamed(prefix)).length > 0) continue;
    try {
      // Making PREFIXhost is the claim: `ip netns add` refuses a name that
      // exists, so two fixtures racing for one prefix cannot both get it.
      await runner.run({ command: 'ip', args: ['netns', 'add', `${prefix}host`] });
      hostNetns = namedNetns(`${prefix}host`);
      await runner.run({ command: 'ip', args: ['link', 'set', 'lo', 'up'], netns: hostNetns });
    } catch (error) {
      if (hostNetns !== undefined) await sandboxes.delete(hostNetns).catch(() => undefined);
      if (!isToolFailure(error, 'exists') || attempt > 50) throw error;
      hostNetns = undefined;
    }
  }
  let stateDir: string;
  try {
    stateDir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'netmode-test-'));
  } catch (error) {
    await sandboxes.delete(hostNetns);
    throw error;
  }
  const ip = async (netns: NetnsRef, ...args: string[]) => (await runner.run({ command: 'ip', args, netns })).stdout;
  const json = async <T>(netns: NetnsRef, ...args: string[]): Promise<T[]> =>
    JSON.parse((await ip(netns, '-json', ...args)) || '[]') as T[];

  const fixture: NetnsFixture = {
    prefix,
    hostNetns,
    stateDir,
    runner,
    createNetns: (suffix) => sandboxes.create(`${prefix}${suffix}`),
    ip,
    async snapshot() {
      let ruleset = '';
      try {
        ruleset = (await runner.run({ command: 'nft', args: ['list', 'ruleset'], netns: hostNetns })).stdout;
      } catch {
        // nft not installed: the bridge tests install it; here there is no ruleset to compare.
      }
      return normalizeSnapshot({
        namespaces: await sandboxes.listNamed(prefix),
        links: await json<JsonLink>(hostNetns, 'link', 'show'),
        addresses: await json<JsonLink>(hostNetns, 'address', 'show'),
        routes: [
          ...(await json<JsonRoute>(hostNetns, '-4', 'route', 'show', 'table', 'all')),
          ...(await json<JsonRoute>(hostNetns, '-6', 'route', 'show', 'table', 'all')),
        ],
        ruleset,
      });
    },
    async settle(expected, timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const current = await fixture.snapshot();
        if (isDeepStrictEqual(current, expected) || Date.now() > deadline) return current;
        await sleep(20);
      }
    },
    async stateFiles() {
      const files: Record<string, string> = {};
      for (const entry of await readdir(stateDir, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile()) continue;
        const path = join(entry.parentPath, entry.name);
        files[path] = await readFile(path, 'utf8');
      }
      return files;
    },
    async cleanup() {
      const failures: string[] = [];
      // A companion process the test's netmode started runs in the host
      // namespace and would keep it alive: end it first, by its PID.
      await stopCompanionOf(stateDir);
      for (const name of await sandboxes.listNamed(prefix)) {
        await sandboxes.delete(namedNetns(name)).catch((error: unknown) => failures.push(`${name}: ${String(error)}`));
      }
      await rm(stateDir, { recursive: true, force: true });
      if (failures.length > 0) throw new Error(`fixture cleanup left namespaces: ${failures.join('; ')}`);
    },
  };
  return fixture;
}

/** Ends the companion process recorded in `stateDir` (SIGTERM, then SIGKILL after 2 s), if one runs. */
async function stopCompanionOf(stateDir: string): Promise<void> {
  let identity: { pid: number; start: string };
  try {
    identity = JSON.parse(await readFile(join(stateDir, `${COMPANION_KEY}.json`), 'utf8')) as { pid: number; start: string };
  } catch {
    return;
  }
  if (typeof identity.pid !== 'number' || !isProcessAlive(identity)) return;
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    try {
      process.kill(identity.pid, signal);
    } catch {
      return;
    }
    for (let waited = 0; waited < 2_000; waited += 20) {
      if (!isProcessAlive(identity)) return;
      await sleep(20);
    }
  }
}
