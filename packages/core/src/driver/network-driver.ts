import type { NetModeEmitter } from '../events.js';
import type { CommandRunner } from '../exec/runner.js';
import type { Ipam } from '../ipam/types.js';
import type { CheckReport, ConnectOptions, Endpoint, EndpointInterface, PortMapping } from '../model/endpoint.js';
import type { NetnsRef } from '../model/netns-ref.js';
import type { NetworkRecord, NetworkSpec, SubnetConfig } from '../model/network.js';
import type { SandboxService } from '../netns/types.js';
import type { PortAllocator } from '../ports/types.js';

/**
 * What a driver may use while it works. The manager builds one per
 * operation; drivers keep no other handle on the host.
 */
export interface DriverContext {
  /** The namespace that plays the host: where bridges, host-side veth ends and firewall rules go. */
  readonly hostNetns: NetnsRef;
  /** The only way to start processes. */
  readonly runner: CommandRunner;
  /** Creates and deletes sandbox namespaces. */
  readonly sandboxes: SandboxService;
  /** Address management, persisted in the state store. */
  readonly ipam: Ipam;
  /**
   * Host port bookkeeping, persisted in the state store. Leases taken with
   * the owner `endpointOwner(endpointId)` are released by the manager at
   * disconnect and after a rolled-back attach.
   */
  readonly ports: PortAllocator;
  /** Where the driver reports warnings; lifecycle events are the manager's job. */
  readonly events: NetModeEmitter;
  /** Aborts the operation; pass it to setup steps (never to undo or teardown steps, which must finish). */
  readonly signal?: AbortSignal;
  /** The instance's name prefix: every namespace and interface netmode makes starts with it. */
  readonly namePrefix: string;
  /**
   * The id of this netmode instance (32 hex digits, kept in its state
   * directory). Two instances never share one, even with the same name
   * prefix: it is what proves an object is this instance's.
   */
  readonly instanceId: string;
  /**
   * The ownership mark to set as a link's alias (`ip link set dev X alias
   * MARK`, see `IpBatch.linkAlias`) on every link the driver creates, for
   * `owner` (`endpoint:ID`, `network:ID`): `gc` removes only links whose mark
   * names this instance.
   */
  ownerAlias(owner: string): string;
  /** The owner a link's alias names when it is this instance's mark, else undefined. */
  ownerOfAlias(alias: string | undefined): string | undefined;
  /**
   * The deterministic name of the sandbox namespace netmode makes for a
   * container (prefix plus a hash of the id), so a crashed attach can be found
   * and cleaned up from the container id alone.
   */
  sandboxName(containerId: string): string;
  /**
   * A deterministic interface name of at most 15 characters for `id`: the
   * configured prefix, an optional `tag` letter, then hash digits.
   */
  interfaceName(id: string, tag?: string): string;
}

/** Everything a driver needs to validate and perform one attach. */
export interface AttachRequest {
  /** The container's id or name, validated by the manager. */
  readonly containerId: string;
  /**
   * The endpoint's id: name kernel objects after it
   * ({@link DriverContext.interfaceName}) and take address and port leases
   * with the owner `endpointOwner(endpointId)`. A container has one endpoint
   * per network, each with its own id; the sandbox stays named after the
   * container ({@link DriverContext.sandboxName}).
   */
  readonly endpointId: string;
  /**
   * Whether this endpoint installs the sandbox's default route. False when
   * another endpoint of the container provides it (or the network is
   * internal): the driver then adds no default route, but still reports its
   * gateway in {@link AttachResult.gateways}, so the manager can move the
   * route to it later (`ip route replace`).
   */
  readonly defaultRoute: boolean;
  /** The network the container joins (for `container:NAME`, the container driver's predefined network). */
  readonly network: NetworkRecord;
  /**
   * The caller's options, as passed to `connect()`, with what the manager
   * settled: `ifname` (the smallest free `ethN` unless the caller named one)
   * for drivers that are not {@link NetworkDriver.wholeSandbox}, and `netns`
   * set to the container's sandbox when it already has one, so the driver
   * places its interface there and neither creates nor owns a namespace.
   */
  readonly options: ConnectOptions;
  /** For `container:NAME`: the endpoint whose sandbox is joined, read from the store. */
  readonly target?: Endpoint;
}

