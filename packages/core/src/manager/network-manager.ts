import 'reflect-metadata';
import { inject, injectAll, injectable } from 'tsyringe';
import { CONTAINER_MODE_DRIVER, parseMode, type ParsedMode } from '../driver/mode.js';
import {
  endpointOwner,
  networkOwner,
  type AttachRequest,
  type AttachResult,
  type DriverContext,
  type NetworkDriver,
} from '../driver/network-driver.js';
import { ErrorCode, NetModeError, asNetModeError, invalidConfig, isNetModeError } from '../errors.js';
import type { NetModeEmitter } from '../events.js';
import type { CommandRunner } from '../exec/runner.js';
import type { Ipam } from '../ipam/ipam.js';
import type { CheckReport, ConnectOptions, Endpoint } from '../model/endpoint.js';
import type { NetnsRef } from '../model/netns-ref.js';
import type { NetworkRecord, NetworkSpec } from '../model/network.js';
import { assertObjectName, hashedName } from '../net/names.js';
import type { SandboxService } from '../netns/sandbox-service.js';
import { releaseOwnerWithin, type PortAllocator } from '../ports/port-allocator.js';
import { currentProcess } from '../store/process-identity.js';
import type { StateStore, StateTransaction } from '../store/state-store.js';
import { COMMAND_RUNNER, EVENTS, IPAM, MANAGER_SETTINGS, NETWORK_DRIVER, PORTS, SANDBOXES, STATE_STORE } from '../tokens.js';
import { validateConnectOptions, validateLabels } from './connect-options.js';
import { gc, reconcile, type GcReport, type MaintenanceDeps, type ReconcileReport } from './maintenance.js';
import { addJoiner, joinersOf, removeJoiner, resolveJoinTarget, sandboxOwnerOf } from './shared-sandboxes.js';
import {
  assertNotBusy,
  endpointKey,
  endpointNotFound,
  networkKey,
  networkNotFound,
  newNetworkRecord,
  withoutOperator,
  type Operated,
} from './records.js';

/** Settings of one manager, resolved from `createNetMode()` options. */
export interface ManagerSettings {
  /** The namespace that plays the host. */
  readonly hostNetns: NetnsRef;
  /** Prefix of every sandbox namespace and interface name netmode makes. */
  readonly namePrefix: string;
}

type StoredEndpoint = Operated<Endpoint>;
type StoredNetwork = Operated<NetworkRecord>;

/**
 * The one object a runtime talks to: it parses modes, picks drivers,
 * validates everything before any kernel change, records networks and
 * endpoints in the state store before and after each change, and reports
 * what happened as events. Make one with `createNetMode()`.
 */
@injectable()
export class NetworkManager {
  /** Every event this instance reports; see {@link NetModeEvents}. */
  readonly events: NetModeEmitter;
  readonly #drivers: ReadonlyMap<string, NetworkDriver>;
  readonly #store: StateStore;
  readonly #runner: CommandRunner;
  readonly #ipam: Ipam;
  readonly #sandboxes: SandboxService;
  readonly #ports: PortAllocator;
  readonly #settings: ManagerSettings;
  #predefined: Promise<void> | undefined;
  /** Containers this process is connecting or disconnecting right now. */
  readonly #inFlight = new Set<string>();

  constructor(
    @injectAll(NETWORK_DRIVER) drivers: NetworkDriver[],
    @inject(STATE_STORE) store: StateStore,
    @inject(COMMAND_RUNNER) runner: CommandRunner,
    @inject(IPAM) ipam: Ipam,
    @inject(SANDBOXES) sandboxes: SandboxService,
    @inject(PORTS) ports: PortAllocator,
    @inject(EVENTS) events: NetModeEmitter,
    @inject(MANAGER_SETTINGS) settings: ManagerSettings,
  ) {
    const byName = new Map<string, NetworkDriver>();
    for (const driver of drivers) {
      if (byName.has(driver.name)) {
        throw invalidConfig('drivers', `two drivers are registered under the name ${JSON.stringify(driver.name)}`);
      }
      byName.set(driver.name, driver);
    }
    this.#drivers = byName;
    this.#store = store;
    this.#runner = runner;
    this.#ipam = ipam;
    this.#sandboxes = sandboxes;
    this.#ports = ports;
    this.events = events;
    this.#settings = settings;
  }

