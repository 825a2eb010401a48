import { endpointOwner, networkOwner, type DriverContext, type NetworkDriver } from '../driver/network-driver.js';
import { errorMessage } from '../errors.js';
import type { NetModeEmitter } from '../events.js';
import type { Ipam } from '../ipam/ipam.js';
import type { Endpoint } from '../model/endpoint.js';
import type { NetworkRecord } from '../model/network.js';
import type { SandboxService } from '../netns/sandbox-service.js';
import { releaseOwnerWithin, type PortAllocator } from '../ports/port-allocator.js';
import { escapeRegExp } from '../net/names.js';
import { isProcessAlive } from '../store/process-identity.js';
import type { StateStore } from '../store/state-store.js';
import type { Operated } from './records.js';

/** What {@link NetworkManager.reconcile} did. */
export interface ReconcileReport {
  /** Operations a dead process left half-done (`attaching`, `detaching`, `broken`, `creating`, `removing`), now finished by tearing them down. */
  readonly finished: readonly string[];
  /** Endpoints whose sandbox vanished (a reboot, a deleted namespace): torn down, leases released. */
  readonly lost: readonly string[];
  /** Endpoints whose kernel objects no longer match the record: now `broken`, to be disconnected. */
  readonly broken: readonly string[];
  /** Endpoints whose shared state (bridge, firewall rules) was checked and restored where missing. */
  readonly repaired: readonly string[];
  /** Leases (addresses, subnets, ports) whose owner no longer exists, released. */
  readonly releasedLeases: number;
  /** What could not be done, one sentence each; the rest went on. */
  readonly failures: readonly string[];
}

/** What {@link NetworkManager.gc} did. */
export interface GcReport {
  /** Endpoints disconnected because their container was not in the valid list. */
  readonly disconnected: readonly string[];
  /** Kernel objects carrying netmode's name prefix that no record owned, removed. */
  readonly removedObjects: readonly string[];
  /** Leases whose owner no longer exists, released. */
  readonly releasedLeases: number;
  /** What could not be done; the rest went on. */
  readonly failures: readonly string[];
}

/** What maintenance needs from the manager. */
export interface MaintenanceDeps {
  readonly store: StateStore;
  readonly drivers: ReadonlyMap<string, NetworkDriver>;
  readonly ipam: Ipam;
  readonly ports: PortAllocator;
  readonly sandboxes: SandboxService;
  readonly events: NetModeEmitter;
  readonly namePrefix: string;
  context(): DriverContext;
  disconnect(containerId: string): Promise<void>;
  removeNetwork(name: string): Promise<void>;
  markBroken(containerId: string, problems: readonly string[]): Promise<void>;
}

const TRANSIENT_NETWORK = new Set(['creating', 'removing']);
const UNFINISHED_ENDPOINT = new Set(['attaching', 'detaching', 'broken']);

/** See {@link NetworkManager.reconcile}. */
export async function reconcile(deps: MaintenanceDeps): Promise<ReconcileReport> {
  const finished: string[] = [];
  const lost: string[] = [];
  const broken: string[] = [];
  const repaired: string[] = [];
  const failures: string[] = [];
  const attempt = async (what: string, work: () => Promise<unknown>) => {
    try {
      await work();
      return true;
    } catch (error) {
      failures.push(`${what}: ${errorMessage(error)}`);
      return false;
    }
  };

  for (const { value: network } of await deps.store.list<Operated<NetworkRecord>>('networks')) {
    if (!TRANSIENT_NETWORK.has(network.status) || (network.operator && isProcessAlive(network.operator))) continue;
    if (await attempt(`network ${network.name}`, () => deps.removeNetwork(network.name))) finished.push(`network ${network.name}`);
  }
  const networks = new Map((await deps.store.list<NetworkRecord>('networks')).map((e) => [e.value.id, e.value]));

  for (const { value: endpoint } of await deps.store.list<Operated<Endpoint>>('endpoints')) {
    const id = endpoint.containerId;
    if (UNFINISHED_ENDPOINT.has(endpoint.status)) {
      if (endpoint.operator && isProcessAlive(endpoint.operator)) continue;
      if (await attempt(`endpoint ${id}`, () => deps.disconnect(id))) finished.push(id);
      continue;
    }
    if (!(await deps.sandboxes.exists(endpoint.netns))) {
      if (await attempt(`endpoint ${id}`, () => deps.disconnect(id))) lost.push(id);
      continue;
    }
    const driver = deps.drivers.get(endpoint.driver);
    const network = networks.get(endpoint.networkId);
    if (!driver || !network) {
      failures.push(`endpoint ${id}: ${driver ? `its network ${endpoint.network} is gone` : `no driver ${endpoint.driver} is registered`}`);
      continue;
    }
    const report = driver.check ? await driver.check(endpoint, deps.context()).catch((e: unknown) => ({ ok: false, problems: [errorMessage(e)] })) : { ok: true, problems: [] };
    if (!report.ok) {
      if (await attempt(`endpoint ${id}`, () => deps.markBroken(id, report.problems))) broken.push(id);
      continue;
    }
    if (driver.repair && (await attempt(`endpoint ${id}`, () => driver.repair?.(endpoint, network, deps.context()) as Promise<void>))) {
      repaired.push(id);
    }
  }
  const releasedLeases = await releaseOrphanLeases(deps);
  const result = { finished, lost, broken, repaired, releasedLeases, failures };
  deps.events.emit('reconcile:repaired', { report: result });
  return result;
}