/** What a successful attach produced; the manager adds ids, status and times. */
export interface AttachResult {
  /** The sandbox the container's processes must run in. */
  readonly netns: NetnsRef;
  /** Whether the driver created the sandbox and must delete it at detach. */
  readonly ownsNetns: boolean;
  /** Interfaces placed in the sandbox or on the host. */
  readonly interfaces: readonly EndpointInterface[];
  /** Addresses in CIDR form. */
  readonly addresses: readonly string[];
  /** Gateways of the default routes. */
  readonly gateways: readonly string[];
  /** Ports actually published, with every host port resolved. */
  readonly ports: readonly PortMapping[];
  /** Facts the driver needs later at detach and check time. */
  readonly driverData?: Readonly<Record<string, unknown>>;
}

/** What {@link NetworkDriver.gc} must keep. */
export interface GcScope {
  /**
   * Every owner that has a record (`endpoint:ID`, `network:ID`), readable or
   * not: an object marked for one of them is not stray, even when its record
   * is damaged.
   */
  readonly liveOwners: ReadonlySet<string>;
  /** Every readable endpoint record. */
  readonly endpoints: readonly Endpoint[];
  /** Every readable network record. */
  readonly networks: readonly NetworkRecord[];
}

/** What a driver's `createNetwork` settles: the parts of the record the driver owns. */
export interface NetworkSetup {
  /** Subnets in use, gateways filled in. */
  readonly subnets: readonly SubnetConfig[];
  /** The driver's options, validated and with defaults filled in. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Facts needed at removal (for example whether the driver created the bridge). */
  readonly driverData?: Readonly<Record<string, unknown>>;
}

/**
 * The contract of one network mode. A driver owns its kernel objects and
 * nothing else; the manager owns records, ordering and events.
 *
 * Register an implementation under the `NETWORK_DRIVER` token from the
 * package's `registerXDriver(container, options)` function; prove it with
 * `testNetworkDriver()` from `@netmode/core/testing/conformance`.
 *
 * Guarantees a driver may rely on:
 * - `validate` (and `validateNetwork`) of every driver involved has passed
 *   before `attach` (and `createNetwork`) runs.
 * - The manager has written the endpoint record, status `attaching`, before
 *   `attach` runs, and removes it after `detach` succeeds.
 * - Operations on one container never run concurrently.
 *
 * Obligations:
 * - Every kernel object is named deterministically from the endpoint id
 *   ({@link AttachRequest.endpointId}) or the network id, the sandbox from the
 *   container id ({@link DriverContext.interfaceName}, {@link DriverContext.sandboxName}),
 *   so that a crashed operation can be finished or undone from the record.
 * - Every process is started through {@link DriverContext.runner}, in the
 *   namespace it affects, with {@link DriverContext.signal}.
 */
export interface NetworkDriver {
  /**
   * The driver's registered name: what `createNetwork({ driver })` and
   * network records name (`bridge`, `host`, `none`, `container`, `macvlan`, …).
   * Unique among the drivers of one netmode instance.
   */
  readonly name: string;

  /**
   * Networks that exist as soon as the driver is registered (Docker's
   * `host`, `none` and default `bridge`). The manager records each on first
   * use; they cannot be removed. Their names are also valid mode strings.
   */
  readonly predefinedNetworks?: readonly NetworkSpec[];

  /**
   * Whether an endpoint of this driver is the container's whole sandbox
   * (Docker's `host`, `none` and `container:NAME`): such a container cannot
   * be on any other network, and a container on other networks cannot join
   * one of these (ERR_INVALID_CONFIG). Absent means false: the endpoint is
   * one of possibly several in the sandbox.
   */
  readonly wholeSandbox?: boolean;

  /**
   * Whether netmode's embedded DNS server can serve this driver's
   * user-defined networks: the first IPv4 subnet's gateway is an address of
   * the host namespace that the network's containers reach (a bridge's
   * address), and the driver passes `FirewallNetwork.dnsAddress` to
   * its firewall so that only those containers reach the server. Such
   * networks get the server unless created with `dns: false`. Absent means
   * false: the containers get the host's resolvers in `resolv.conf`.
   */
  readonly embeddedDns?: boolean;

  /**
   * Checks a network specification. Pure: reads nothing, changes nothing, and
   * throws a `NetModeError` (usually ERR_INVALID_CONFIG naming the field) for
   * anything it would refuse later. Called before `createNetwork`.
   */
  validateNetwork?(spec: NetworkSpec): void;

