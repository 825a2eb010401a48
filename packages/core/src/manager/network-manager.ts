import 'reflect-metadata';
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { inject, injectAll, injectable } from 'tsyringe';
import { CONTAINER_MODE_DRIVER, parseMode, type ParsedMode } from '../driver/mode.js';
import {
  endpointOwner,
  linkOwnerAlias,
  networkOwner,
  parseLinkOwnerAlias,
  type AttachRequest,
  type AttachResult,
  type DriverContext,
  type NetworkDriver,
} from '../driver/network-driver.js';
import { ErrorCode, NetModeError, asNetModeError, errorMessage, invalidConfig, isNetModeError } from '../errors.js';
import type { NetModeEmitter } from '../events.js';
import type { CommandRunner } from '../exec/runner.js';
import type { Ipam } from '../ipam/types.js';
import { validateSubnetConfig } from '../ipam/subnet-request.js';
import type { ReservedSubnet } from '../ipam/types.js';
import type { CheckReport, ConnectOptions, Endpoint } from '../model/endpoint.js';
import type { NetnsRef } from '../model/netns-ref.js';
import type { NetworkRecord, NetworkSpec } from '../model/network.js';
import type { Sandbox } from '../model/sandbox.js';
import { assertObjectName, hashedName } from '../net/names.js';
import type { SandboxService } from '../netns/types.js';
import type { PortAllocator } from '../ports/types.js';
import { currentProcess, isProcessAlive, type ProcessIdentity } from '../store/process-identity.js';
import { checkRecord } from '../store/record-schema.js';
import type { StateStore, StateTransaction } from '../store/state-store.js';
import { COMMAND_RUNNER, EVENTS, IPAM, MANAGER_SETTINGS, NAMES, NETWORK_DRIVER, PORTS, SANDBOXES, STATE_STORE } from '../tokens.js';
import type { NameService, SandboxNames } from '../names/name-service.js';
import type { ControlReply, NameServerStatus } from '../names/companion-control.js';
import type { NameFileContents } from '../model/names.js';
import { validateConnectOptions, validateLabels } from './connect-options.js';
import type { GcOptions, GcReport, ReconcileReport } from '../model/maintenance.js';
import { gc, reconcile, reconcileDidSomething, type MaintenanceDeps } from './maintenance.js';
import { INSTANCE_RECORD } from './record-kinds.js';
import {
  assertNotBusy,
  endpointIdFor,
  endpointKey,
  endpointNotFound,
  networkKey,
  networkNotFound,
  newNetworkRecord,
  withoutOperator,
} from './records.js';
import { HOST_GATEWAY, NAME_SETTING_FIELDS, hostnameOf, nameSettingsOf, parseExtraHost, settleNameSettings } from '../names/settings.js';
import type { NameSettings } from '../model/names.js';
import { addJoiner, joinersOf, removeJoiner, resolveJoinTarget, sandboxOwnerOf } from './shared-sandboxes.js';
import { ensureStateFormat, formatRecord } from './state-format.js';
import {
  byConnection,
  containerEndpoints,
  getEndpoint,
  getNetwork,
  listEndpoints,
  listNetworks,
  type StoredEndpoint,
  type StoredNetwork,
} from './state.js';

/** Settings of one manager, resolved from `createNetMode()` options. */
export interface ManagerSettings {
  /** The namespace that plays the host. */
  readonly hostNetns: NetnsRef;
  /** Prefix of every sandbox namespace and interface name netmode makes. */
  readonly namePrefix: string;
}

const INSTANCE_KEY = 'instance';
const STATE_FORMAT_KEY = 'format';
// How long a live operation waits for a reconcile() that holds its endpoint
// (one check and one repair: tens of milliseconds) before it gives up.
const HOLD_WAIT_MS = 30_000;

/** What one disconnect did. */
type DisconnectOutcome = 'gone' | 'skipped' | 'orphaned' | 'detached';

