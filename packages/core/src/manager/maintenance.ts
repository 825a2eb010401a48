import { existsSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { endpointOwner, networkOwner, type DriverContext, type NetworkDriver } from '../driver/network-driver.js';
import { errorMessage, type NetModeError } from '../errors.js';
import type { Ipam } from '../ipam/types.js';
import type { CheckReport, Endpoint } from '../model/endpoint.js';
import { netnsPath } from '../model/netns-ref.js';
import { formatCidr, parseCidr, cidrContains, parseAddress } from '../net/address.js';
import { escapeRegExp } from '../net/names.js';
import type { SandboxService } from '../netns/types.js';
import type { PortAllocator } from '../ports/types.js';
import { isProcessAlive } from '../store/process-identity.js';
import type { CorruptRecord } from '../store/record-schema.js';
import type { GcReport, ReconcileReport } from '../model/maintenance.js';
import type { StateStore } from '../store/state-store.js';
import { endpointIdFor } from './records.js';
import { sandboxOwnerOf } from './shared-sandboxes.js';
import { listEndpoints, listNetworks, type StoredEndpoint, type StoredNetwork } from './state.js';

/** What one maintenance disconnect did. */
export type MaintenanceOutcome = 'gone' | 'skipped' | 'orphaned' | 'detached';

/** What maintenance needs from the manager. */
export interface MaintenanceDeps {
  readonly store: StateStore;
  readonly drivers: ReadonlyMap<string, NetworkDriver>;
  readonly ipam: Ipam;
  readonly ports: PortAllocator;
  readonly sandboxes: SandboxService;
  readonly namePrefix: string;
  /** The instance's tag, as sandbox names carry it. */
  readonly instanceTag: string;
  context(): DriverContext;
  /** Whether this process is connecting or disconnecting the container right now. */
  busyHere(containerId: string): boolean;
  /** Disconnects the container from the network only if the record, read again under the lock, passes `expect`. */
  disconnectIf(containerId: string, network: string, expect: (record: StoredEndpoint) => boolean): Promise<MaintenanceOutcome>;
  /** Removes the network only if its record, read again under the lock, passes `expect`. */
  removeNetworkIf(name: string, expect: (record: StoredNetwork) => boolean): Promise<boolean>;
  /**
   * Holds the endpoint for a check and a repair if its record is still
   * exactly `snapshot` and nobody works on it; resolves to the endpoint, or
   * undefined when it changed or is busy.
   */
  hold(snapshot: StoredEndpoint): Promise<Endpoint | undefined>;
  /** Lets go of a hold, applying `change` to the record first; resolves to the changed endpoint. */
  release(endpoint: Endpoint, change?: (record: StoredEndpoint) => StoredEndpoint): Promise<Endpoint | undefined>;
  /**
   * Puts the container's default route where its records say (after a crash
   * while it moved); resolves to a line saying what was done, or undefined.
   */
  routeDefault(containerId: string): Promise<string | undefined>;
  emitBroken(endpoint: Endpoint, problems: readonly string[]): void;
  check(driver: NetworkDriver, endpoint: Endpoint, ctx: DriverContext): Promise<CheckReport>;
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
  const attempt = async <T>(what: string, work: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await work();
    } catch (error) {
      failures.push(`${what}: ${errorMessage(error)}`);
      return undefined;
    }
  };

  const networkListing = await listNetworks(deps.store);
  failures.push(...messages(networkListing.corrupt));
  for (const { value: snapshot } of networkListing.records) {
    if (!TRANSIENT_NETWORK.has(snapshot.status) || (snapshot.operator && isProcessAlive(snapshot.operator))) continue;
    const removed = await attempt(`network ${snapshot.name}`, () =>
      deps.removeNetworkIf(snapshot.name, (current) => isDeepStrictEqual(current, snapshot)),
    );
    if (removed) finished.push(`network ${snapshot.name}`);
  }

  const restoredLeases = (await attempt('restoring leases', () => restoreLeases(deps, failures))) ?? 0;
  const networks = new Map((await listNetworks(deps.store)).records.map((e) => [e.value.id, e.value]));

  const endpointListing = await listEndpoints(deps.store);
  failures.push(...messages(endpointListing.corrupt));
  // Containers with several endpoints: their default route is checked once all of them are.
  const shared = new Set<string>();
  const seen = new Set<string>();
  for (const { value: snapshot } of endpointListing.records) {
    const id = snapshot.containerId;
    const { containerId, network } = snapshot;
    if (seen.has(containerId)) shared.add(containerId);
    seen.add(containerId);
    if (deps.busyHere(containerId)) continue;
    const unchanged = (current: StoredEndpoint) => isDeepStrictEqual(current, snapshot);
    // A record `broken` by a failed operation is finished; one that a check
    // found broken (it carries the problems) is checked again below.
    if (UNFINISHED_ENDPOINT.has(snapshot.status) && snapshot.problems === undefined) {
      if (snapshot.operator && isProcessAlive(snapshot.operator)) continue;
      if ((await attempt(`endpoint ${id}`, () => deps.disconnectIf(containerId, network, unchanged))) === 'detached') finished.push(id);
      continue;
    }
    if (!(await deps.sandboxes.exists(snapshot.netns))) {
      const gone = (current: StoredEndpoint) => unchanged(current) && !existsSync(netnsPath(current.netns));
      if ((await attempt(`endpoint ${id}`, () => deps.disconnectIf(containerId, network, gone))) === 'detached') lost.push(id);
      continue;
    }
    const endpoint = await attempt(`endpoint ${id}`, () => deps.hold(snapshot));
    if (endpoint === undefined) continue;
    try {
      const outcome = await attempt(`endpoint ${id}`, () => checkAndRepair(deps, endpoint, networks));
      if (outcome?.kind === 'broken') broken.push(id);
      if (outcome?.kind === 'repaired') repaired.push(id);
    } finally {
      await attempt(`endpoint ${id}`, () => deps.release(endpoint));
    }
  }
  for (const containerId of shared) {
    const done = await attempt(`default route of ${containerId}`, () => deps.routeDefault(containerId));
    if (done) repaired.push(done);
  }
  const releasedLeases = (await attempt('releasing leases', () => releaseOrphanLeases(deps))) ?? 0;
  return { finished, lost, broken, repaired, restoredLeases, releasedLeases, failures };
}

