import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isProcessAlive } from '@netmode/core';
import { removeContainer } from '../containers/lifecycle.js';
import { Session } from '../session.js';
import type { DemoRun } from './demo-run.js';
import { World } from './world.js';

/** The user-defined network the demo creates. */
export const DEMO_NETWORK = 'demo-net';

/** Where the demo runs: a world of its own prefix, a temporary state directory, and a session on them. */
export interface Throwaway {
  /** `nd` and 3 hex digits, carried by every namespace and interface of the demo. */
  readonly prefix: string;
  /** The host and outside-world namespaces (built by `buildTheWorld`). */
  readonly world: World;
  /** The temporary state directory, removed with everything else. */
  readonly stateDir: string;
  /** The firewall backend of `--firewall`: nftables or iptables. */
  readonly firewall: string;
  /** The demo's own session: the built-in drivers, the world's host namespace, the temporary state. */
  readonly session: Session;
}

/** Picks a free prefix and makes a temporary state directory; creates no namespace yet. */
export async function prepareThrowaway(session: Session, firewall: string): Promise<Throwaway> {
  const prefix = await World.pickPrefix();
  const world = World.of(prefix);
  const stateDir = await mkdtemp(join(tmpdir(), 'netmode-demo-'));
  const demo = await Session.open(
    { stateDir, hostNetns: `${prefix}host`, namePrefix: prefix, firewall, debug: session.globals.debug },
    session.out,
    'auto',
    // Its settings are its own, for its lifetime: nothing to keep (and its host namespace does not exist yet).
    { settings: 'none' },
  );
  return { prefix, world, stateDir, firewall, session: demo };
}

/**
 * Removes every container (killing its process if its endpoint would not
 * go), the demo's network, every namespace carrying the prefix and the state
 * directory, timing each as a teardown step. Returns what is left behind;
 * tries everything whatever fails.
 */
export async function removeEverythingTheDemoMade(place: Throwaway, run: DemoRun): Promise<string[]> {
  const { session: demo, world } = place;
  const problems: string[] = [];
  for (const record of (await demo.containers.list().catch(() => ({ records: [] }))).records) {
    const started = performance.now();
    try {
      await removeContainer(demo, record.name, { force: true });
      run.teardown.push({ command: `netmode rm -f ${record.name}`, ms: performance.now() - started });
    } catch (error) {
      problems.push(`container ${record.name}: ${String(error)}`);
      // Never leave a process of ours behind, even if its endpoint could not go.
      if (record.process && isProcessAlive(record.process)) process.kill(record.process.pid, 'SIGKILL');
    }
  }
  try {
    const started = performance.now();
    const networks = await demo.netmode.listNetworks();
    if (networks.some((n) => n.name === DEMO_NETWORK)) {
      await demo.netmode.removeNetwork(DEMO_NETWORK);
      run.teardown.push({ command: `netmode network rm ${DEMO_NETWORK}`, ms: performance.now() - started });
    }
  } catch (error) {
    problems.push(`network ${DEMO_NETWORK}: ${String(error)}`);
  }
  // The embedded DNS server's companion runs in the demo's host namespace and would keep it alive.
  try {
    await demo.manager.stopNameServer();
  } catch (error) {
    problems.push(`name server: ${String(error)}`);
  }
  const started = performance.now();
  problems.push(...(await world.destroy()));
  run.teardown.push({ command: `delete namespaces ${place.prefix}*`, ms: performance.now() - started });
  await rm(place.stateDir, { recursive: true, force: true });
  problems.push(...(await world.leftovers()).map((name) => `namespace ${name} is still there`));
  return problems;
}