/** Thrown inside a transaction when a live maintenance hold is found: the caller waits and retries. */
class HeldByMaintenance extends Error {
  readonly holder: ProcessIdentity;
  constructor(holder: ProcessIdentity) {
    super('held by maintenance');
    this.holder = holder;
  }
}

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
  readonly #names: NameService;
  /** Containers this process is connecting or disconnecting right now. */
  readonly #inFlight = new Set<string>();
  /** The check of the state directory's format, once per manager. */
  #formatReady: Promise<void> | undefined;

  constructor(
    @injectAll(NETWORK_DRIVER) drivers: NetworkDriver[],
    @inject(STATE_STORE) store: StateStore,
    @inject(COMMAND_RUNNER) runner: CommandRunner,
    @inject(IPAM) ipam: Ipam,
    @inject(SANDBOXES) sandboxes: SandboxService,
    @inject(PORTS) ports: PortAllocator,
    @inject(EVENTS) events: NetModeEmitter,
    @inject(MANAGER_SETTINGS) settings: ManagerSettings,
    @inject(NAMES) names: NameService,
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
    this.#names = names;
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
   * new; the spec (its subnets included) and the driver's own checks pass
   * before anything is written, then the driver creates its shared objects
   * and settles the subnets. A refused request writes nothing.
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
    if (spec.dns !== undefined && typeof spec.dns !== 'boolean') throw invalidConfig('dns', 'must be true or false');
    const driver = this.#driver(spec.driver);
    if (spec.dns === true && driver.embeddedDns !== true) {
      throw new NetModeError(ErrorCode.UNSUPPORTED, `driver ${spec.driver} cannot have netmode's embedded DNS server (dns: true)`, {
        context: { network: spec.name, driver: spec.driver },
      });
    }
    if (!driver.createNetwork) {
      throw new NetModeError(ErrorCode.UNSUPPORTED, `driver ${spec.driver} does not offer user-defined networks`, {
        context: { network: spec.name, driver: spec.driver },
      });
    }
    try {
      driver.validateNetwork?.(spec);
      // What every driver's subnets must be, after the driver's own words on them.
      if (spec.subnets !== undefined && !Array.isArray(spec.subnets)) throw invalidConfig('subnets', 'must be an array');
      spec.subnets?.forEach((subnet, index) => validateSubnetConfig(subnet, `subnets[${index}]`));
    } catch (error) {
      throw asNetModeError(error, `validating network ${spec.name}`).withContext({ network: spec.name });
    }
    if (this.#predefinedSpec(spec.name)) throw networkExists(spec.name);
    const started = performance.now();
    const dns = spec.dns ?? driver.embeddedDns === true;
    const pending: StoredNetwork = { ...newNetworkRecord({ ...spec, dns }, false), status: 'creating', operator: currentProcess() };
    const instanceId = await this.#store.transaction(async (tx) => {
      if (await getNetwork(tx, spec.name)) throw networkExists(spec.name);
      tx.put(networkKey(spec.name), pending);
      return this.#instanceWithin(tx);
    });
    const record = withoutOperator<NetworkRecord>(pending);
    let network: NetworkRecord;
    try {
      // A predefined network's subnet is kept free even before its first use.
      const ipam = this.#ipam.avoiding(await this.#predefinedSubnets());
      const setup = await driver.createNetwork(record, this.#context(instanceId, ipam));
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
      const current = await getNetwork(tx, spec.name);
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
   * ERR_STATE_CORRUPT when an endpoint record that cannot be read mentions it;
   * ERR_TEARDOWN_INCOMPLETE when the driver could not remove everything (the
   * record is kept, status `removing`, so the removal can be retried).
   */
  async removeNetwork(name: string): Promise<void> {
    assertObjectName(name, 'network name');
    await this.#ready();
    await this.#removeNetwork(name);
  }

  /**
   * Removes a predefined network's record and kernel objects while no
   * endpoint uses it, so that its next use records it again from its
   * driver's options then: what a dockerd restart does to its default
   * bridge. Call it on an instance made with the options the network was
   * recorded under (its firewall, host namespace), then make one with the
   * new options. A predefined network nothing has used yet has nothing to
   * remove.
   *
   * @returns whether a record was removed
   * @throws ERR_NETWORK_IN_USE while endpoints use it; ERR_NETWORK_NOT_FOUND
   * when no driver here predefines `name`; ERR_BUSY, ERR_TEARDOWN_INCOMPLETE
   * as {@link removeNetwork}.
   */
  async resetPredefinedNetwork(name: string): Promise<boolean> {
    assertObjectName(name, 'network name');
    if (!this.#predefinedSpec(name)) throw networkNotFound(name);
    await this.#ready();
    return this.#removeNetwork(name, (record) => record.predefined, true);
  }

  /**
   * The removal itself; with `expect`, only if the record read under the
   * lock passes it; a predefined network only with `predefined`.
   */
  async #removeNetwork(name: string, expect?: (record: StoredNetwork) => boolean, predefined = false): Promise<boolean> {
    const started = performance.now();
    const existing = await getNetwork(this.#store, name);
    if (!existing) {
      if (this.#predefinedSpec(name) && !expect) throw predefinedCannotGo(name);
      return false;
    }
    const driver = this.#driver(existing.driver);
    const network = await this.#store.transaction(async (tx) => {
      const record = await getNetwork(tx, name);
      if (!record || (expect && !expect(record))) return undefined;
      if (record.predefined && !predefined) throw predefinedCannotGo(name);
      assertNotBusy(record, `network ${name}`);
      const { records, corrupt } = await listEndpoints(tx);
      const users = records.filter((e) => e.value.networkId === record.id);
      if (users.length > 0) {
        throw new NetModeError(
          ErrorCode.NETWORK_IN_USE,
          `network ${name} has endpoints: ${users.map((e) => e.value.containerId).join(', ')}`,
          { context: { network: name, endpoints: users.map((e) => e.value.containerId) } },
        );
      }
      // A record that cannot be read may still be this network's endpoint:
      // refuse only when its text names the network.
      const suspect = corrupt.find((c) => c.text.includes(record.id) || c.text.includes(`"${name}"`));
      if (suspect) throw suspect.error.withContext({ network: name });
      tx.put(networkKey(name), { ...record, status: 'removing', operator: currentProcess() });
      return withoutOperator<NetworkRecord>({ ...record, status: 'removing' });
    });
    if (!network) return false;
    const instanceId = await this.#instance();
    try {
      await driver.removeNetwork?.(network, this.#context(instanceId));
    } catch (cause) {
      const error = asNetModeError(cause, `removing network ${name}`).withContext({ network: name });
      // Keep the record so the removal can be retried, but free it for the next caller.
      await this.#bookkeeping(error, async (tx) => tx.put(networkKey(name), network));
      throw error;
    }
    await this.#store.transaction((tx) => this.#dropNetwork(tx, network));
    this.events.emit('network:removed', { network, durationMs: performance.now() - started });
    return true;
  }

  /**
   * Every network, predefined ones included, sorted by name. Reads only: a
   * predefined network nothing has used yet is shown without being recorded.
   * A network record that cannot be read is left out and reported as a
   * `warning` event (code `STATE_CORRUPT`).
   */
  async listNetworks(): Promise<NetworkRecord[]> {
    const { records, corrupt } = await listNetworks(this.#store);
    this.#warnCorrupt(corrupt);
    const byName = new Map(records.map((e) => [e.value.name, withoutOperator<NetworkRecord>(e.value)]));
    for (const spec of this.#predefinedSpecs()) if (!byName.has(spec.name)) byName.set(spec.name, virtualNetwork(spec));
    return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * One network by name. Reads only.
   *
   * @throws ERR_NETWORK_NOT_FOUND, ERR_STATE_CORRUPT
   */
  async inspectNetwork(name: string): Promise<NetworkRecord> {
    assertObjectName(name, 'network name');
    const stored = await getNetwork(this.#store, name);
    if (stored) return withoutOperator<NetworkRecord>(stored);
    const spec = this.#predefinedSpec(name);
    if (!spec) throw networkNotFound(name);
    return virtualNetwork(spec);
  }

  // --------------------------------------------------------------- endpoints

  /**
   * Connects a container to a network, in a mode as Docker writes it:
   * `bridge`, `host`, `none`, `container:NAME`, or a network's name. A
   * container with no sandbox gets one; a container that has one gets one
   * more endpoint in it (Docker's `network connect`): a new interface
   * (`eth1`, …, or `options.ifname`), its addresses and routes, while the
   * container's processes keep running. `host`, `none` and `container:NAME`
   * are a whole sandbox and combine with nothing else.
   *
   * Every check runs before the first kernel change; the record is written
   * (status `attaching`) before the driver starts and confirmed (`attached`)
   * after, so a crash at any point can be repaired. On failure the driver's
   * completed steps are undone and the record removed (or kept as `broken`
   * if an undo failed). The default route goes through the endpoint with the
   * highest `gwPriority` (ties to the earliest connected); an endpoint that
   * outranks the current one takes it over in the same call.
   *
   * @param containerId - the runtime's container id or name (letters, digits, `_ . -`).
   * @param mode - the network mode.
   * @param options - namespace to use, ports, static address, …; drivers refuse what their mode cannot apply.
   * @returns the new endpoint; run the container's processes in `endpoint.netns`.
   * @throws ERR_INVALID_CONFIG (a whole-sandbox mode with another network, an
   * interface name in use, another namespace than the container's sandbox),
   * ERR_NETWORK_NOT_FOUND, ERR_DRIVER_NOT_FOUND, ERR_ENDPOINT_EXISTS (already
   * on that network), ERR_ENDPOINT_NOT_FOUND (container: target), ERR_BUSY
   * (another process is changing the container's sandbox), or a driver's error.
   */
  async connect(containerId: string, mode: string, options: ConnectOptions = {}): Promise<Endpoint> {
    assertObjectName(containerId, 'container id');
    return this.#exclusive(containerId, () => this.#connect(containerId, mode, options));
  }

  async #connect(containerId: string, mode: string, options: ConnectOptions): Promise<Endpoint> {
    const parsed = parseMode(mode);
    validateConnectOptions(options);
    await this.#ready();
    const { driver, network, target } = await this.#resolve(containerId, parsed);
    if (target) {
      // As Docker: a joiner lives under its target's names.
      const given = NAME_SETTING_FIELDS.filter((field) => field !== 'name' && options[field] !== undefined);
      if (given.length > 0) {
        throw invalidConfig(given[0] as string, `cannot be set with ${mode}: the container shares the names of ${target.containerId}`);
      }
    }
    if (driver.name === 'none' && options.extraHosts?.some((entry) => parseExtraHost(entry).address === HOST_GATEWAY)) {
      throw invalidConfig('extraHosts', `${HOST_GATEWAY}: a container in none mode has no way to the host`);
    }
    const endpointId = endpointIdFor(containerId, network.id);
    const context = { containerId, network: network.name };

    // The plan is made from a snapshot, so the drivers validate before
    // anything is written, and made again under the lock: a sandbox that
    // changed meanwhile (another process connected the container) is planned again.
    let plan: ConnectPlan | undefined;
    let request: AttachRequest | undefined;
    let claim: Claim | undefined;
    for (let attempt = 0; claim === undefined; attempt += 1) {
      plan = this.#plan(containerId, driver, network, options, await containerEndpoints(this.#store, containerId));
      request = attachRequest(containerId, endpointId, network, plan, target);
      if (plan.kind === 'new') {
        try {
          driver.validate(request);
        } catch (error) {
          throw asNetModeError(error, `validating ${containerId}`).withContext(context);
        }
      }
      const planned = plan;
      claim = await this.#waitingForHolds(containerId, () =>
        this.#store.transaction((tx) => this.#claim(tx, containerId, endpointId, driver, network, options, planned, target)),
      ).catch((error: unknown) => {
        if (error instanceof PlanChanged && attempt < 3) return undefined;
        if (error instanceof PlanChanged) {
          throw new NetModeError(ErrorCode.BUSY, `the sandbox of container ${containerId} keeps changing under another process`, {
            context,
          });
        }
        throw asNetModeError(error, `recording ${containerId}`).withContext(context);
      });
    }
    if (claim.kind === 'regained') {
      if (network.dns) await this.#names.sync(true, containerId);
      this.events.emit('sandbox:owner-regained', { containerId, netns: claim.endpoint.netns, joiners: claim.joiners });
      return claim.endpoint;
    }
    if (!plan || plan.kind !== 'new' || !request) throw new Error('unreachable: a new endpoint without its plan');
    return this.#attach(driver, request, plan, claim);
  }

  /** The driver's attach of a claimed endpoint, and its record confirmed or undone. */
  async #attach(driver: NetworkDriver, request: AttachRequest, plan: NewEndpointPlan, claim: PendingClaim): Promise<Endpoint> {
    const { containerId } = request;
    const started = performance.now();
    const attaching = withoutOperator<Endpoint>(claim.pending);
    const key = endpointKey(containerId, request.network.name);
    const failed = (error: NetModeError, rolledBack: boolean) =>
      this.events.emit('endpoint:failed', { containerId, network: request.network.name, driver: driver.name, error, rolledBack });

    let result: AttachResult;
    try {
      result = await driver.attach(request, this.#context(claim.instanceId));
    } catch (cause) {
      const error = asNetModeError(cause, `attaching ${containerId}`).withContext({
        containerId,
        network: request.network.name,
        driver: driver.name,
      });
      // Only a driver that says it undid everything gets its record dropped;
      // otherwise the record stays `broken` so disconnect() can finish the job.
      const rolledBack = error.rolledBack === true;
      await this.#bookkeeping(error, async (tx) => {
        if (rolledBack) await this.#dropPending(tx, attaching, request, claim.firstUse);
        else tx.put(key, { ...attaching, status: 'broken' });
      });
      failed(error, rolledBack);
      throw error;
    }

    const provides = request.defaultRoute || plan.takesRouteFrom !== undefined;
    const endpoint: Endpoint = {
      ...attaching,
      netns: result.netns,
      ownsNetns: attaching.ownsNetns && result.ownsNetns,
      interfaces: result.interfaces,
      addresses: result.addresses,
      gateways: result.gateways,
      ports: result.ports,
      driverData: result.driverData ?? {},
      defaultRoute: provides && result.gateways.length > 0,
      status: 'attached',
    };
    if (plan.takesRouteFrom !== undefined && endpoint.defaultRoute) {
      // This endpoint outranks the one that provides the default route: move it here.
      try {
        await this.#routeDefaultVia(endpoint);
      } catch (cause) {
        const error = asNetModeError(cause, `moving the default route of ${containerId} to ${request.network.name}`).withContext({
          containerId,
          network: request.network.name,
        });
        await this.#undoAttach(driver, endpoint, request, claim, error);
        failed(error, error.rolledBack === true);
        throw error;
      }
    }
    try {
      // The name files are part of the sandbox a runtime mounts: written (and
      // their failure undone) before the endpoint counts as attached.
      if (endpoint.joinedTo === undefined) await this.#writeNames(containerId, endpoint);
    } catch (cause) {
      const error = asNetModeError(cause, `writing the name files of ${containerId}`).withContext({ containerId });
      await this.#undoAttach(driver, endpoint, request, claim, error);
      failed(error, error.rolledBack === true);
      throw error;
    }
    try {
      await this.#store.transaction(async (tx) => {
        tx.put(key, endpoint);
        if (endpoint.defaultRoute && plan.takesRouteFrom !== undefined) await this.#routeMoved(tx, containerId, endpoint.id);
      });
    } catch (cause) {
      // The kernel is set up but the record says `attaching`: keep what the
      // driver made findable, so disconnect() can remove it.
      const error = asNetModeError(cause, `recording ${containerId}`).withContext({ containerId, kernelState: 'attached' });
      await this.#bookkeeping(error, async (tx) => tx.put(key, { ...endpoint, status: 'broken' }));
      failed(error, false);
      throw error;
    }
    // The embedded DNS server answers for the new endpoint before connect()
    // returns; the companion holding its ports learns where they lead (the
    // userland proxy) and that their leases committed.
    if (request.network.dns && this.#names.enabled) await this.#names.sync(true, containerId);
    else if (endpoint.ports.length > 0) await this.#names.ask({ op: 'ports', containerId });
    if (request.network.dns && !this.#names.enabled) {
      this.events.emit('warning', {
        code: 'NAME_SERVER',
        message: `network ${request.network.name} has the embedded DNS server, but this instance keeps no state directory (a custom store without stateDir): names will not resolve; pass stateDir to createNetMode`,
        containerId,
        network: request.network.name,
      });
    }
    this.events.emit('endpoint:attached', { endpoint, durationMs: performance.now() - started });
    return endpoint;
  }

  /**
   * Undoes an attach whose last step (the default route) failed: the driver
   * detaches, the record and its leases go. If the detach fails too, the
   * record stays `broken` for disconnect() to finish.
   */
  async #undoAttach(
    driver: NetworkDriver,
    endpoint: Endpoint,
    request: AttachRequest,
    claim: PendingClaim,
    error: NetModeError,
  ): Promise<void> {
    try {
      await driver.detach(endpoint, this.#context(claim.instanceId));
      if (endpoint.ownsNetns) await this.#sandboxes.delete(endpoint.netns);
      error.markRolledBack(true);
      await this.#bookkeeping(error, (tx) => this.#dropPending(tx, endpoint, request, claim.firstUse));
    } catch (undoError) {
      error.markRolledBack(false, { undoError: errorMessage(undoError) });
      await this.#bookkeeping(error, async (tx) =>
        tx.put(endpointKey(endpoint.containerId, endpoint.network), { ...endpoint, status: 'broken' }),
      );
    }
  }

  /** Forgets an endpoint whose attach was undone, in the caller's transaction. */
  async #dropPending(tx: StateTransaction, endpoint: Endpoint, request: AttachRequest, firstUse: boolean): Promise<void> {
    tx.delete(endpointKey(endpoint.containerId, endpoint.network));
    await this.#releaseLeases(tx, endpoint.id, endpoint.containerId);
    if (endpoint.joinedTo !== undefined) await removeJoiner(tx, endpoint.joinedTo, endpoint.containerId);
    // A predefined network this connect recorded first goes again, unless another endpoint uses it now.
    const users = (await listEndpoints(tx)).records.filter((e) => e.value.networkId === request.network.id);
    if (firstUse && users.length === 0) await this.#dropNetwork(tx, request.network);
  }

  /**
   * What connecting `containerId` to `network` means for its sandbox, from
   * its endpoints: take an orphaned endpoint back, or add one (in a new
   * sandbox or the existing one), with the interface name, namespace and
   * default route settled.
   */
  #plan(
    containerId: string,
    driver: NetworkDriver,
    network: NetworkRecord,
    options: ConnectOptions,
    endpoints: readonly StoredEndpoint[],
  ): ConnectPlan {
    const same = endpoints.find((e) => e.network === network.name);
    if (same) {
      assertNotBusy(same, `container ${containerId}`);
      if (same.status === 'orphaned' && same.networkId === network.id) return { kind: 'regain' };
      throw new NetModeError(
        ErrorCode.ENDPOINT_EXISTS,
        `container ${containerId} already has an endpoint on network ${network.name} (status ${same.status})`,
        { context: { containerId, network: network.name, status: same.status } },
      );
    }
    const [first] = endpoints;
    if (first === undefined) {
      const ifname = driver.wholeSandbox ? undefined : (options.ifname ?? 'eth0');
      return {
        kind: 'new',
        options: { ...options, ...(ifname === undefined ? {} : { ifname }) },
        names: nameSettingsOf(options),
        netns: options.netns,
        ownsNetns: options.netns === undefined,
        driverRoute: !network.internal,
        takesRouteFrom: undefined,
      };
    }
    const whole = endpoints.find((e) => isWholeSandbox(e, this.#drivers.get(e.driver)));
    if (whole || driver.wholeSandbox) {
      const mode = whole ? (whole.joinedTo ? `container:${whole.joinedTo}` : whole.network) : network.name;
      throw invalidConfig(
        'mode',
        `container ${containerId} is on ${endpoints.map((e) => e.network).join(', ')}; ${mode} is a whole sandbox and cannot be combined with another network`,
      );
    }
    if (options.netns !== undefined && !isDeepStrictEqual(options.netns, first.netns)) {
      throw invalidConfig(
        'netns',
        `container ${containerId} already has its sandbox (${describeNetns(first.netns)}); connect it there, or leave netns out`,
      );
    }
    const used = new Map(
      endpoints.flatMap((e) => e.interfaces.filter((i) => i.side === 'sandbox').map((i) => [i.name, e.network] as const)),
    );
    if (options.ifname !== undefined && used.has(options.ifname)) {
      throw invalidConfig(
        'ifname',
        `${options.ifname} is the interface of container ${containerId} on network ${used.get(options.ifname)}`,
      );
    }
    let ifname = options.ifname;
    for (let n = 0; ifname === undefined; n += 1) if (!used.has(`eth${n}`)) ifname = `eth${n}`;
    const provider = endpoints.find((e) => e.defaultRoute);
    const eligible = !network.internal;
    return {
      kind: 'new',
      options: { ...options, netns: first.netns, ifname },
      names: settleNameSettings(first.names, options, containerId),
      netns: first.netns,
      ownsNetns: false,
      driverRoute: eligible && provider === undefined,
      takesRouteFrom: eligible && provider !== undefined && (options.gwPriority ?? 0) > provider.gwPriority ? provider.id : undefined,
    };
  }

  /**
   * The claim of a connect, under the lock: the plan made again from the
   * records as they are now (PlanChanged when it differs), then an orphan
   * taken back, or the pending record written.
   */
  async #claim(
    tx: StateTransaction,
    containerId: string,
    endpointId: string,
    driver: NetworkDriver,
    network: NetworkRecord,
    options: ConnectOptions,
    plan: ConnectPlan,
    target: Endpoint | undefined,
  ): Promise<Claim> {
    const endpoints = await containerEndpoints(tx, containerId);
    // Nobody else may be changing this sandbox (a reconcile's check waits us out).
    for (const endpoint of endpoints) {
      throwIfHeld(endpoint);
      assertNotBusy(endpoint, `container ${containerId} (its endpoint on ${endpoint.network})`);
    }
    if (!isDeepStrictEqual(this.#plan(containerId, driver, network, options, endpoints), plan)) throw new PlanChanged();
    if (plan.kind === 'regain') {
      const record = endpoints.find((e) => e.network === network.name) as StoredEndpoint;
      const endpoint: Endpoint = { ...publicEndpoint(record), status: 'attached' };
      tx.put(endpointKey(containerId, network.name), endpoint);
      return { kind: 'regained', endpoint, joiners: await joinersOf(tx, containerId) };
    }
    const ownerId = target ? sandboxOwnerOf(target) : undefined;
    if (target && ownerId !== undefined) {
      // The target may have gone since it was resolved outside the lock.
      const owner = await getEndpoint(tx, target.containerId, target.network);
      if (owner?.status !== 'attached') {
        throw new NetModeError(ErrorCode.ENDPOINT_NOT_FOUND, `container ${target.containerId} is no longer running`, {
          context: { containerId, target: target.containerId },
        });
      }
      await addJoiner(tx, ownerId, containerId);
    }
    const stored = await getNetwork(tx, network.name);
    const firstUse = stored === undefined && network.predefined;
    const createdAt = new Date().toISOString();
    if (firstUse) {
      // A predefined network is recorded on its first use.
      tx.put(networkKey(network.name), { ...network, createdAt });
    } else if (!stored || stored.id !== network.id || stored.status !== 'ready') {
      throw networkNotFound(network.name);
    }
    const instanceId = await this.#instanceWithin(tx);
    const pending: StoredEndpoint = {
      id: endpointId,
      containerId,
      network: network.name,
      networkId: network.id,
      driver: driver.name,
      // The namespace the driver will make (or was given): a crashed attach is cleaned up from it.
      netns: plan.netns ?? { kind: 'named', name: this.#sandboxName(instanceId, containerId) },
      ownsNetns: plan.ownsNetns,
      ...(ownerId === undefined ? {} : { joinedTo: ownerId }),
      // The settled interface name: a detach after a crash knows which one is this endpoint's.
      interfaces: plan.options.ifname === undefined ? [] : [{ name: plan.options.ifname, side: 'sandbox' }],
      addresses: [],
      gateways: [],
      ports: [],
      status: 'attaching',
      labels: { ...options.labels },
      gwPriority: options.gwPriority ?? 0,
      defaultRoute: false,
      aliases: [...(options.aliases ?? [])],
      // A joiner shares its target's names, as it shares its namespace.
      names: target ? target.names : plan.names,
      driverData: {},
      createdAt,
      operator: currentProcess(),
    };
    tx.put(endpointKey(containerId, network.name), pending);
    return { kind: 'pending', pending, instanceId, firstUse };
  }

  /**
   * Disconnects a container from one network, or from all of them and its
   * sandbox when `network` is absent. For each endpoint the driver removes
   * its objects, then the record and its address and port leases go; the
   * sandbox goes with the last one. When the endpoint that provides the
   * default route goes, the route moves to the next in rank, in the same
   * call. A record left `attaching`, `detaching` or `broken` (by a failure,
   * or by a process that died) is torn down too. While other containers
   * share the sandbox (`container:NAME`), its last endpoints stay for them
   * (the records become `orphaned`).
   *
   * Idempotent without `network`: a container with no endpoint is success.
   *
   * @throws ERR_ENDPOINT_NOT_FOUND when `network` is named and the container
   * is not on it; ERR_BUSY while another live call or process works on the
   * endpoint; ERR_DRIVER_NOT_FOUND when its driver is not registered here;
   * ERR_STATE_CORRUPT when its record cannot be read;
   * ERR_TEARDOWN_INCOMPLETE listing leftovers (the record stays, status
   * `detaching`, so the call can be repeated).
   */
  async disconnect(containerId: string, network?: string): Promise<void> {
    assertObjectName(containerId, 'container id');
    if (network !== undefined) assertObjectName(network, 'network name');
    await this.#ready();
    await this.#exclusive(containerId, async () => {
      if (network !== undefined) {
        if ((await this.#disconnect(containerId, network, { whole: false })) === 'gone') throw endpointNotFound(containerId, network);
        return;
      }
      await this.#disconnectAll(containerId);
    });
  }

  /** Disconnects every endpoint of the container, the latest first; every one is tried. */
  async #disconnectAll(containerId: string): Promise<void> {
    const failures: NetModeError[] = [];
    for (const endpoint of (await containerEndpoints(this.#store, containerId)).reverse()) {
      try {
        await this.#disconnect(containerId, endpoint.network, { whole: true });
      } catch (error) {
        failures.push(asNetModeError(error, `disconnecting ${containerId} from ${endpoint.network}`));
      }
    }
    const [first, ...more] = failures;
    if (first) throw more.length === 0 ? first : first.withContext({ alsoFailed: more.map((e) => e.message) });
  }

  /**
   * The disconnect of one endpoint. With `expect`, it goes ahead only if the
   * record, read under the lock, still satisfies it: maintenance decides
   * outside the lock and must not act on a record that changed meanwhile.
   * `whole`: the container leaves every network, so with joiners left every
   * endpoint stays for them (otherwise only the last one does).
   */
  async #disconnect(
    containerId: string,
    network: string,
    how: { readonly whole: boolean; readonly expect?: (record: StoredEndpoint) => boolean },
  ): Promise<DisconnectOutcome> {
    const started = performance.now();
    const existing = await getEndpoint(this.#store, containerId, network);
    if (!existing) return 'gone';
    const driver = this.#driver(existing.driver);
    const key = endpointKey(containerId, network);
    const outcome = await this.#waitingForHolds(containerId, () =>
      this.#store.transaction(async (tx) => {
        const record = await getEndpoint(tx, containerId, network);
        if (!record) return { kind: 'gone' as const };
        if (how.expect && !how.expect(record)) return { kind: 'skipped' as const };
        throwIfHeld(record);
        assertNotBusy(record, `container ${containerId}`);
        const others = (await containerEndpoints(tx, containerId)).filter((e) => e.id !== record.id);
        // Others share this sandbox: keep it for them, for as long as one of them is left.
        const joiners = await joinersOf(tx, containerId);
        if (joiners.length > 0 && (how.whole || others.every((e) => e.status === 'orphaned'))) {
          const endpoint = withoutOperator<Endpoint>(withoutHold(record));
          if (record.status === 'orphaned') return { kind: 'orphaned' as const, endpoint, joiners, already: true };
          tx.put(key, { ...endpoint, status: 'orphaned' });
          return { kind: 'orphaned' as const, endpoint, joiners, already: false };
        }
        for (const other of others) assertNotBusy(other, `container ${containerId} (its endpoint on ${other.network})`);
        // The sandbox stays while other endpoints are in it: the earliest of them owns it from now on.
        const heir = record.ownsNetns ? others[0] : undefined;
        if (heir) tx.put(endpointKey(containerId, heir.network), { ...heir, ownsNetns: true });
        const routeHeir = record.defaultRoute ? nextRouteProvider(others) : undefined;
        const detaching: StoredEndpoint = {
          ...withoutHold(record),
          ownsNetns: record.ownsNetns && !heir,
          status: 'detaching',
          operator: currentProcess(),
        };
        tx.put(key, detaching);
        return { kind: 'detaching' as const, endpoint: withoutOperator<Endpoint>(detaching), routeHeir };
      }),
    );
    if (outcome.kind === 'gone' || outcome.kind === 'skipped') return outcome.kind;
    if (outcome.kind === 'orphaned') {
      if (!outcome.already)
        this.events.emit('sandbox:owner-lost', { containerId, netns: outcome.endpoint.netns, joiners: outcome.joiners });
      return 'orphaned';
    }
    const { endpoint, routeHeir } = outcome;
    try {
      await driver.detach(endpoint, this.#context(await this.#instance()));
      // Whatever the driver did, the sandbox this endpoint owned goes with it.
      if (endpoint.ownsNetns) await this.#sandboxes.delete(endpoint.netns);
    } catch (cause) {
      const error = asNetModeError(cause, `detaching ${containerId} from ${network}`).withContext({ containerId, network });
      // Keep the record for a retry, without our process as its operator.
      await this.#bookkeeping(error, async (tx) => tx.put(key, endpoint));
      throw error;
    }
    // The default route leaves with the interface it went through: the next endpoint in rank provides it.
    const routed = routeHeir
      ? await this.#routeDefaultVia(routeHeir).then(
          () => true,
          (error: unknown) => {
            this.events.emit('warning', {
              code: 'DEFAULT_ROUTE',
              message: `container ${containerId}: the default route could not move to network ${routeHeir.network} (${errorMessage(error)}); reconcile() puts it there`,
              containerId,
            });
            return false;
          },
        )
      : false;
    const orphan = await this.#store.transaction(async (tx) => {
      tx.delete(key);
      await this.#releaseLeases(tx, endpoint.id, containerId);
      if (routeHeir && routed) await this.#routeMoved(tx, containerId, routeHeir.id);
      // The last joiner of an orphaned sandbox takes the sandbox with it.
      const ownerId = endpoint.joinedTo;
      if (ownerId === undefined) return undefined;
      await removeJoiner(tx, ownerId, containerId);
      const owner = await containerEndpoints(tx, ownerId);
      const remaining = await joinersOf(tx, ownerId);
      return owner.length > 0 && owner.every((e) => e.status === 'orphaned') && remaining.length === 0 ? ownerId : undefined;
    });
    if (endpoint.joinedTo === undefined) await this.#namesAfterDetach(containerId, endpoint);
    this.events.emit('endpoint:detached', { endpoint, durationMs: performance.now() - started });
    if (orphan && !this.#inFlight.has(orphan)) await this.#exclusive(orphan, () => this.#disconnectAll(orphan));
    return 'detached';
  }

  /** Points the sandbox's default route at `endpoint`'s gateway and interface (`ip route replace`). */
  async #routeDefaultVia(endpoint: Endpoint): Promise<void> {
    const gateway = endpoint.gateways[0];
    const ifname = endpoint.interfaces.find((i) => i.side === 'sandbox')?.name;
    if (gateway === undefined || ifname === undefined) return;
    await this.#runner.run({ command: 'ip', args: ['route', 'replace', 'default', 'via', gateway, 'dev', ifname], netns: endpoint.netns });
  }

  /** Records, in the caller's transaction, that the default route of the container now goes through `endpointId`. */
  async #routeMoved(tx: StateTransaction, containerId: string, endpointId: string): Promise<void> {
    for (const endpoint of await containerEndpoints(tx, containerId)) {
      const provides = endpoint.id === endpointId;
      if (endpoint.defaultRoute !== provides) tx.put(endpointKey(containerId, endpoint.network), { ...endpoint, defaultRoute: provides });
    }
  }

  /**
   * A container's sandbox: its namespace, its endpoints (one per network, in
   * the order they were connected), the containers that joined it and where
   * its default route goes.
   *
   * @throws ERR_ENDPOINT_NOT_FOUND when the container has no endpoint; ERR_STATE_CORRUPT
   */
  async inspect(containerId: string): Promise<Sandbox> {
    assertObjectName(containerId, 'container id');
    await this.#ready();
    const endpoints = (await containerEndpoints(this.#store, containerId)).map(publicEndpoint);
    if (endpoints.length === 0) throw endpointNotFound(containerId);
    const view = sandboxView(containerId, endpoints, await joinersOf(this.#store, containerId));
    const owner = view.joinedTo ?? containerId;
    const files = this.#names.filesOf(owner, wholeSandboxMode(view.joinedTo === undefined ? endpoints : await this.#ownerEndpoints(owner)));
    return files ? { ...view, files } : view;
  }

  /**
   * The text of a container's name files (`hostname`, `hosts`,
   * `resolv.conf`), made from its records and the host's files as they are
   * now: what {@link Sandbox.files} holds, for a runtime that writes its own.
   * A joiner gets its target's.
   *
   * @throws ERR_ENDPOINT_NOT_FOUND when the container has no endpoint; ERR_STATE_CORRUPT
   */
  async nameFiles(containerId: string): Promise<NameFileContents> {
    assertObjectName(containerId, 'container id');
    await this.#ready();
    const endpoints = (await containerEndpoints(this.#store, containerId)).map(publicEndpoint);
    const first = endpoints[0];
    if (!first) throw endpointNotFound(containerId);
    const owner = first.joinedTo ?? containerId;
    return this.#names.contents(await this.#sandboxNames(owner, owner === containerId ? endpoints : await this.#ownerEndpoints(owner)));
  }

  /**
   * The companion process whose embedded DNS server answers on this
   * instance's networks: its PID and the addresses it listens on, or
   * undefined when none runs (no network with the server has a container).
   */
  async nameServer(): Promise<NameServerStatus | undefined> {
    const reply: ControlReply | undefined = await this.#names.status();
    return reply ? { pid: reply.pid, listening: reply.listening } : undefined;
  }

  /**
   * Stops the companion process of this instance's state directory, if one
   * runs, and resolves when it is gone. Names stop resolving until the next
   * connect to a network with the server, or `reconcile()`, starts it again:
   * for tests, uninstallers and a runtime that shuts its networking down.
   *
   * @returns whether one was running.
   */
  async stopNameServer(): Promise<boolean> {
    return this.#names.stop();
  }

  /**
   * One endpoint of a container: the one on `network`, or its only one when
   * `network` is absent.
   *
   * @throws ERR_ENDPOINT_NOT_FOUND; ERR_INVALID_CONFIG when `network` is absent
   * and the container is on several networks; ERR_STATE_CORRUPT
   */
  async inspectEndpoint(containerId: string, network?: string): Promise<Endpoint> {
    const sandbox = await this.inspect(containerId);
    return pickEndpoint(sandbox, network);
  }

  /**
   * Every endpoint record, sorted by container id. A record that cannot be
   * read is left out and reported as a `warning` event (code `STATE_CORRUPT`).
   */
  async list(): Promise<Endpoint[]> {
    await this.#ready();
    const { records, corrupt } = await listEndpoints(this.#store);
    this.#warnCorrupt(corrupt);
    return records.map((e) => publicEndpoint(e.value));
  }

  /**
   * Asks an endpoint's driver whether the kernel still matches the record:
   * the endpoint on `network`, or the container's only one.
   * A driver without `check` reports only whether the sandbox exists.
   *
   * @throws ERR_ENDPOINT_NOT_FOUND, ERR_INVALID_CONFIG (several networks and none named)
   */
  async check(containerId: string, network?: string): Promise<CheckReport> {
    const endpoint = await this.inspectEndpoint(containerId, network);
    const driver = this.#driver(endpoint.driver);
    return this.#check(driver, endpoint, this.#context(await this.#instance()));
  }

  async #check(driver: NetworkDriver, endpoint: Endpoint, ctx: DriverContext): Promise<CheckReport> {
    if (driver.check) {
      try {
        return await driver.check(endpoint, ctx);
      } catch (error) {
        throw asNetModeError(error, `checking ${endpoint.containerId}`).withContext({ containerId: endpoint.containerId });
      }
    }
    const exists = await this.#sandboxes.exists(endpoint.netns);
    return { ok: exists, problems: exists ? [] : ['the sandbox namespace is gone'] };
  }

  // ------------------------------------------------------------- maintenance

  /**
   * Brings records and kernel back in line, after a crash, a reboot with a
   * persisted state directory, or someone else's changes:
   * - rebuilds address and port leases that the records hold but the lease
   *   records lost (a deleted or restored file), reporting any conflict;
   * - finishes operations a dead process left half-done, by tearing them down;
   * - tears down endpoints whose sandbox vanished, releasing their leases;
   * - marks `broken` (event `endpoint:broken`) endpoints whose kernel objects
   *   no longer match the record; `disconnect()` then cleans them up, and a
   *   later reconcile that finds them whole again marks them `attached`;
   * - restores shared state of intact endpoints through their driver's
   *   `repair()` (firewall rules after `nft flush ruleset` or `iptables -F`);
   * - releases address, subnet and port leases whose owner is gone.
   *
   * Safe at any time, beside live work in this process and others: it never
   * acts on an endpoint a live operation holds, every decision taken outside
   * the lock is checked again under it before anything changes, and the
   * endpoint being checked or repaired is held, so a disconnect of it waits
   * for that one endpoint rather than racing it. Every step is attempted;
   * failures (a record that cannot be read among them) are listed in the report.
   */
  async reconcile(): Promise<ReconcileReport> {
    await this.#ready();
    const kernel = await reconcile(this.#maintenance(await this.#instance()));
    const names = await this.#reconcileNames();
    const report: ReconcileReport = {
      ...kernel,
      repaired: [...kernel.repaired, ...names.repaired],
      failures: [...kernel.failures, ...names.failures],
    };
    // An event says that something happened: a reconcile that found
    // everything in order (a healthy start-up) emits nothing.
    if (reconcileDidSomething(report)) this.events.emit('reconcile:repaired', { report });
    return report;
  }

  /**
   * Garbage collection with CNI's semantics: disconnects every endpoint whose
   * container id is not in `validContainerIds`, removes sandboxes and driver
   * objects proven to be this instance's that no record owns, and releases
   * leases whose owner is gone.
   *
   * An endpoint created after `options.listedAt` (default: now) is never
   * collected, since the caller's list could not know it: pass the time at
   * which you started listing your containers. Endpoints a live operation
   * holds, and orphaned sandboxes that joiners still use, are left alone.
   */
  async gc(validContainerIds: readonly string[], options: GcOptions = {}): Promise<GcReport> {
    if (!Array.isArray(validContainerIds)) throw invalidConfig('validContainerIds', 'must be an array of container ids');
    const listedAt = options.listedAt ?? new Date();
    if (!(listedAt instanceof Date) || Number.isNaN(listedAt.getTime())) throw invalidConfig('listedAt', 'must be a valid Date');
    await this.#ready();
    return gc(this.#maintenance(await this.#instance()), validContainerIds, listedAt);
  }

  #maintenance(instanceId: string): MaintenanceDeps {
    const me = currentProcess();
    return {
      store: this.#store,
      drivers: this.#drivers,
      ipam: this.#ipam,
      ports: this.#ports,
      sandboxes: this.#sandboxes,
      namePrefix: this.#settings.namePrefix,
      instanceTag: instanceTag(instanceId),
      context: () => this.#context(instanceId),
      busyHere: (id) => this.#inFlight.has(id),
      disconnectIf: async (containerId, network, expect) => {
        if (this.#inFlight.has(containerId)) return 'skipped';
        return this.#exclusive(containerId, () => this.#disconnect(containerId, network, { whole: false, expect }));
      },
      removeNetworkIf: (name, expect) => this.#removeNetwork(name, expect),
      hold: (snapshot) =>
        this.#store.transaction(async (tx) => {
          const current = await getEndpoint(tx, snapshot.containerId, snapshot.network);
          if (!current || !isDeepStrictEqual(current, snapshot) || this.#inFlight.has(snapshot.containerId)) return undefined;
          if (current.operator && isProcessAlive(current.operator)) return undefined;
          if (current.hold && isProcessAlive(current.hold)) return undefined;
          const held: StoredEndpoint = { ...current, hold: me };
          tx.put(endpointKey(current.containerId, current.network), held);
          return publicEndpoint(held);
        }),
      release: async (endpoint, change) => {
        const changed = await this.#store.transaction(async (tx) => {
          const current = await getEndpoint(tx, endpoint.containerId, endpoint.network);
          if (!current?.hold || !isDeepStrictEqual(current.hold, me)) return undefined;
          const next = withoutHold(change ? change(current) : current);
          tx.put(endpointKey(endpoint.containerId, endpoint.network), next);
          return change ? publicEndpoint(next) : undefined;
        });
        return changed;
      },
      routeDefault: (containerId) =>
        this.#inFlight.has(containerId)
          ? Promise.resolve(undefined)
          : this.#exclusive(containerId, () => this.#checkDefaultRoute(containerId)),
      emitBroken: (endpoint, problems) => this.events.emit('endpoint:broken', { endpoint, problems }),
      check: (driver, endpoint, ctx) => this.#check(driver, endpoint, ctx),
    };
  }

  /**
   * Puts the container's default route where its records say it goes (the
   * endpoint of highest rank), when the kernel's differs: after a crash while
   * the route moved, or someone's `ip route` change. Resolves to what was
   * done, or undefined when nothing needed doing. Leaves alone a sandbox that
   * a live operation is changing.
   */
  async #checkDefaultRoute(containerId: string): Promise<string | undefined> {
    const endpoints = await containerEndpoints(this.#store, containerId);
    if (endpoints.some((e) => (e.operator && isProcessAlive(e.operator)) || e.status !== 'attached')) return undefined;
    const provider = nextRouteProvider(endpoints);
    if (!provider || !(await this.#sandboxes.exists(provider.netns))) return undefined;
    const ifname = provider.interfaces.find((i) => i.side === 'sandbox')?.name;
    const { stdout } = await this.#runner.run({ command: 'ip', args: ['-json', '-4', 'route', 'show', 'default'], netns: provider.netns });
    const routes = JSON.parse(stdout || '[]') as { gateway?: string; dev?: string }[];
    const right = routes.length === 1 && routes[0]?.gateway === provider.gateways[0] && routes[0]?.dev === ifname;
    if (right && provider.defaultRoute) return undefined;
    if (!right) await this.#routeDefaultVia(provider);
    await this.#store.transaction(async (tx) => {
      // Only when nothing changed meanwhile: the next reconcile looks again otherwise.
      const current = await containerEndpoints(tx, containerId);
      if (isDeepStrictEqual(current, endpoints)) await this.#routeMoved(tx, containerId, provider.id);
    });
    return `${containerId}: default route via ${provider.gateways[0]} on ${provider.network}`;
  }

  // ------------------------------------------------------------------- names

  /** Writes the name files of `containerId`'s sandbox, with `endpoint` as it is about to be recorded. */
  async #writeNames(containerId: string, endpoint: Endpoint): Promise<void> {
    if (!this.#names.enabled) return;
    const others = (await containerEndpoints(this.#store, containerId)).filter((e) => e.id !== endpoint.id).map(publicEndpoint);
    await this.#names.write(await this.#sandboxNames(containerId, [...others, endpoint].sort(byConnection)));
  }

  /**
   * After an endpoint went: the sandbox's files say so (or go with the
   * sandbox), and the embedded DNS server forgets it. Failures are
   * warnings: the endpoint is gone either way, and `reconcile()` rewrites.
   */
  async #namesAfterDetach(containerId: string, endpoint: Endpoint): Promise<void> {
    try {
      const left = (await containerEndpoints(this.#store, containerId)).map(publicEndpoint);
      if (left.length === 0) await this.#names.remove(containerId);
      else await this.#names.write(await this.#sandboxNames(containerId, left));
      // The companion forgets the endpoint's names and lets its host ports go.
      if (await this.#isDnsNetwork(endpoint.network)) await this.#names.sync(false, containerId);
      else if (endpoint.ports.length > 0) await this.#names.ask({ op: 'ports', containerId });
    } catch (error) {
      this.events.emit('warning', {
        code: 'NAME_SERVER',
        message: `container ${containerId}: the names could not follow its disconnect from ${endpoint.network} (${errorMessage(error)}); reconcile() brings them up to date`,
        containerId,
        network: endpoint.network,
      });
    }
  }

  async #isDnsNetwork(name: string): Promise<boolean> {
    return (await getNetwork(this.#store, name))?.dns === true;
  }

  async #ownerEndpoints(ownerId: string): Promise<Endpoint[]> {
    return (await containerEndpoints(this.#store, ownerId)).map(publicEndpoint);
  }

  /** What the name files of `containerId`'s sandbox are made from. */
  async #sandboxNames(containerId: string, endpoints: readonly Endpoint[]): Promise<SandboxNames> {
    const withNetworks = [];
    for (const endpoint of endpoints) {
      const network = await getNetwork(this.#store, endpoint.network);
      if (network) withNetworks.push({ endpoint, network: withoutOperator<NetworkRecord>(network) });
    }
    return {
      containerId,
      mode: wholeSandboxMode(endpoints),
      settings: endpoints[0]?.names ?? {},
      endpoints: withNetworks,
    };
  }

  /**
   * The names part of `reconcile()`: every sandbox's files rewritten from
   * its records, the files of sandboxes that are gone removed, and the
   * companion started again if a network needs it and it died.
   */
  async #reconcileNames(): Promise<{ repaired: string[]; failures: string[] }> {
    const repaired: string[] = [];
    const failures: string[] = [];
    if (!this.#names.enabled) return { repaired, failures };
    const { records } = await listEndpoints(this.#store);
    const owners = new Set(records.filter((r) => r.value.joinedTo === undefined).map((r) => r.value.containerId));
    for (const containerId of owners) {
      if (this.#inFlight.has(containerId)) continue;
      try {
        // Under the lock, from the records as they are then, and only for a
        // sandbox nobody is changing: a connect or disconnect in flight
        // writes the files itself, from newer records than a listing's.
        await this.#store.transaction(async (tx) => {
          const current = await containerEndpoints(tx, containerId);
          const settled = current.every(
            (e) =>
              (e.status === 'attached' || e.status === 'orphaned') &&
              !(e.operator && isProcessAlive(e.operator)) &&
              !(e.hold && isProcessAlive(e.hold)),
          );
          if (current.length > 0 && settled) await this.#names.write(await this.#sandboxNames(containerId, current.map(publicEndpoint)));
        });
      } catch (error) {
        failures.push(`names of ${containerId}: ${errorMessage(error)}`);
      }
    }
    // Files left by a sandbox whose records are gone (a crash between the two).
    const everyContainer = new Set(records.map((r) => r.value.containerId));
    for (const containerId of await this.#names.sandboxesWithFiles()) {
      if (everyContainer.has(containerId) || this.#inFlight.has(containerId) || !isObjectName(containerId)) continue;
      // Judged again under the lock: a connect records its endpoint before it writes the files.
      const removed = await this.#store.transaction(async (tx) => {
        if ((await containerEndpoints(tx, containerId)).length > 0) return false;
        await this.#names.remove(containerId);
        return true;
      });
      if (removed) repaired.push(`name files of ${containerId} removed (no such sandbox)`);
    }
    const networks = new Map((await listNetworks(this.#store)).records.map((r) => [r.value.id, r.value]));
    // The companion serves the networks with DNS and holds the published ports.
    const needed =
      records.some((r) => r.value.status === 'attached' && networks.get(r.value.networkId)?.dns === true) ||
      (await this.#ports.list()).some((lease) => lease.unheld !== true);
    const before = await this.#names.status();
    const after = await this.#names.sync(needed);
    if (needed && !after) failures.push('the companion (embedded DNS server, host port holder) is not running; see the warning events');
    if (needed && after && !before) repaired.push(`name server started (pid ${after.pid})`);
    return { repaired, failures };
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

  /**
   * Runs a transaction again while it finds the endpoint held by a live
   * `reconcile()` (which checks or repairs one endpoint for tens of
   * milliseconds), and throws ERR_BUSY naming the holder if that lasts.
   */
  async #waitingForHolds<T>(containerId: string, attempt: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + HOLD_WAIT_MS;
    for (;;) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof HeldByMaintenance)) throw error;
        if (Date.now() > deadline) {
          throw new NetModeError(ErrorCode.BUSY, `container ${containerId} is being checked by reconcile in process ${error.holder.pid}`, {
            context: { containerId, pid: error.holder.pid },
          });
        }
        await sleep(10 + Math.random() * 10);
      }
    }
  }

  /** The driver, network and (for `container:NAME`) the endpoint whose sandbox is joined. */
  async #resolve(containerId: string, mode: ParsedMode): Promise<{ driver: NetworkDriver; network: NetworkRecord; target?: Endpoint }> {
    if (mode.kind === 'container') {
      const driver = this.#drivers.get(CONTAINER_MODE_DRIVER);
      if (!driver) {
        throw new NetModeError(ErrorCode.DRIVER_NOT_FOUND, 'no driver for container:NAME modes is registered', {
          context: { mode: `container:${mode.target}`, hint: 'register @netmode/driver-container' },
        });
      }
      const network = await this.#networkRecord(CONTAINER_MODE_DRIVER);
      const target = await resolveJoinTarget(this.#store, containerId, mode.target);
      return { driver, network, target };
    }
    if (mode.network === CONTAINER_MODE_DRIVER) {
      throw invalidConfig('mode', '"container" needs the name of a container: container:NAME');
    }
    const network = await this.#networkRecord(mode.network);
    return { driver: this.#driver(network.driver), network };
  }

  /** A ready network by name: its record, or a predefined network's not recorded yet. */
  async #networkRecord(name: string): Promise<NetworkRecord> {
    const network = await getNetwork(this.#store, name);
    if (network) {
      if (network.status !== 'ready') throw networkNotFound(name);
      return withoutOperator<NetworkRecord>(network);
    }
    const spec = this.#predefinedSpec(name);
    if (!spec) throw networkNotFound(name);
    return virtualNetwork(spec);
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
    const current = await getNetwork(tx, network.name);
    if (current?.id === network.id) tx.delete(networkKey(network.name));
    await this.#releaseNetworkSubnets(tx, network.id);
  }

  /**
   * Releases a container's address and port leases, in the caller's
   * transaction. A lease record that cannot be read does not stop the
   * disconnect of every endpoint: it is reported as a `warning`
   * (`STATE_CORRUPT`), and its leases stay until the file is mended.
   */
  async #releaseLeases(tx: StateTransaction, endpointId: string, containerId: string): Promise<void> {
    const owner = endpointOwner(endpointId);
    for (const release of [() => this.#ipam.within(tx).releaseOwner(owner), () => this.#ports.within(tx).releaseOwner(owner)]) {
      try {
        await release();
      } catch (error) {
        if (!isNetModeError(error, ErrorCode.STATE_CORRUPT)) throw error;
        this.events.emit('warning', {
          code: 'STATE_CORRUPT',
          message: `${error.message}; the leases of ${containerId} in it stay`,
          containerId,
        });
      }
    }
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

  /**
   * A sandbox's name: the prefix, the instance's tag, and hash digits of the
   * container id. The tag is what lets `gc()` tell this instance's sandboxes
   * from those of another instance with the same prefix (they all live in
   * `/run/netns`).
   */
  #sandboxName(instanceId: string, containerId: string): string {
    const prefix = `${this.#settings.namePrefix}${instanceTag(instanceId)}-`;
    return hashedName(prefix, containerId, prefix.length + 16);
  }

  #context(instanceId: string, ipam: Ipam = this.#ipam): DriverContext {
    const prefix = this.#settings.namePrefix;
    return {
      hostNetns: this.#settings.hostNetns,
      runner: this.#runner,
      sandboxes: this.#sandboxes,
      ipam,
      ports: this.#ports,
      events: this.events,
      namePrefix: prefix,
      instanceId,
      sandboxName: (containerId) => this.#sandboxName(instanceId, containerId),
      interfaceName: (id, tag = '') => hashedName(prefix + tag, id),
      ownerAlias: (owner) => linkOwnerAlias(instanceId, owner),
      ownerOfAlias: (alias) => {
        const parsed = parseLinkOwnerAlias(alias);
        return parsed?.instanceId === instanceId ? parsed.owner : undefined;
      },
    };
  }

  /**
   * The state directory in this release's format: checked (and an older
   * format migrated) once per manager, before its first read of endpoints.
   */
  async #ready(): Promise<void> {
    this.#formatReady ??= ensureStateFormat(this.#store).then(
      () => undefined,
      (error: unknown) => {
        this.#formatReady = undefined;
        throw error;
      },
    );
    await this.#formatReady;
  }

  /** This instance's id, recorded in the state on first need. */
  async #instance(): Promise<string> {
    const stored = await this.#store.get<unknown>(INSTANCE_KEY);
    if (stored !== undefined) return checkRecord(INSTANCE_RECORD, INSTANCE_KEY, stored, this.#store).id;
    return this.#store.transaction((tx) => this.#instanceWithin(tx));
  }

  /** This instance's id, recorded in the caller's transaction when it is the first. */
  async #instanceWithin(tx: StateTransaction): Promise<string> {
    const stored = await tx.get<unknown>(INSTANCE_KEY);
    if (stored !== undefined) return checkRecord(INSTANCE_RECORD, INSTANCE_KEY, stored, this.#store).id;
    const id = randomBytes(16).toString('hex');
    tx.put(INSTANCE_KEY, { id, createdAt: new Date().toISOString() });
    // A new state directory starts in this release's format.
    tx.put(STATE_FORMAT_KEY, formatRecord());
    return id;
  }

  #predefinedSpecs(): NetworkSpec[] {
    return [...this.#drivers.values()].flatMap((driver) => [...(driver.predefinedNetworks ?? [])]);
  }

  #predefinedSpec(name: string): NetworkSpec | undefined {
    return this.#predefinedSpecs().find((spec) => spec.name === name);
  }

  /** The subnets predefined networks declare, with the owner they are kept for. */
  async #predefinedSubnets(): Promise<ReservedSubnet[]> {
    const reserved: ReservedSubnet[] = [];
    for (const spec of this.#predefinedSpecs()) {
      const network = await this.#networkRecord(spec.name).catch(() => virtualNetwork(spec));
      for (const subnet of network.subnets) {
        reserved.push({
          subnet: subnet.subnet,
          owner: networkOwner(network.id),
          description: `subnet ${subnet.subnet} of the predefined network ${spec.name}`,
        });
      }
    }
    return reserved;
  }

  #warnCorrupt(corrupt: readonly { readonly error: NetModeError }[]): void {
    for (const { error } of corrupt) this.events.emit('warning', { code: 'STATE_CORRUPT', message: error.message });
  }
}

/**
 * A predefined network before its first use: what it will be recorded as.
 * Its id is derived from its name, so every listing and the first connect
 * agree on it without writing anything.
 */
function virtualNetwork(spec: NetworkSpec): NetworkRecord {
  const id = createHash('sha256').update(`netmode predefined network ${spec.name}`).digest('hex');
  return { ...newNetworkRecord(spec, true), id, createdAt: new Date(0).toISOString() };
}

/** What a connect does with the container's sandbox; see `#plan`. */
type ConnectPlan = { readonly kind: 'regain' } | NewEndpointPlan;

/** A new endpoint: its settled options, its namespace and its part in the default route. */
interface NewEndpointPlan {
  readonly kind: 'new';
  /** The caller's options with `ifname` (and, in an existing sandbox, `netns`) settled. */
  readonly options: ConnectOptions;
  /** The sandbox's name settings: the caller's for a new sandbox, the sandbox's otherwise. */
  readonly names: NameSettings;
  /** The namespace: the existing sandbox, the caller's, or undefined for a new one named after the container. */
  readonly netns: NetnsRef | undefined;
  /** Whether the endpoint owns the sandbox (it makes it). */
  readonly ownsNetns: boolean;
  /** Whether the driver installs the default route: the first endpoint with a gateway. */
  readonly driverRoute: boolean;
  /** The endpoint whose default route this one takes over (it outranks it), if any. */
  readonly takesRouteFrom: string | undefined;
}

/** The claim of a new endpoint: its pending record. */
interface PendingClaim {
  readonly kind: 'pending';
  readonly pending: StoredEndpoint;
  readonly instanceId: string;
  /** Whether this connect recorded a predefined network for the first time. */
  readonly firstUse: boolean;
}

/** What the claim transaction did. */
type Claim = PendingClaim | { readonly kind: 'regained'; readonly endpoint: Endpoint; readonly joiners: string[] };

/** Thrown inside the claim when the sandbox changed since the plan was made: plan again. */
class PlanChanged extends Error {
  constructor() {
    super('the sandbox changed since the connect was planned');
  }
}

function attachRequest(
  containerId: string,
  endpointId: string,
  network: NetworkRecord,
  plan: ConnectPlan,
  target: Endpoint | undefined,
): AttachRequest {
  return {
    containerId,
    endpointId,
    network,
    options: plan.kind === 'new' ? plan.options : {},
    defaultRoute: plan.kind === 'new' && plan.driverRoute,
    ...(target === undefined ? {} : { target }),
  };
}

/** Whether `endpoint` is its container's whole sandbox (host, none, container:NAME). */
function isWholeSandbox(endpoint: Endpoint, driver: NetworkDriver | undefined): boolean {
  return driver?.wholeSandbox === true || endpoint.joinedTo !== undefined || endpoint.netns.kind === 'host';
}

/**
 * The endpoint that should provide the default route among `endpoints`: the
 * highest gateway priority, ties to the earliest connected; only those that
 * have a gateway and an interface in the sandbox and are not leaving.
 */
function nextRouteProvider(endpoints: readonly StoredEndpoint[]): StoredEndpoint | undefined {
  const candidates = endpoints
    .filter((e) => e.gateways.length > 0 && e.status !== 'detaching' && e.interfaces.some((i) => i.side === 'sandbox'))
    .sort((a, b) => b.gwPriority - a.gwPriority || byConnection(a, b));
  return candidates[0];
}

function describeNetns(netns: NetnsRef): string {
  return netns.kind === 'named' ? `namespace ${netns.name}` : netns.kind === 'path' ? netns.path : 'the host namespace';
}

/** The first 8 hex digits of an instance id: what sandbox names carry. */
function instanceTag(instanceId: string): string {
  return instanceId.slice(0, 8);
}

function isObjectName(name: string): boolean {
  try {
    assertObjectName(name, 'container id');
    return true;
  } catch {
    return false;
  }
}

/** `host` or `none` when the sandbox is that whole-sandbox mode (its name files differ). */
function wholeSandboxMode(endpoints: readonly Endpoint[]): 'host' | 'none' | undefined {
  const [only] = endpoints;
  if (endpoints.length !== 1 || !only) return undefined;
  return only.driver === 'host' ? 'host' : only.driver === 'none' ? 'none' : undefined;
}

/** The sandbox view of a container's endpoints (in connection order). */
function sandboxView(containerId: string, endpoints: readonly Endpoint[], joiners: readonly string[]): Sandbox {
  const [first] = endpoints;
  if (!first) throw endpointNotFound(containerId);
  const route = endpoints.find((e) => e.defaultRoute && e.gateways.length > 0);
  const ifname = route?.interfaces.find((i) => i.side === 'sandbox')?.name;
  return {
    containerId,
    netns: first.netns,
    ...(first.joinedTo === undefined ? {} : { joinedTo: first.joinedTo }),
    hostname: hostnameOf(first.names, first.joinedTo ?? containerId),
    joiners: [...joiners].sort(),
    endpoints: [...endpoints],
    ...(route && ifname
      ? { defaultRoute: { endpointId: route.id, network: route.network, gateway: route.gateways[0] as string, ifname } }
      : {}),
  };
}

/** The endpoint of `sandbox` on `network`, or its only one. */
function pickEndpoint(sandbox: Sandbox, network: string | undefined): Endpoint {
  if (network === undefined) {
    if (sandbox.endpoints.length === 1) return sandbox.endpoints[0] as Endpoint;
    throw invalidConfig(
      'network',
      `container ${sandbox.containerId} is on ${sandbox.endpoints.length} networks (${sandbox.endpoints.map((e) => e.network).join(', ')}): name one`,
    );
  }
  const endpoint = sandbox.endpoints.find((e) => e.network === network);
  if (!endpoint) {
    throw new NetModeError(ErrorCode.ENDPOINT_NOT_FOUND, `container ${sandbox.containerId} is not on network ${network}`, {
      context: { containerId: sandbox.containerId, network },
    });
  }
  return endpoint;
}

function publicEndpoint(record: StoredEndpoint): Endpoint {
  return withoutOperator<Endpoint>(withoutHold(record));
}

function withoutHold(record: StoredEndpoint): StoredEndpoint {
  const { hold: _hold, ...rest } = record;
  return rest;
}

function throwIfHeld(record: StoredEndpoint): void {
  if (record.hold && isProcessAlive(record.hold)) throw new HeldByMaintenance(record.hold);
}

function networkExists(name: string): NetModeError {
  return new NetModeError(ErrorCode.NETWORK_EXISTS, `network ${name} already exists`, { context: { network: name } });
}

function predefinedCannotGo(name: string): NetModeError {
  return new NetModeError(ErrorCode.NETWORK_IN_USE, `${name} is a predefined network and cannot be removed`, {
    context: { network: name },
  });
}