/** See {@link NetworkManager.gc}. */
export async function gc(deps: MaintenanceDeps, validContainerIds: readonly string[]): Promise<GcReport> {
  const valid = new Set(validContainerIds);
  const disconnected: string[] = [];
  const removedObjects: string[] = [];
  const failures: string[] = [];
  for (const { value: endpoint } of await deps.store.list<Endpoint>('endpoints')) {
    if (valid.has(endpoint.containerId)) continue;
    try {
      await deps.disconnect(endpoint.containerId);
      disconnected.push(endpoint.containerId);
    } catch (error) {
      failures.push(`endpoint ${endpoint.containerId}: ${errorMessage(error)}`);
    }
  }
  const endpoints = (await deps.store.list<Endpoint>('endpoints')).map((e) => e.value);
  const networks = (await deps.store.list<NetworkRecord>('networks')).map((e) => e.value);

  // Sandboxes are named by the manager: PREFIX and 16 hex digits.
  const sandboxName = new RegExp(`^${escapeRegExp(deps.namePrefix)}[0-9a-f]{16}$`);
  const used = new Set(endpoints.flatMap((e) => (e.netns.kind === 'named' ? [e.netns.name] : [])));
  for (const name of await deps.sandboxes.listNamed(deps.namePrefix)) {
    if (!sandboxName.test(name) || used.has(name)) continue;
    try {
      await deps.sandboxes.delete({ kind: 'named', name });
      removedObjects.push(`netns ${name}`);
    } catch (error) {
      failures.push(`netns ${name}: ${errorMessage(error)}`);
    }
  }
  for (const driver of deps.drivers.values()) {
    if (!driver.gc) continue;
    try {
      removedObjects.push(...(await driver.gc(endpoints, networks, deps.context())));
    } catch (error) {
      failures.push(`driver ${driver.name}: ${errorMessage(error)}`);
    }
  }
  const releasedLeases = await releaseOrphanLeases(deps);
  return { disconnected, removedObjects, releasedLeases, failures };
}

/** Releases address, subnet and port leases whose owner has no record any more. */
async function releaseOrphanLeases(deps: MaintenanceDeps): Promise<number> {
  return deps.store.transaction(async (tx) => {
    const endpoints = new Set((await tx.list<Endpoint>('endpoints')).map((e) => endpointOwner(e.value.containerId)));
    const networks = new Set((await tx.list<NetworkRecord>('networks')).map((e) => networkOwner(e.value.id)));
    const ipam = deps.ipam.within(tx);
    let released = 0;
    for (const subnet of await ipam.listSubnets()) {
      if (!networks.has(subnet.owner)) {
        await ipam.releaseSubnet(subnet.subnet);
        released += 1;
        continue;
      }
      for (const lease of await ipam.listLeases(subnet.subnet)) {
        if (endpoints.has(lease.owner)) continue;
        await ipam.releaseAddress(subnet.subnet, lease.address);
        released += 1;
      }
    }
    for (const lease of await deps.ports.list()) {
      if (!endpoints.has(lease.owner)) released += await releaseOwnerWithin(tx, lease.owner);
    }
    return released;
  });
}