/**
 * The check and repair of one held endpoint: a mismatch marks it `broken`
 * (with its problems); a whole endpoint is repaired, and one a former check
 * had marked `broken` is `attached` again.
 */
async function checkAndRepair(
  deps: MaintenanceDeps,
  endpoint: Endpoint,
  networks: ReadonlyMap<string, StoredNetwork>,
): Promise<{ kind: 'broken' | 'repaired' | 'checked' }> {
  const driver = deps.drivers.get(endpoint.driver);
  const network = networks.get(endpoint.networkId);
  if (!driver) throw new Error(`no driver ${endpoint.driver} is registered`);
  if (!network) throw new Error(`its network ${endpoint.network} is gone`);
  const ctx = deps.context();
  const report = await deps.check(driver, endpoint, ctx).catch((e: unknown) => ({ ok: false, problems: [errorMessage(e)] }));
  if (!report.ok) {
    const marked = await deps.release(endpoint, (r) => ({ ...r, status: 'broken', problems: [...report.problems] }));
    if (marked) deps.emitBroken(marked, report.problems);
    return { kind: 'broken' };
  }
  if (endpoint.status === 'broken') {
    await deps.release(endpoint, (r) => {
      const { problems: _problems, ...rest } = r;
      return { ...rest, status: 'attached' };
    });
  }
  // A former check's `broken` undone is a repair in itself.
  const healed = endpoint.status === 'broken';
  if (!driver.repair) return { kind: healed ? 'repaired' : 'checked' };
  const putBack = await driver.repair(endpoint, network, ctx);
  return { kind: putBack === false && !healed ? 'checked' : 'repaired' };
}

/** Whether a reconcile did something, or failed to: a report worth an event. */
export function reconcileDidSomething(report: ReconcileReport): boolean {
  const { finished, lost, broken, repaired, restoredLeases, releasedLeases, failures } = report;
  return [finished, lost, broken, repaired, failures].some((list) => list.length > 0) || restoredLeases > 0 || releasedLeases > 0;
}