  /** The names of the registered drivers. */
  get drivers(): string[] {
    return [...this.#drivers.keys()].sort();
  }

  /** The namespace this manager treats as the host. */
  get hostNetns(): NetnsRef {
    return this.#settings.hostNetns;
  }

  // ---------------------------------------------------------------- networks

  /**
   * Creates a user-defined network with the named driver. The name must be
   * new; the driver validates the spec before anything changes, then creates
   * its shared objects and settles the subnets.
   *
   * @throws ERR_INVALID_CONFIG, ERR_NETWORK_EXISTS, ERR_DRIVER_NOT_FOUND,
   * ERR_UNSUPPORTED, ERR_SUBNET_OVERLAP, ERR_ADDRESS_EXHAUSTED, or a driver's error.
   */
  async createNetwork(spec: NetworkSpec): Promise<NetworkRecord> {
    assertObjectName(spec?.name, 'network name');
    validateLabels(spec.labels);
    if (spec.internal !== undefined && typeof spec.internal !== 'boolean') {
      throw invalidConfig('internal', 'must be true or false');
    }
    const driver = this.#driver(spec.driver);
    if (!driver.createNetwork) {
      throw new NetModeError(
        ErrorCode.UNSUPPORTED,
        `driver ${spec.driver} does not offer user-defined networks`,
        { context: { network: spec.name, driver: spec.driver } },
      );
    }
    try {
      driver.validateNetwork?.(spec);
    } catch (error) {
      throw asNetModeError(error, `validating network ${spec.name}`).withContext({ network: spec.name });
    }
    await this.#ensurePredefined();
    await this.#reservePredefinedSubnets();
    const started = performance.now();
    const pending: StoredNetwork = { ...newNetworkRecord(spec, false), status: 'creating', operator: currentProcess() };
    await this.#store.transaction(async (tx) => {
      if (await tx.get(networkKey(spec.name))) {
        throw new NetModeError(ErrorCode.NETWORK_EXISTS, `network ${spec.name} already exists`, {
          context: { network: spec.name },
        });
      }
      tx.put(networkKey(spec.name), pending);
    });
    const record = withoutOperator<NetworkRecord>(pending);
    let network: NetworkRecord;
    try {
      const setup = await driver.createNetwork(record, this.#context());
      network = { ...record, status: 'ready', subnets: setup.subnets, options: setup.options, driverData: setup.driverData ?? {} };
    } catch (cause) {
      const error = asNetModeError(cause, `creating network ${spec.name}`).withContext({ network: spec.name });
      // The driver undid its own steps; drop the record and any subnet it kept.
      await this.#bookkeeping(error, (tx) => this.#dropNetwork(tx, record));
      throw error;
    }
    await this.#store.transaction(async (tx) => {
      // Only confirm our own record: a remover may have taken over a record
      // it judged crashed.
      const current = await tx.get<StoredNetwork>(networkKey(spec.name));
      if (current?.id === network.id) tx.put(networkKey(spec.name), network);
    });
    this.events.emit('network:created', { network, durationMs: performance.now() - started });
    return network;
  }

  /**
   * Removes a user-defined network and its kernel objects. Idempotent: a
   * network that does not exist is success. A network left `creating` or
   * `removing` by a process that died is removed too.
   *
   * @throws ERR_NETWORK_IN_USE while endpoints use it or when it is predefined;
   * ERR_BUSY while another live process creates or removes it;
   * ERR_DRIVER_NOT_FOUND when its driver is not registered here;
   * ERR_TEARDOWN_INCOMPLETE when the driver could not remove everything (the
   * record is kept, status `removing`, so the removal can be retried).
   */
  async removeNetwork(name: string): Promise<void> {
    assertObjectName(name, 'network name');
    await this.#ensurePredefined();
    const started = performance.now();
    const existing = await this.#store.get<StoredNetwork>(networkKey(name));
    if (!existing) return;
    const driver = this.#driver(existing.driver);
    const network = await this.#store.transaction(async (tx) => {
      const record = await tx.get<StoredNetwork>(networkKey(name));
      if (!record) return undefined;
      if (record.predefined) {
        throw new NetModeError(ErrorCode.NETWORK_IN_USE, `${name} is a predefined network and cannot be removed`, {
          context: { network: name },
        });
      }
      assertNotBusy(record, `network ${name}`);
      const users = (await tx.list<Endpoint>('endpoints')).filter((e) => e.value.networkId === record.id);
      if (users.length > 0) {
        throw new NetModeError(
          ErrorCode.NETWORK_IN_USE,
          `network ${name} has endpoints: ${users.map((e) => e.value.containerId).join(', ')}`,
          { context: { network: name, endpoints: users.map((e) => e.value.containerId) } },
        );
      }
      tx.put(networkKey(name), { ...record, status: 'removing', operator: currentProcess() });
      return withoutOperator<NetworkRecord>({ ...record, status: 'removing' });
    });
    if (!network) return;
    try {
      await driver.removeNetwork?.(network, this.#context());
    } catch (cause) {
      const error = asNetModeError(cause, `removing network ${name}`).withContext({ network: name });
      // Keep the record so the removal can be retried, but free it for the next caller.
      await this.#bookkeeping(error, async (tx) => tx.put(networkKey(name), network));
      throw error;
    }
    await this.#store.transaction((tx) => this.#dropNetwork(tx, network));
    this.events.emit('network:removed', { network, durationMs: performance.now() - started });
  }

  /** Every network, predefined ones included, sorted by name. */
  async listNetworks(): Promise<NetworkRecord[]> {
    await this.#ensurePredefined();
    return (await this.#store.list<NetworkRecord>('networks')).map((e) => e.value);
  }

  /**
   * One network by name.
   *
   * @throws ERR_NETWORK_NOT_FOUND
   */
  async inspectNetwork(name: string): Promise<NetworkRecord> {
    assertObjectName(name, 'network name');
    await this.#ensurePredefined();
    const network = await this.#store.get<NetworkRecord>(networkKey(name));
    if (!network) throw networkNotFound(name);
    return network;
  }

  // --------------------------------------------------------------- endpoints

  /**
   * Connects a container in a mode as Docker writes it: `bridge`, `host`,
   * `none`, `container:NAME`, or a network's name. Every check runs before
   * the first kernel change; the record is written (status `attaching`)
   * before the driver starts and confirmed (`attached`) after, so a crash at
   * any point can be repaired. On failure the driver's completed steps are
   * undone and the record removed (or kept as `broken` if an undo failed).
   *
   * @param containerId - the runtime's container id or name (letters, digits, `_ . -`).
   * @param mode - the network mode.
   * @param options - namespace to use, ports, static address, …; drivers refuse what their mode cannot apply.
   * @returns the endpoint; run the container's processes in `endpoint.netns`.
   * @throws ERR_INVALID_CONFIG, ERR_NETWORK_NOT_FOUND, ERR_DRIVER_NOT_FOUND,
   * ERR_ENDPOINT_EXISTS, ERR_ENDPOINT_NOT_FOUND (container: target), or a driver's error.
   */
  async connect(containerId: string, mode: string, options: ConnectOptions = {}): Promise<Endpoint> {
    assertObjectName(containerId, 'container id');
    return this.#exclusive(containerId, () => this.#connect(containerId, mode, options));
  }

  async #connect(containerId: string, mode: string, options: ConnectOptions): Promise<Endpoint> {
    const parsed = parseMode(mode);
    validateConnectOptions(options);
    await this.#ensurePredefined();
    const { driver, request } = await this.#resolve(containerId, parsed, options);
    try {
      driver.validate(request);
    } catch (error) {
      throw asNetModeError(error, `validating ${containerId}`).withContext({ containerId, network: request.network.name });
    }

    const started = performance.now();
    const pending: StoredEndpoint = {
      id: containerId,
      containerId,
      network: request.network.name,
      networkId: request.network.id,
      driver: driver.name,
      netns: options.netns ?? { kind: 'named', name: this.#sandboxName(containerId) },
      ownsNetns: false,
      interfaces: [],
      addresses: [],
      gateways: [],
      ports: [],
      status: 'attaching',
      labels: { ...options.labels },
      driverData: {},
      createdAt: new Date().toISOString(),
      operator: currentProcess(),
    };
    // One transaction: an orphaned sandbox is regained, or the pending record claims the id.
    const regained = await this.#store.transaction(async (tx) => {
      const orphan = await regainOrphan(tx, containerId, request.network);
      if (orphan) return orphan;
      await this.#assertNoEndpoint(tx, containerId);
      if (request.target) {
        // The target may have gone since it was resolved outside the lock.
        const owner = await tx.get<StoredEndpoint>(endpointKey(request.target.id));
        if (owner?.status !== 'attached') {
          throw new NetModeError(ErrorCode.ENDPOINT_NOT_FOUND, `container ${request.target.id} is no longer running`, {
            context: { containerId, target: request.target.id },
          });
        }
        await addJoiner(tx, request.target.id, containerId);
      }
      const network = await tx.get<NetworkRecord>(networkKey(request.network.name));
      if (!network || network.id !== request.network.id || network.status !== 'ready') {
        throw networkNotFound(request.network.name);
      }
      tx.put(endpointKey(containerId), pending);
      return undefined;
    });
    if (regained) {
      this.events.emit('sandbox:owner-regained', { containerId, netns: regained.endpoint.netns, joiners: regained.joiners });
      return regained.endpoint;
    }
    const attaching = withoutOperator<Endpoint>(pending);

    let result: AttachResult;
    try {
      result = await driver.attach(request, this.#context());
    } catch (cause) {
      const error = asNetModeError(cause, `attaching ${containerId}`).withContext({
        containerId,
        network: request.network.name,
        driver: driver.name,
      });
      // Only a driver that says it undid everything gets its record dropped;
      // otherwise the record stays `broken` so disconnect() can finish the job.
      const rolledBack = error.context['rolledBack'] === true;
      await this.#bookkeeping(error, async (tx) => {
        if (rolledBack) {
          tx.delete(endpointKey(containerId));
          await this.#releaseLeases(tx, containerId);
          if (request.target) await removeJoiner(tx, request.target.id, containerId);
        } else {
          tx.put(endpointKey(containerId), { ...attaching, status: 'broken' });
        }
      });
      this.events.emit('endpoint:failed', { containerId, network: request.network.name, driver: driver.name, error, rolledBack });
      throw error;
    }

    const endpoint: Endpoint = {
      ...attaching,
      netns: result.netns,
      ownsNetns: result.ownsNetns,
      interfaces: result.interfaces,
      addresses: result.addresses,
      gateways: result.gateways,
      ports: result.ports,
      driverData: result.driverData ?? {},
      status: 'attached',
    };
    try {
      await this.#store.transaction(async (tx) => tx.put(endpointKey(containerId), endpoint));
    } catch (cause) {
      // The kernel is set up but the record says `attaching`: keep what the
      // driver made findable, so disconnect() can remove it.
      const error = asNetModeError(cause, `recording ${containerId}`).withContext({ containerId, kernelState: 'attached' });
      await this.#bookkeeping(error, async (tx) => tx.put(endpointKey(containerId), { ...endpoint, status: 'broken' }));
      this.events.emit('endpoint:failed', { containerId, network: request.network.name, driver: driver.name, error, rolledBack: false });
      throw error;
    }
    this.events.emit('endpoint:attached', { endpoint, durationMs: performance.now() - started });
    return endpoint;
  }

  /**
   * Disconnects a container: the driver removes its objects, then the record
   * and the address and port leases go. Idempotent: a container with no
   * endpoint is success. A record left `attaching`, `detaching` or `broken`
   * (by a failure, or by a process that died) is torn down too.
   *
   * @throws ERR_BUSY while another live call or process works on the
   * endpoint; ERR_DRIVER_NOT_FOUND when its driver is not registered here;
   * ERR_TEARDOWN_INCOMPLETE listing leftovers (the record stays, status
   * `detaching`, so the call can be repeated).
   */
  async disconnect(containerId: string): Promise<void> {
    assertObjectName(containerId, 'container id');
    return this.#exclusive(containerId, () => this.#disconnect(containerId));
  }

  async #disconnect(containerId: string): Promise<void> {
    const started = performance.now();
    const existing = await this.#store.get<StoredEndpoint>(endpointKey(containerId));
    if (!existing) return;
    const driver = this.#driver(existing.driver);
    const outcome = await this.#store.transaction(async (tx) => {
      const record = await tx.get<StoredEndpoint>(endpointKey(containerId));
      if (!record) return undefined;
      assertNotBusy(record, `container ${containerId}`);
      // Others share this sandbox: keep it and its network for them.
      const joiners = record.status === 'orphaned' ? [] : await joinersOf(tx, containerId);
      if (joiners.length > 0) {
        tx.put(endpointKey(containerId), { ...withoutOperator<Endpoint>(record), status: 'orphaned' });
        return { kind: 'orphaned' as const, endpoint: withoutOperator<Endpoint>(record), joiners };
      }
      tx.put(endpointKey(containerId), { ...record, status: 'detaching', operator: currentProcess() });
      return { kind: 'detaching' as const, endpoint: withoutOperator<Endpoint>({ ...record, status: 'detaching' }) };
    });
    if (!outcome) return;
    if (outcome.kind === 'orphaned') {
      this.events.emit('sandbox:owner-lost', { containerId, netns: outcome.endpoint.netns, joiners: outcome.joiners });
      return;
    }
    const { endpoint } = outcome;
    try {
      await driver.detach(endpoint, this.#context());
    } catch (cause) {
      const error = asNetModeError(cause, `detaching ${containerId}`).withContext({ containerId, network: endpoint.network });
      // Keep the record for a retry, without our process as its operator.
      await this.#bookkeeping(error, async (tx) => tx.put(endpointKey(containerId), endpoint));
      throw error;
    }
    const orphan = await this.#store.transaction(async (tx) => {
      tx.delete(endpointKey(containerId));
      await this.#releaseLeases(tx, containerId);
      // The last joiner of an orphaned sandbox takes the sandbox with it.
      const ownerId = sandboxOwnerOf(endpoint);
      if (ownerId === containerId) return undefined;
      await removeJoiner(tx, ownerId, containerId);
      const owner = await tx.get<StoredEndpoint>(endpointKey(ownerId));
      const remaining = (await joinersOf(tx, ownerId)).filter((id) => id !== containerId);
      return owner?.status === 'orphaned' && remaining.length === 0 ? ownerId : undefined;
    });
    this.events.emit('endpoint:detached', { endpoint, durationMs: performance.now() - started });
    if (orphan && !this.#inFlight.has(orphan)) await this.#exclusive(orphan, () => this.#disconnect(orphan));
  }

  /**
   * The endpoint record of a container.
   *
   * @throws ERR_ENDPOINT_NOT_FOUND
   */
  async inspect(containerId: string): Promise<Endpoint> {
    assertObjectName(containerId, 'container id');
    const record = await this.#store.get<StoredEndpoint>(endpointKey(containerId));
    if (!record) throw endpointNotFound(containerId);
    return withoutOperator<Endpoint>(record);
  }

  /** Every endpoint record, sorted by container id. */
  async list(): Promise<Endpoint[]> {
    return (await this.#store.list<StoredEndpoint>('endpoints')).map((e) => withoutOperator<Endpoint>(e.value));
  }

  /**
   * Asks the endpoint's driver whether the kernel still matches the record.
   * A driver without `check` reports only whether the sandbox exists.
   *
   * @throws ERR_ENDPOINT_NOT_FOUND
   */
  async check(containerId: string): Promise<CheckReport> {
    const endpoint = await this.inspect(containerId);
    const driver = this.#driver(endpoint.driver);
    if (driver.check) {
      try {
        return await driver.check(endpoint, this.#context());
      } catch (error) {
        throw asNetModeError(error, `checking ${containerId}`).withContext({ containerId });
      }
    }
    const exists = await this.#sandboxes.exists(endpoint.netns);
    return { ok: exists, problems: exists ? [] : ['the sandbox namespace is gone'] };
  }

  // ------------------------------------------------------------- maintenance

  /**
   * Brings records and kernel back in line, after a crash, a reboot with a
   * persisted state directory, or someone else's changes:
   * - finishes operations a dead process left half-done, by tearing them down;
   * - tears down endpoints whose sandbox vanished, releasing their leases;
   * - marks `broken` (event `endpoint:broken`) endpoints whose links were
   *   removed by hand; `disconnect()` then cleans them up;
   * - restores shared state of intact endpoints through their driver's
   *   `repair()` (firewall rules after `nft flush ruleset` or `iptables -F`);
   * - releases address, subnet and port leases whose owner is gone.
   * Every step is attempted; failures are listed in the report. Safe to run
   * at any time, also while other processes work (their records are skipped).
   */
  async reconcile(): Promise<ReconcileReport> {
    await this.#ensurePredefined();
    return reconcile(this.#maintenance());
  }

  /**
   * Garbage collection with CNI's semantics: disconnects every endpoint whose
   * container id is not in `validContainerIds`, removes sandboxes and driver
   * objects carrying this instance's name prefix that no record owns, and
   * releases leases whose owner is gone.
   */
  async gc(validContainerIds: readonly string[]): Promise<GcReport> {
    if (!Array.isArray(validContainerIds)) throw invalidConfig('validContainerIds', 'must be an array of container ids');
    await this.#ensurePredefined();
    return gc(this.#maintenance(), validContainerIds);
  }

  #maintenance(): MaintenanceDeps {
    return {
      store: this.#store,
      drivers: this.#drivers,
      ipam: this.#ipam,
      ports: this.#ports,
      sandboxes: this.#sandboxes,
      events: this.events,
      namePrefix: this.#settings.namePrefix,
      context: () => this.#context(),
      disconnect: (id) => this.disconnect(id),
      removeNetwork: (name) => this.removeNetwork(name),
      markBroken: async (id, problems) => {
        const endpoint = await this.#store.transaction(async (tx) => {
          const record = await tx.get<StoredEndpoint>(endpointKey(id));
          if (!record) return undefined;
          const marked: Endpoint = { ...withoutOperator<Endpoint>(record), status: 'broken' };
          tx.put(endpointKey(id), marked);
          return marked;
        });
        if (endpoint) this.events.emit('endpoint:broken', { endpoint, problems });
      },
    };
  }

  // ----------------------------------------------------------------- helpers

  /** Runs `work` unless this process is already working on the container. */
  async #exclusive<T>(containerId: string, work: () => Promise<T>): Promise<T> {
    if (this.#inFlight.has(containerId)) {
      throw new NetModeError(ErrorCode.BUSY, `container ${containerId} is being connected or disconnected by another call`, {
        context: { containerId },
      });
    }
    this.#inFlight.add(containerId);
    try {
      return await work();
    } finally {
      this.#inFlight.delete(containerId);
    }
  }

  async #resolve(
    containerId: string,
    mode: ParsedMode,
    options: ConnectOptions,
  ): Promise<{ driver: NetworkDriver; request: AttachRequest }> {
    if (mode.kind === 'container') {
      const driver = this.#drivers.get(CONTAINER_MODE_DRIVER);
      if (!driver) {
        throw new NetModeError(ErrorCode.DRIVER_NOT_FOUND, 'no driver for container:NAME modes is registered', {
          context: { mode: `container:${mode.target}`, hint: 'register @netmode/driver-container' },
        });
      }
      const network = await this.#networkRecord(CONTAINER_MODE_DRIVER);
      const target = await resolveJoinTarget(this.#store, containerId, mode.target);
      return { driver, request: { containerId, network, options, target } };
    }
    if (mode.network === CONTAINER_MODE_DRIVER) {
      throw invalidConfig('mode', '"container" needs the name of a container: container:NAME');
    }
    const network = await this.#networkRecord(mode.network);
    return { driver: this.#driver(network.driver), request: { containerId, network, options } };
  }

  async #networkRecord(name: string): Promise<NetworkRecord> {
    const network = await this.#store.get<NetworkRecord>(networkKey(name));
    if (!network || network.status !== 'ready') throw networkNotFound(name);
    return network;
  }

  async #assertNoEndpoint(tx: StateTransaction, containerId: string): Promise<void> {
    const existing = await tx.get<StoredEndpoint>(endpointKey(containerId));
    if (!existing) return;
    assertNotBusy(existing, `container ${containerId}`);
    throw new NetModeError(
      ErrorCode.ENDPOINT_EXISTS,
      `container ${containerId} already has an endpoint on network ${existing.network} (status ${existing.status})`,
      { context: { containerId, network: existing.network, status: existing.status } },
    );
  }

  /**
   * Runs a bookkeeping transaction after a failure. If it fails too, its
   * error goes into the original error's context instead of replacing it.
   */
  async #bookkeeping(error: NetModeError, work: (tx: StateTransaction) => Promise<void>): Promise<void> {
    try {
      await this.#store.transaction(work);
    } catch (bookkeepingError) {
      error.withContext({ bookkeepingError });
    }
  }

  /** Deletes a network record and releases its subnets, in the caller's transaction. */
  async #dropNetwork(tx: StateTransaction, network: NetworkRecord): Promise<void> {
    const current = await tx.get<StoredNetwork>(networkKey(network.name));
    if (current?.id === network.id) tx.delete(networkKey(network.name));
    await this.#releaseNetworkSubnets(tx, network.id);
  }

  /** Releases a container's address and port leases, in the caller's transaction. */
  async #releaseLeases(tx: StateTransaction, containerId: string): Promise<void> {
    await this.#ipam.within(tx).releaseOwner(endpointOwner(containerId));
    await releaseOwnerWithin(tx, endpointOwner(containerId));
  }

  async #releaseNetworkSubnets(tx: StateTransaction, networkId: string): Promise<void> {
    const ipam = this.#ipam.within(tx);
    for (const lease of await ipam.listSubnets()) {
      if (lease.owner === networkOwner(networkId)) await ipam.releaseSubnet(lease.subnet);
    }
  }

  #driver(name: string): NetworkDriver {
    const driver = this.#drivers.get(name);
    if (!driver) {
      throw new NetModeError(
        ErrorCode.DRIVER_NOT_FOUND,
        `no driver named ${JSON.stringify(name)} is registered (registered: ${this.drivers.join(', ') || 'none'})`,
        { context: { driver: name } },
      );
    }
    return driver;
  }

  #sandboxName(containerId: string): string {
    return hashedName(this.#settings.namePrefix, containerId, this.#settings.namePrefix.length + 16);
  }

  #context(): DriverContext {
    const prefix = this.#settings.namePrefix;
    return {
      hostNetns: this.#settings.hostNetns,
      runner: this.#runner,
      sandboxes: this.#sandboxes,
      ipam: this.#ipam,
      ports: this.#ports,
      events: this.events,
      namePrefix: prefix,
      sandboxName: (containerId) => this.#sandboxName(containerId),
      interfaceName: (id, tag = '') => hashedName(prefix + tag, id),
    };
  }

  /**
   * Reserves in IPAM the subnets predefined networks declare (the default
   * bridge's `bip`), so a user-defined network created before the first
   * connect is not handed the same subnet. A subnet that overlaps something
   * of the host is left alone: its driver reports that when it first uses it.
   */
  async #reservePredefinedSubnets(): Promise<void> {
    const held = new Set((await this.#ipam.listSubnets()).map((s) => `${s.owner} ${s.subnet}`));
    for (const { value: network } of await this.#store.list<NetworkRecord>('networks')) {
      if (!network.predefined) continue;
      for (const subnet of network.subnets) {
        if (held.has(`${networkOwner(network.id)} ${subnet.subnet}`)) continue;
        try {
          await this.#ipam.allocateSubnet(networkOwner(network.id), {
            subnet: subnet.subnet,
            ...(subnet.gateway ? { gateway: subnet.gateway } : {}),
          });
        } catch (error) {
          if (!isNetModeError(error, ErrorCode.SUBNET_OVERLAP)) throw error;
        }
      }
    }
  }

  /** Records each driver's predefined networks once, on first use. */
  #ensurePredefined(): Promise<void> {
    this.#predefined ??= this.#store
      .transaction(async (tx) => {
        for (const driver of this.#drivers.values()) {
          for (const spec of driver.predefinedNetworks ?? []) {
            if (await tx.get(networkKey(spec.name))) continue;
            tx.put(networkKey(spec.name), newNetworkRecord(spec, true));
          }
        }
      })
      .catch((error: unknown) => {
        this.#predefined = undefined;
        throw error;
      });
    return this.#predefined;
  }
}

/**
 * Gives an orphaned sandbox back to its owner reconnecting on the same
 * network, in the caller's transaction: same sandbox, same address, nothing
 * rebuilt. Resolves to the endpoint and its joiners, or `undefined` when
 * there is no such orphan.
 */
async function regainOrphan(
  tx: StateTransaction,
  containerId: string,
  network: NetworkRecord,
): Promise<{ readonly endpoint: Endpoint; readonly joiners: string[] } | undefined> {
  const record = await tx.get<StoredEndpoint>(endpointKey(containerId));
  if (record?.status !== 'orphaned' || record.networkId !== network.id) return undefined;
  const endpoint: Endpoint = { ...withoutOperator<Endpoint>(record), status: 'attached' };
  tx.put(endpointKey(containerId), endpoint);
  return { endpoint, joiners: await joinersOf(tx, containerId) };
}
