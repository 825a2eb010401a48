import type { CommandRunner } from '../exec/runner.js';
import type { PortProtocol } from '../model/endpoint.js';
import type { NetnsRef } from '../model/netns-ref.js';
import type { Owner } from '../model/owner.js';

/** Where a firewall change is made: the host namespace, through the runner. */
export interface FirewallScope {
  /** Starts `nft`, `iptables-restore`, … */
  readonly runner: CommandRunner;
  /** The namespace playing the host, where every rule lives. */
  readonly netns: NetnsRef;
  /** Aborts the change. */
  readonly signal?: AbortSignal;
}

/** A bridge network as the firewall sees it. */
export interface FirewallNetwork {
  /** The network id: the owner written on every rule and element of this network. */
  readonly networkId: string;
  /** The bridge interface (15 characters at most, validated). */
  readonly bridge: string;
  /** The network's IPv4 subnets, canonical CIDRs. */
  readonly subnets: readonly string[];
  /** Whether containers on this bridge may talk to each other directly (Docker's `icc`). */
  readonly icc: boolean;
  /** Whether traffic leaving the host from this network is masqueraded. */
  readonly ipMasq: boolean;
  /** Whether the network has no way in or out of its bridge (Docker's `--internal`). */
  readonly internal: boolean;
  /**
   * The address netmode's embedded DNS server listens on for this network
   * (its gateway, an address of the host), when the network has one. The
   * backend accepts DNS (UDP and TCP port 53) to it from the bridge, an
   * internal network's too, and drops DNS to it from anywhere else (another
   * bridge, the uplink, the host itself), so the server is never an open
   * resolver whatever source address a packet claims.
   */
  readonly dnsAddress?: string;
}

/** One published port range of one endpoint, fully resolved. */
export interface FirewallPort {
  /** `tcp` or `udp`. */
  readonly protocol: PortProtocol;
  /** The IPv4 host address it is published on; absent means every local address of the host (127.0.0.1 included). */
  readonly hostIp?: string;
  /** The first host port. */
  readonly hostPort: number;
  /** The first container port. */
  readonly containerPort: number;
  /** How many consecutive ports, from both first ports (1 for a single port). */
  readonly count: number;
  /**
   * Whether the userland proxy serves these ports besides the kernel: the
   * backend then leaves unDNATed what arrives from the endpoint's own
   * bridge and what the host sends to 127.0.0.0/8 (Docker's rules with its
   * `--userland-proxy`), so that reaches the proxy's socket on the host port.
   */
  readonly proxied?: boolean;
}

/** An endpoint as the firewall sees it: where its published ports lead. */
export interface FirewallEndpoint {
  /** The endpoint id: the owner written on every rule and element of this endpoint. */
  readonly endpointId: string;
  /** The network it belongs to. */
  readonly networkId: string;
  /** Its network's bridge. */
  readonly bridge: string;
  /** The container's IPv4 address, without prefix length. */
  readonly address: string;
  /** The ports to publish; may be empty. */
  readonly ports: readonly FirewallPort[];
  /** The endpoint's host-side interface: its port on the bridge. */
  readonly hostInterface?: string;
  /**
   * Its network's `icc`. With `false` and {@link hostInterface} given, the
   * backend also drops every frame that is not IPv4 (ARP, IPv6, …) between
   * this port and the other isolated ports, and every frame from this port
   * that does not carry the endpoint's own {@link mac} and (IPv4 and ARP)
   * {@link address} as its source (see `PortFilter`); absent means `true`.
   */
  readonly icc?: boolean;
  /**
   * The MAC of the container's interface (the peer of {@link hostInterface}):
   * the one source MAC frames from its port may carry when the port is
   * isolated. Required with `icc: false` and {@link hostInterface}; a
   * unicast MAC, validated before it reaches a script.
   */
  readonly mac?: string;
}

/**
 * One firewall backend. netmode's rules implement Docker's bridge-mode
 * behaviour; both real backends (nftables, iptables) behave the same:
 *
 * - **Published ports**: a packet to a local address of the host whose
 *   (destination address, protocol, port) matches a mapping published on that
 *   address, or else whose (protocol, port) matches a mapping published on
 *   every address, is DNATed to the container — on arrival (prerouting) and
 *   for the host's own packets (output), so 127.0.0.1 works too. A
 *   `proxied` port is not DNATed from its endpoint's own bridge nor for the
 *   host's packets to 127.0.0.0/8: the userland proxy's socket takes those.
 * - **Masquerade**: traffic from a network with `ipMasq` leaving through an
 *   interface that is not a netmode bridge; DNATed traffic from a netmode
 *   subnet going out a netmode bridge (hairpin, and other networks reaching a
 *   published port); and traffic from 127.0.0.0/8 going out a netmode bridge.
 * - **Forwarding**: the administrator's chain first (netmode never writes into
 *   it); established and related traffic accepted; DNATed traffic accepted;
 *   traffic between two containers of an `icc: false` network dropped (and,
 *   at layer 2, every frame between them that is not IPv4; their bridge's
 *   IPv4 passes the ip hooks through its own `nf_call_iptables`, whatever
 *   the namespace's `bridge-nf-call-iptables` says);
 *   traffic within one bridge accepted; traffic into or out of an internal network
 *   dropped (before the accepts above: DNATed and established traffic too);
 *   traffic between two netmode bridges dropped; any other new traffic
 *   towards a netmode bridge (direct access to container addresses from
 *   outside) dropped.
 * - **Input**: traffic from an internal network's bridge to the host's own
 *   addresses is dropped unless it answers a connection the host opened.
 *   Other networks' containers may reach the host's services (as Docker's).
 *   What netmode itself will serve there (an embedded DNS server) is to be
 *   accepted before that drop.
 * - **Anti-spoofing** (`icc: false` networks): a frame arriving from an
 *   isolated port must carry its endpoint's MAC as source (ARP: as sender
 *   MAC too) and, for IPv4 and ARP, its endpoint's address as source (sender)
 *   address; anything else is dropped before the bridge learns from it.
 * - **Guard**: packets arriving on a netmode bridge to or from 127.0.0.0/8
 *   are dropped (the bridges carry `route_localnet`, which would otherwise let
 *   containers reach the host's loopback services, or reach any host address
 *   from a forged loopback source).
 *
 * Contract: every method is all-or-nothing (one transaction per call where
 * the backend has transactions), idempotent (setting up what exists or tearing
 * down what is gone succeeds), validates every input before any process
 * starts (with `validateFirewallNetwork`/`validateFirewallEndpoint`, so every
 * backend means the same by each value), and touches only objects that
 * carry netmode's ownership marks: the owner (`network:ID`, `endpoint:ID`)
 * is written on every rule and element. Netmode never changes the policy of
 * a chain it does not own.
 *
 * Register a backend of your own with `registerFirewallBackend()` and
 * select it with `createNetMode({ firewall: NAME })`; the bridge driver
 * reads {@link Firewall.capabilities} to refuse what it cannot enforce.
 */