/** See {@link NetworkManager.gc}. */
export async function gc(deps: MaintenanceDeps, validContainerIds: readonly string[], listedAt: Date): Promise<GcReport> {
  const valid = new Set(validContainerIds);
  const disconnected: string[] = [];
  const removedObjects: string[] = [];
  const failures: string[] = [];
  const listing = await listEndpoints(deps.store);
  failures.push(...messages(listing.corrupt));
  for (const { value: snapshot } of listing.records) {
    const id = snapshot.containerId;
    if (valid.has(snapshot.containerId) || deps.busyHere(snapshot.containerId)) continue;
    // The caller's list could not name an endpoint made after it was taken.
    if (!(Date.parse(snapshot.createdAt) < listedAt.getTime())) continue;
    // Someone is working on it: a connect in progress, a reconcile's check.
    if ((snapshot.operator && isProcessAlive(snapshot.operator)) || (snapshot.hold && isProcessAlive(snapshot.hold))) continue;
    try {
      const outcome = await deps.disconnectIf(snapshot.containerId, snapshot.network, (current) => isDeepStrictEqual(current, snapshot));
      if (outcome === 'detached') disconnected.push(id);
    } catch (error) {
      failures.push(`endpoint ${id}: ${errorMessage(error)}`);
    }
  }

  // Strays are judged and removed under the lock: an object a concurrent
  // connect is making already has its record, so it is never taken for one.
  await deps.store.transaction(async (tx) => {
    const endpoints = await listEndpoints(tx);
    const networks = await listNetworks(tx);
    const liveOwners = ownersOf(endpoints, networks);
    const ctx = deps.context();
    // Sandboxes this instance names: PREFIX, the instance tag, '-' and 16 hex digits.
    const sandboxName = new RegExp(`^${escapeRegExp(deps.namePrefix)}${deps.instanceTag}-[0-9a-f]{16}$`);
    const used = new Set([
      ...endpoints.records.flatMap((e) => (e.value.netns.kind === 'named' ? [e.value.netns.name] : [])),
      ...endpoints.corrupt.map((c) => ctx.sandboxName(containerOfKey(c.key))),
    ]);
    for (const name of await deps.sandboxes.listNamed(deps.namePrefix)) {
      if (!sandboxName.test(name) || used.has(name)) continue;
      try {
        await deps.sandboxes.delete({ kind: 'named', name });
        removedObjects.push(`netns ${name}`);
      } catch (error) {
        failures.push(`netns ${name}: ${errorMessage(error)}`);
      }
    }
    const scope = {
      liveOwners,
      endpoints: endpoints.records.map((e) => e.value as Endpoint),
      networks: networks.records.map((e) => e.value),
    };
    for (const driver of deps.drivers.values()) {
      if (!driver.gc) continue;
      try {
        removedObjects.push(...(await driver.gc(scope, ctx)));
      } catch (error) {
        failures.push(`driver ${driver.name}: ${errorMessage(error)}`);
      }
    }
  });
  const releasedLeases = await releaseOrphanLeases(deps);
  return { disconnected, removedObjects, releasedLeases, failures };
}

/**
 * Every owner with a record, readable or not. A damaged record's owner is
 * taken from its key (endpoints) or from the id its text still shows
 * (networks), so nothing of it is removed as stray.
 */
function ownersOf(
  endpoints: { readonly records: readonly { value: StoredEndpoint }[]; readonly corrupt: readonly CorruptRecord[] },
  networks: { readonly records: readonly { value: StoredNetwork }[]; readonly corrupt: readonly CorruptRecord[] },
): Set<string> {
  const networkIds = new Map(networks.records.map((e) => [e.value.name, e.value.id]));
  return new Set([
    ...endpoints.records.map((e) => endpointOwner(e.value.id)),
    // A damaged endpoint record: the id its key gives (container and network),
    // the id its text still shows, and the container id (the id of every
    // endpoint of state format 1).
    ...endpoints.corrupt.flatMap((c) => {
      const [, containerId = c.key, network] = c.key.split('/');
      const networkId = network === undefined ? undefined : networkIds.get(network);
      return [
        endpointOwner(containerId),
        ...(networkId === undefined ? [] : [endpointOwner(endpointIdFor(containerId, networkId))]),
        ...[...c.text.matchAll(/"id"\s*:\s*"([^"]+)"/g)].map((m) => endpointOwner(m[1] as string)),
      ];
    }),
    ...networks.records.map((e) => networkOwner(e.value.id)),
    ...networks.corrupt.flatMap((c) => [...c.text.matchAll(/"id"\s*:\s*"([0-9a-f]{64})"/g)].map((m) => networkOwner(m[1] as string))),
  ]);
}

/** Releases address, subnet and port leases whose owner has no record any more (readable or not). */
async function releaseOrphanLeases(deps: MaintenanceDeps): Promise<number> {
  return deps.store.transaction(async (tx) => {
    const owners = ownersOf(await listEndpoints(tx), await listNetworks(tx));
    const ipam = deps.ipam.within(tx);
    let released = 0;
    for (const subnet of await ipam.listSubnets()) {
      if (!owners.has(subnet.owner)) {
        await ipam.releaseSubnet(subnet.subnet);
        released += 1;
        continue;
      }
      for (const lease of await ipam.listLeases(subnet.subnet)) {
        if (owners.has(lease.owner)) continue;
        await ipam.releaseAddress(subnet.subnet, lease.address);
        released += 1;
      }
    }
    const ports = deps.ports.within(tx);
    for (const lease of await ports.list()) {
      if (!owners.has(lease.owner)) released += await ports.releaseOwner(lease.owner);
    }
    return released;
  });
}

