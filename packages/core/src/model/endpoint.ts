import type { NameSettings } from './names.js';
import type { NetnsRef } from './netns-ref.js';

/** The transport protocols a port can be published for. */
export type PortProtocol = 'tcp' | 'udp';

/** One published port (or range), as Docker's `-p [hostIp:]hostPort:containerPort/proto`. */
export interface PortMapping {
  /** The host address to publish on; absent means every address of the host. */
  readonly hostIp?: string;
  /** The first host port; 0 or absent asks for an ephemeral port. */
  readonly hostPort?: number;
  /** The first container port. */
  readonly containerPort: number;
  /** How many consecutive ports, from both first ports; 1 when absent. */
  readonly count?: number;
  /** The protocol; `tcp` when absent. */
  readonly protocol?: PortProtocol;
}

/**
 * Options a runtime passes to `connect()`. Drivers refuse those that make no
 * sense for their mode. The {@link NameSettings} belong to the sandbox: the
 * connect that makes it gives them; a later connect may leave them out or
 * repeat them, not change them.
 */
export interface ConnectOptions extends NameSettings {
  /**
   * A namespace the runtime already made (for example `/proc/PID/ns/net` of a
   * paused container). netmode configures it and never deletes it. When
   * absent, drivers that need a new namespace create and own one.
   */
  readonly netns?: NetnsRef;
  /** Ports to publish (bridge mode). */
  readonly ports?: readonly PortMapping[];
  /** A static address for the container, without prefix length. */
  readonly ip?: string;
  /** A static MAC address for the container interface. */
  readonly mac?: string;
  /**
   * The container's interface name. When absent, the manager picks the
   * smallest free `ethN` of the container's sandbox (`eth0` for its first
   * endpoint, `eth1` for the next, a name freed by a disconnect reused).
   * Two endpoints of one container cannot ask for one name.
   */
  readonly ifname?: string;
  /**
   * The gateway priority (Docker's `--gw-priority`): the sandbox's default
   * route comes from the endpoint with the highest, ties going to the
   * earliest connected. 0 when absent; any safe integer, negative too.
   */
  readonly gwPriority?: number;
  /**
   * Other names the container answers to on this network (Docker's
   * `--network-alias`): the embedded DNS server of a user-defined network
   * resolves them to this endpoint's addresses, for containers on the same
   * network only.
   */
  readonly aliases?: readonly string[];
  /** Free-form labels kept with the endpoint record. */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * The life stage of an endpoint record. `orphaned`: the container was
 * disconnected while others still share its sandbox (`container:NAME`); its
 * network stays until the last of them leaves, or it reconnects.
 */
export type EndpointStatus = 'attaching' | 'attached' | 'detaching' | 'broken' | 'orphaned';

/** One interface an endpoint placed somewhere. */
export interface EndpointInterface {
  /** The interface name. */
  readonly name: string;
  /** Where it lives: `sandbox` (the container's namespace) or `host` (the host namespace). */
  readonly side: 'sandbox' | 'host';
  /** Its MAC address, when the driver set or read one. */
  readonly mac?: string;
  /** Its MTU, when the driver set one. */
  readonly mtu?: number;
}

/**
 * One container's attachment to one network: what `connect()` returns and
 * `inspect()` reads back from the state store.
 */
export interface Endpoint {
  /**
   * The endpoint id: `CONTAINER@` and 12 hex digits derived from the
   * network's id (a record written before state format 2 keeps its
   * container id). Drivers name kernel objects and take leases for it.
   */
  readonly id: string;
  /** The runtime's container id or name. */
  readonly containerId: string;
  /** The network's name. */
  readonly network: string;
  /** The network's id. */
  readonly networkId: string;
  /** The driver that made it. */
  readonly driver: string;
  /** The sandbox: the namespace the container's processes must run in. */
  readonly netns: NetnsRef;
  /**
   * Whether this endpoint owns the sandbox: netmode deletes the namespace
   * when this endpoint goes. One endpoint of a sandbox netmode made owns it;
   * when that one leaves before the others, the ownership passes on.
   */
  readonly ownsNetns: boolean;
  /**
   * For `container:NAME`: the container whose sandbox this one joined (the
   * owner at the root of a chain). Absent for a container's own sandbox.
   */
  readonly joinedTo?: string;
  /** The gateway priority it was connected with; see {@link ConnectOptions.gwPriority}. */
  readonly gwPriority: number;
  /** Whether the sandbox's default route goes through this endpoint now. */
  readonly defaultRoute: boolean;
  /** Other names of the container on this network; see {@link ConnectOptions.aliases}. */
  readonly aliases: readonly string[];
  /** The sandbox's name settings, the same on each of its endpoints; see {@link NameSettings}. */
  readonly names: NameSettings;
  /** Interfaces placed in the sandbox or on the host. */
  readonly interfaces: readonly EndpointInterface[];
  /** Addresses in CIDR form (`172.17.0.2/16`). */
  readonly addresses: readonly string[];
  /** Gateways of the default routes, one per family in use. */
  readonly gateways: readonly string[];
  /** Ports published for this endpoint, with every host port resolved. */
  readonly ports: readonly PortMapping[];
  /** Where the record is in its life. */
  readonly status: EndpointStatus;
  /**
   * Why the endpoint is `broken`, when `reconcile()` found its kernel objects
   * no longer matching the record (one sentence each); absent otherwise.
   */
  readonly problems?: readonly string[];
  /** Labels from the connect options. */
  readonly labels: Readonly<Record<string, string>>;
  /** Driver-private facts the driver needs at detach and check time. */
  readonly driverData: Readonly<Record<string, unknown>>;
  /** ISO-8601 time the record was first written. */
  readonly createdAt: string;
}

/** What a driver's `check()` reports: empty `problems` means the kernel matches the record. */
export interface CheckReport {
  /** Whether the kernel matches the record. */
  readonly ok: boolean;
  /** One sentence per mismatch: `link nm-1a2b3c is missing`. */
  readonly problems: readonly string[];
}