export interface Firewall {
  /** The backend's registered name (`nftables`, `iptables`, `none`, a third party's). */
  readonly name: string;
  /** What this backend enforces; a driver refuses a request that needs more. */
  readonly capabilities: FirewallCapabilities;
  /** Creates (or restores) the shared base if missing, then adds the network. */
  setupNetwork(scope: FirewallScope, network: FirewallNetwork): Promise<void>;
  /** Removes the network's rules and elements. */
  teardownNetwork(scope: FirewallScope, network: FirewallNetwork): Promise<void>;
  /** Publishes the endpoint's ports and, on an `icc: false` network, isolates its bridge port. */
  setupEndpoint(scope: FirewallScope, endpoint: FirewallEndpoint): Promise<void>;
  /** Withdraws the endpoint's ports and its port isolation. */
  teardownEndpoint(scope: FirewallScope, endpoint: FirewallEndpoint): Promise<void>;
  /**
   * Removes everything that carries `owner`'s mark, whatever it is: for an
   * attach that crashed before its record held what it published, and for
   * `gc()` once the owner has no record. Idempotent.
   */
  teardownOwner(scope: FirewallScope, owner: FirewallOwner): Promise<void>;
  /** Every owner that has a rule or element in the firewall, each once: what `gc()` compares with the records. */
  owners(scope: FirewallScope): Promise<FirewallOwner[]>;
  /** Whether the shared base is there, and what it lacks (what `setupNetwork` would put back). Reads only. */
  check(scope: FirewallScope): Promise<FirewallBaseState>;
  /**
   * What `setupNetwork(network)` and `setupEndpoint(endpoint)` would put
   * back: gaps in the base, in the network's own rules or elements, and in
   * the endpoint's published ports, one phrase each; empty when all is
   * there. Reads only. The port isolation of `icc: false` networks is not
   * covered. Optional: without it, a driver's `repair()` cannot tell a
   * repair from a no-op, and reports one.
   */
  gaps?(scope: FirewallScope, network: FirewallNetwork, endpoint?: FirewallEndpoint): Promise<readonly string[]>;
  /**
   * Removes the shared base when nothing uses it any more (no network's
   * rules or elements, no rule of the administrator's); resolves to whether
   * it is gone. Looking and deleting are two steps: `gc()` calls it with the
   * state lock held and no network of the backend recorded, so no network
   * can be set up meanwhile.
   */
  removeBase(scope: FirewallScope): Promise<boolean>;
}

/** What a backend enforces: the bridge driver refuses what its backend cannot do. */
export interface FirewallCapabilities {
  /** Published ports (DNAT, hairpin, 127.0.0.1): without it, a connect with ports is refused. */
  readonly publishPorts: boolean;
  /** Masquerade of traffic leaving the host. */
  readonly masquerade: boolean;
  /** `icc: false` with its anti-spoofing: without it, such a network is refused. */
  readonly isolate: boolean;
}

/** Who a rule or element belongs to: its mark, as a value. */
export type FirewallOwner = Owner;

/** What {@link Firewall.check} found of the shared base. */
export interface FirewallBaseState {
  /** Whether any of it exists. */
  readonly present: boolean;
  /** What it lacks, one phrase each (`chain forward`, `rules of chain input (1 of 2)`); empty when whole or absent. */
  readonly gaps: readonly string[];
}

/** The `none` backend (Docker's `--iptables=false`): changes nothing, anywhere. */
export class NoFirewall implements Firewall {
  /** Always `none`. */
  readonly name = 'none';
  /** It enforces nothing. */
  readonly capabilities: FirewallCapabilities = { publishPorts: false, masquerade: false, isolate: false };
  async setupNetwork(): Promise<void> {}
  async teardownNetwork(): Promise<void> {}
  async setupEndpoint(): Promise<void> {}
  async teardownEndpoint(): Promise<void> {}
  async teardownOwner(): Promise<void> {}
  async owners(): Promise<FirewallOwner[]> {
    return [];
  }
  async check(): Promise<FirewallBaseState> {
    return { present: false, gaps: [] };
  }
  async gaps(): Promise<readonly string[]> {
    return [];
  }
  async removeBase(): Promise<boolean> {
    return true;
  }
}