/**
 * Records again, in one transaction, the subnets, addresses and host ports
 * that network and endpoint records hold but whose leases are missing (the
 * lease records were deleted or restored from an older copy), so they are
 * never handed out twice. A lease now held by another owner is a conflict:
 * it is reported, not taken.
 */
async function restoreLeases(deps: MaintenanceDeps, failures: string[]): Promise<number> {
  return deps.store.transaction(async (tx) => {
    const ipam = deps.ipam.within(tx);
    const networks = (await listNetworks(tx)).records.map((e) => e.value).filter((n) => n.status === 'ready');
    const endpoints = (await listEndpoints(tx)).records.map((e) => e.value);
    let restored = 0;
    const held = async () => new Map((await ipam.listSubnets()).map((s) => [s.subnet, s]));
    let subnets = await held();

    const ensureSubnet = async (owner: string, subnet: string, gateway: string | undefined, ipRange?: string) => {
      const lease = subnets.get(subnet);
      if (lease) return lease.owner === owner;
      if (gateway === undefined) {
        failures.push(`subnet ${subnet} of ${owner}: its lease is missing and its gateway is unknown; recreate the network`);
        return false;
      }
      try {
        await ipam.allocateSubnet(owner, { subnet, gateway, ...(ipRange === undefined ? {} : { ipRange }) }, []);
        restored += 1;
        subnets = await held();
        return true;
      } catch (error) {
        failures.push(`subnet ${subnet} of ${owner}: ${errorMessage(error)}`);
        return false;
      }
    };

    for (const network of networks) {
      for (const s of network.subnets) await ensureSubnet(networkOwner(network.id), s.subnet, s.gateway, s.ipRange);
    }
    const byId = new Map(networks.map((n) => [n.id, n]));
    for (const endpoint of endpoints) {
      // A joiner shows its target's addresses; they are the target's leases.
      if (sandboxOwnerOf(endpoint) !== endpoint.containerId) continue;
      const owner = endpointOwner(endpoint.id);
      for (const text of endpoint.addresses) {
        const cidr = parseCidr(text, 'endpoint address');
        const subnet = formatCidr(cidr);
        const network = byId.get(endpoint.networkId);
        const gateway =
          network?.subnets.find((s) => s.subnet === subnet)?.gateway ?? endpoint.gateways.find((g) => cidrContains(cidr, parseAddress(g)));
        if (!(await ensureSubnet(networkOwner(endpoint.networkId), subnet, gateway))) continue;
        const holder = (await ipam.listLeases(subnet)).find((l) => l.address === cidr.address.text)?.owner;
        if (holder === owner) continue;
        if (holder !== undefined) {
          failures.push(`endpoint ${endpoint.containerId}: its address ${cidr.address.text} is leased to ${holder}`);
          continue;
        }
        try {
          await ipam.allocateAddress(subnet, owner, { address: cidr.address.text });
          restored += 1;
        } catch (error) {
          failures.push(`endpoint ${endpoint.containerId}: address ${cidr.address.text}: ${errorMessage(error)}`);
        }
      }
      const ports = await deps.ports.within(tx).list();
      for (const port of endpoint.ports) {
        const request = {
          protocol: port.protocol ?? 'tcp',
          ...(port.hostIp === undefined ? {} : { hostIp: port.hostIp }),
          hostPort: port.hostPort ?? 0,
          count: port.count ?? 1,
        } as const;
        const have = ports.some(
          (l) => l.owner === owner && l.protocol === request.protocol && l.hostPort === request.hostPort && l.hostIp === request.hostIp,
        );
        if (have || request.hostPort === 0) continue;
        try {
          await deps.ports.within(tx).allocate(owner, [request]);
          restored += 1;
        } catch (error) {
          failures.push(`endpoint ${endpoint.containerId}: host port ${request.hostPort}/${request.protocol}: ${errorMessage(error)}`);
        }
      }
    }
    return restored;
  });
}

/** The container an endpoint key (`endpoints/CONTAINER/NETWORK`, or format 1's `endpoints/CONTAINER`) names. */
function containerOfKey(key: string): string {
  return key.split('/')[1] ?? key;
}

function messages(corrupt: readonly { readonly error: NetModeError }[]): string[] {
  return corrupt.map((c) => c.error.message);
}
