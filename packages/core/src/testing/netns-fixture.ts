import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecaRunner } from '../exec/execa-runner.js';
import type { CommandRunner } from '../exec/runner.js';
import { namedNetns, type NetnsRef } from '../model/netns-ref.js';
import { SandboxService } from '../netns/sandbox-service.js';

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

/** Everything an integration test compares before and after, to prove nothing was left behind. */
export interface HostSnapshot {
  /** Named namespaces under `/run/netns` that carry the fixture's prefix. */
  readonly namespaces: readonly string[];
  /** `ip -json link show` in the host namespace. */
  readonly links: unknown;
  /** `ip -json address show` in the host namespace. */
  readonly addresses: unknown;
  /** `ip -json route show table all`, IPv4 then IPv6, in the host namespace. */
  readonly routes: unknown;
  /** `nft list ruleset` in the host namespace (empty when nft is not installed). */
  readonly ruleset: string;
}

/** A throwaway host namespace and the means to make more, all removed by {@link NetnsFixture.cleanup}. */
export interface NetnsFixture {
  /** The prefix of every namespace this fixture makes; also a valid netmode `namePrefix` (7 characters). */
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
  /** Deletes every namespace with the prefix and the state directory. Safe to call twice. */
  cleanup(): Promise<void>;
}

/**
 * Creates a throwaway host namespace `nt<hex>-host` (lo up) and a temporary
 * state directory. Call `cleanup()` in `afterAll` (or `finally`): it deletes
 * every namespace carrying the prefix, whatever the test did, so a failed
 * test leaves nothing behind. Requires root.
 */
export async function createNetnsFixture(): Promise<NetnsFixture> {
  const prefix = `nt${randomBytes(2).toString('hex')}-`;
  const runner = new ExecaRunner();
  const sandboxes = new SandboxService(runner);
  const stateDir = await mkdtemp(join(tmpdir(), 'netmode-test-'));
  const hostNetns = await sandboxes.create(`${prefix}host`);
  const ip = async (netns: NetnsRef, ...args: string[]) => (await runner.run({ command: 'ip', args, netns })).stdout;
  const json = async (netns: NetnsRef, ...args: string[]) => JSON.parse((await ip(netns, '-json', ...args)) || '[]');

  return {
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
      return {
        namespaces: await sandboxes.listNamed(prefix),
        links: await json(hostNetns, 'link', 'show'),
        addresses: await json(hostNetns, 'address', 'show'),
        routes: [await json(hostNetns, '-4', 'route', 'show', 'table', 'all'), await json(hostNetns, '-6', 'route', 'show', 'table', 'all')],
        ruleset,
      };
    },
    async cleanup() {
      const failures: string[] = [];
      for (const name of await sandboxes.listNamed(prefix)) {
        await sandboxes.delete(namedNetns(name)).catch((error: unknown) => failures.push(`${name}: ${String(error)}`));
      }
      await rm(stateDir, { recursive: true, force: true });
      if (failures.length > 0) throw new Error(`fixture cleanup left namespaces: ${failures.join('; ')}`);
    },
  };
}