  /**
   * Creates the network's shared kernel objects (a bridge, firewall chains)
   * and settles its subnets through {@link DriverContext.ipam}.
   * All-or-nothing: on failure it undoes its own completed steps, releases
   * what it allocated, and rethrows. A driver without this member does not
   * offer user-defined networks (ERR_UNSUPPORTED).
   */
  createNetwork?(network: NetworkRecord, ctx: DriverContext): Promise<NetworkSetup>;

  /**
   * Removes what `createNetwork` made. Idempotent: objects already gone are
   * success; every step is tried; a `TeardownError` lists what is left. The
   * manager releases the network's subnets afterwards.
   */
  removeNetwork?(network: NetworkRecord, ctx: DriverContext): Promise<void>;

  /**
   * Checks an attach request. Pure: reads nothing, changes nothing, and
   * throws a `NetModeError` (ERR_INVALID_CONFIG naming the option) for
   * anything `attach` would refuse, including options that make no sense in
   * this mode. Every driver involved in an operation validates before any of
   * them touches the kernel.
   */
  validate(request: AttachRequest): void;

  /**
   * Sets the endpoint up. All-or-nothing: each step records its undo; on
   * failure the completed steps are undone last-in first-out and the original
   * error is rethrown (with `rollbackFailed` in its context when an undo
   * failed too, see `UndoStack`).
   * Address and port leases are taken with the owner
   * `endpointOwner(request.endpointId)`; the manager releases them at disconnect.
   */
  attach(request: AttachRequest, ctx: DriverContext): Promise<AttachResult>;

  /**
   * Tears the endpoint down: its own objects, and the sandbox namespace only
   * when `endpoint.ownsNetns` says so (never because of its name: other
   * endpoints of the container live in it). The manager deletes an owned
   * sandbox after `detach` in any case. Idempotent and best effort: "already gone" is
   * success, every step is attempted even after one fails, and one
   * `TeardownError` lists what could not be removed. It may be called on a
   * record whose attach never finished (after a crash), so it must tolerate
   * any subset of its objects being present.
   */
  detach(endpoint: Endpoint, ctx: DriverContext): Promise<void>;

  /**
   * Compares the kernel with the record and reports every mismatch (a
   * missing namespace, link or address). Reads only.
   */
  check?(endpoint: Endpoint, ctx: DriverContext): Promise<CheckReport>;

  /**
   * Restores what an attached, otherwise intact endpoint needs from state
   * shared with others and possibly removed by someone else — firewall rules
   * after `nft flush ruleset` or `iptables -F`, a base table, sysctls.
   * Idempotent: called by `reconcile()` for every endpoint whose `check()`
   * passed; it must not touch what is already right. Resolves to `false`
   * when everything was already right and nothing was put back, so
   * `reconcile()` reports no repair; `true` (or nothing, as drivers written
   * before this did) when it put something back.
   */
  repair?(endpoint: Endpoint, network: NetworkRecord, ctx: DriverContext): Promise<boolean | void>;

  /**
   * Removes kernel objects of this driver that are provably this instance's
   * (a link whose alias is {@link DriverContext.ownerAlias}'s mark, not just a
   * name with the right prefix) but whose owner has no record (left by a
   * crash or a lost state directory), and returns one line per object
   * removed. Called by `gc()`; sandboxes named by the manager are removed by
   * the manager.
   *
   * Called with the state lock held, so the records cannot change while it
   * looks: an object that a concurrent connect is creating already has its
   * record. It must therefore not use `ctx.ipam` or `ctx.ports` (they take
   * the lock, and transactions do not nest).
   */
  gc?(scope: GcScope, ctx: DriverContext): Promise<string[]>;
}

const ALIAS = /^nm:([0-9a-f]{32}):(.+)$/;

/** The ownership mark of `owner` for the instance `instanceId`: see {@link DriverContext.ownerAlias}. */
export function linkOwnerAlias(instanceId: string, owner: string): string {
  return `nm:${instanceId}:${owner}`;
}

/** What a netmode link alias says: whose instance, and which owner in it. */
export interface LinkOwnerMark {
  /** The instance that made the link. */
  readonly instanceId: string;
  /** The owner within it: `endpoint:ID` or `network:ID`. */
  readonly owner: string;
}

/** The instance and owner a link alias names, or undefined when it is no netmode mark. */
export function parseLinkOwnerAlias(alias: string | undefined): LinkOwnerMark | undefined {
  const match = alias === undefined ? null : ALIAS.exec(alias);
  return match ? { instanceId: match[1] as string, owner: match[2] as string } : undefined;
}

export { endpointOwner, networkOwner } from '../model/owner.js';
