import { readlink, stat } from 'node:fs/promises';
import { IP, inNetnsAt } from '../namespaces.js';
import type { Plan } from '../plan.js';
import { errorText, mustRun, startProcess, type RunningProcess } from '../proc.js';
import { SECOND_SUBNET, SUBNET } from '../systems/addresses.js';
import type { EndpointSystem, SecondNetwork } from '../systems/system.js';
import { progress, timed, type OpSample } from './sample.js';

/** The connect and disconnect samples of one system. */
export interface SecondNetworkRow {
  readonly key: string;
  readonly label: string;
  /** What connecting and disconnecting run. */
  readonly what: string;
  readonly connect: OpSample[];
  readonly disconnect: OpSample[];
  readonly errors: string[];
}

/** A system prepared for the workload. */
interface Entry {
  readonly system: EndpointSystem;
  readonly second: SecondNetwork;
  readonly row: SecondNetworkRow;
  failuresInARow: number;
}

const KEEPER = 'mkeep';
const SLEEP = '/bin/sleep';
/** `10.231.` of 10.231.0.0/16: an address of that subnet starts with it. */
const leading = (subnet: string) => `${subnet.split('.').slice(0, 2).join('.')}.`;
/** A system that failed this many times in a row is left out of the rest of the workload. */
const GIVE_UP_AFTER = 3;

/**
 * Connecting a running container to a second network, and disconnecting it
 * from that network alone (Docker's `network connect` / `disconnect`).
 *
 * Each round goes round-robin over the systems. Untimed: the container is
 * attached to the first network and a `sleep` started in its namespace, as
 * its process. Timed: the connect, then the disconnect. Untimed checks after
 * each, through the process's own namespace, see eth1 come and go while
 * eth0 keeps its address, the process keeps running and the namespace stays
 * the container's; a round that fails them is a failure, not a sample. Then
 * the process is ended by its PID and the container detached.
 *
 * A keeper container on both networks from start to end (untimed) keeps
 * every system's second bridge in place, as `docker network create` would
 * have made it: netavark deletes a bridge with its last endpoint.
 */
export async function runSecondNetwork(systems: readonly EndpointSystem[], plan: Plan): Promise<SecondNetworkRow[]> {
  const rows: SecondNetworkRow[] = [];
  const entries: Entry[] = [];
  const keepers: Entry[] = [];
  try {
    for (const system of systems) {
      if (!system.secondNetwork) continue;
      let second: SecondNetwork;
      try {
        second = await system.secondNetwork();
      } catch (error) {
        rows.push({ key: system.key, label: system.label, what: '—', connect: [], disconnect: [], errors: [errorText(error)] });
        progress(`second network of ${system.label} failed, left out: ${errorText(error)}`);
        continue;
      }
      const row: SecondNetworkRow = { key: system.key, label: system.label, what: second.label, connect: [], disconnect: [], errors: [] };
      rows.push(row);
      const entry: Entry = { system, second, row, failuresInARow: 0 };
      keepers.push(entry);
      try {
        await system.attach(KEEPER);
        await second.connect(KEEPER);
        entries.push(entry);
      } catch (error) {
        row.errors.push(`keeper: ${errorText(error)}`);
        progress(`${system.label}: keeper on the second network failed, left out: ${errorText(error)}`);
      }
    }

    const total = plan.warmup + plan.iterations;
    for (let i = 0; i < total; i++) {
      if (i % 5 === 0) progress(`second network of a running container: iteration ${i + 1}/${total}`);
      for (const entry of entries) {
        if (entry.failuresInARow >= GIVE_UP_AFTER) continue;
        await round(entry, `m${i}`, i >= plan.warmup);
      }
    }
  } finally {
    for (const { system, second, row } of keepers) {
      await second.disconnect(KEEPER).catch((error: unknown) => row.errors.push(`keeper: ${errorText(error)}`));
      await system.detach(KEEPER).catch((error: unknown) => row.errors.push(`keeper: ${errorText(error)}`));
    }
  }
  return rows;
}

/** One container of one system: attached, its process started, connected and disconnected (timed), then gone. */
async function round(entry: Entry, name: string, counted: boolean): Promise<void> {
  const { system, second, row } = entry;
  let sleeper: RunningProcess | undefined;
  try {
    await system.attach(name);
    const path = await second.netnsPath(name);
    sleeper = await startProcess(inNetnsAt(path, [SLEEP, '600']));
    const inode = await untilInside(sleeper.pid, path);
    const connect = await timed(() => second.connect(name));
    await expectState(sleeper, path, inode, 'after connect', true);
    const disconnect = await timed(() => second.disconnect(name));
    await expectState(sleeper, path, inode, 'after disconnect', false);
    if (counted) {
      row.connect.push(connect);
      row.disconnect.push(disconnect);
    }
    entry.failuresInARow = 0;
  } catch (error) {
    row.errors.push(errorText(error));
    entry.failuresInARow += 1;
    progress(`${row.label} (second network) failed: ${errorText(error)}`);
    await second.disconnect(name).catch(() => undefined);
  } finally {
    // The process goes first: while it runs, the namespace (and its veths) outlive `ip netns delete`.
    await sleeper?.stop();
    await system.detach(name).catch((error: unknown) => row.errors.push(`detaching ${name}: ${errorText(error)}`));
  }
}

/** Waits until process `pid` runs in the namespace pinned at `path` (nsenter has entered it); returns that namespace's inode. */
async function untilInside(pid: number, path: string): Promise<number> {
  const inode = (await stat(path)).ino;
  const deadline = performance.now() + 2000;
  for (;;) {
    const link = await readlink(`/proc/${pid}/ns/net`).catch(() => '');
    if (link === `net:[${inode}]`) return inode;
    if (performance.now() > deadline) throw new Error(`process ${pid} is not in ${path} after 2 s (${link || 'gone'})`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/**
 * Throws unless the container is as it should be: its process running in
 * its namespace, still pinned at `path`; eth0 with its first-network
 * address; eth1 with a second-network address exactly when `second`.
 */
async function expectState(sleeper: RunningProcess, path: string, inode: number, when: string, second: boolean): Promise<void> {
  const problems: string[] = [];
  if (!sleeper.alive()) problems.push("the container's process is gone");
  const pinned = await stat(path).then(
    (s) => s.ino,
    () => undefined,
  );
  if (pinned !== inode) problems.push(`${path} ${pinned === undefined ? 'is gone' : 'is another namespace now'}`);
  // Read through the process: what the container sees, even if the pin went.
  const { stdout } = await mustRun(inNetnsAt(`/proc/${sleeper.pid}/ns/net`, [IP, '-br', '-4', 'address', 'show']));
  const addresses = new Map(
    stdout
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .map(([name = '', , ...cidrs]) => [name.split('@')[0] ?? name, cidrs] as const),
  );
  if (!addresses.get('eth0')?.some((a) => a.startsWith(leading(SUBNET)))) problems.push('eth0 has lost its address');
  const eth1 = addresses.get('eth1')?.some((a) => a.startsWith(leading(SECOND_SUBNET))) ?? false;
  if (second && !eth1) problems.push('eth1 has no second-network address');
  if (!second && addresses.has('eth1')) problems.push('eth1 is still there');
  if (problems.length > 0) throw new Error(`${when}: ${problems.join('; ')}`);
}
