import type { SubnetConfig } from '../model/network.js';
import type { IpFamily } from '../net/address.js';
import type { StateTransaction } from '../store/state-store.js';

/**
 * What a network asks IPAM for, in Docker's terms (`--subnet`, `--gateway`,
 * `--ip-range`). Every field is optional: with none, IPAM picks a free IPv4
 * subnet from its pools.
 */
export interface SubnetRequest {
  /** A network CIDR (host bits clear) to use instead of one from the pools. */
  readonly subnet?: string;
  /** The gateway address; defaults to the first address after the network address. Needs `subnet`. */
  readonly gateway?: string;
  /** A network CIDR inside `subnet` that dynamic addresses are taken from. Needs `subnet`. */
  readonly ipRange?: string;
  /** The family of the subnet to pick from the pools; 4 unless `subnet` says otherwise. */
  readonly family?: IpFamily;
  /**
   * The subnet is already routed by the bridge it belongs to (an existing
   * bridge, or one netmode made before its state was lost): host routes lying
   * within `subnet` (its connected route, its local and broadcast entries)
   * are then not overlaps. Other routes and networks still are.
   */
  readonly adoptRoute?: boolean;
}

/** What an endpoint asks IPAM for within a subnet. */
export interface AddressRequest {
  /** A static address (Docker's `--ip`), without prefix length; IPAM picks one when absent. */
  readonly address?: string;
}

/** An allocated subnet, as `Ipam.listSubnets()` reports it. */
export interface SubnetLease {
  /** The subnet, canonical CIDR. */
  readonly subnet: string;
  /** The gateway address, without prefix length. */
  readonly gateway: string;
  /** The CIDR dynamic addresses come from, when narrower than the subnet. */
  readonly ipRange?: string;
  /** Who holds the subnet (a network id). */
  readonly owner: string;
}

/** A leased address, as `Ipam.listLeases()` reports it. */
export interface AddressLease {
  /** The address, canonical, without prefix length. */
  readonly address: string;
  /** Who holds it (an endpoint or container id). */
  readonly owner: string;
}

/** A subnet kept free for its owner without a lease: see `IpamOptions.reserved`. */
export interface ReservedSubnet {
  /** The subnet, CIDR. */
  readonly subnet: string;
  /** Who it is kept for (`network:ID`). */
  readonly owner: string;
  /** What it is, for the message of a refused overlap: `subnet 172.17.0.0/16 of the predefined network bridge`. */
  readonly description: string;
}

/**
 * IPAM's operations on a state transaction the caller opened, committed
 * with the caller's own records: what {@link Ipam.within} returns. Valid
 * only while the transaction is open; no method starts a process.
 */
export interface IpamOperations {
  /**
   * Allocates a subnet to `owner`: the requested one, or the first free one
   * from the pools, never overlapping an allocated subnet, one of
   * `hostRoutes` (fetched before the transaction with `Ipam.hostRoutes()`)
   * or one of `reserved`.
   *
   * @throws ERR_INVALID_CONFIG, ERR_SUBNET_OVERLAP, ERR_ADDRESS_EXHAUSTED
   */
  allocateSubnet(
    owner: string,
    request: SubnetRequest,
    hostRoutes: readonly string[],
    reserved?: readonly ReservedSubnet[],
  ): Promise<SubnetConfig>;
  /** Releases `subnet` with all its address leases; idempotent. */
  releaseSubnet(subnet: string): Promise<void>;
  /**
   * Leases an address of `subnet` to `owner`: the requested static one, or
   * the next free one, never the network, gateway or broadcast address.
   *
   * @throws ERR_INVALID_CONFIG, ERR_ADDRESS_IN_USE, ERR_ADDRESS_EXHAUSTED
   */
  allocateAddress(subnet: string, owner: string, request?: AddressRequest): Promise<string>;
  /** Releases one address lease; idempotent. */
  releaseAddress(subnet: string, address: string): Promise<void>;
  /** Releases every address lease held by `owner`; resolves to how many. */
  releaseOwner(owner: string): Promise<number>;
  /** Every allocated subnet. */
  listSubnets(): Promise<SubnetLease[]>;
  /** Every address lease of `subnet`. @throws ERR_INVALID_CONFIG when it is not allocated. */
  listLeases(subnet: string): Promise<AddressLease[]>;
}

/**
 * IP address management as drivers and the manager use it, registered
 * under the `IPAM` token (replace it in `createNetMode({ configure })`).
 * Subnets for networks, addresses for endpoints, kept where every process
 * sharing the state sees them, so two never hand out the same address.
 * Each method other than {@link Ipam.within} is one transaction of its own.
 */
export interface Ipam {
  /**
   * The host's routes, which a new subnet may not overlap. Call it before
   * opening a transaction in which you call `within(tx).allocateSubnet()`:
   * it may start a process, and the state lock must not be held meanwhile.
   */
  hostRoutes(): Promise<readonly string[]>;
  /** The operations on a transaction the caller opened, to commit with its own records. */
  within(tx: StateTransaction): IpamOperations;
  /** The same IPAM, keeping `reserved` free as well (a predefined network's subnet before its first use). */
  avoiding(reserved: readonly ReservedSubnet[]): Ipam;
  /** See {@link IpamOperations.allocateSubnet}; the host routes are read first, outside the transaction. */
  allocateSubnet(owner: string, request?: SubnetRequest): Promise<SubnetConfig>;
  /** See {@link IpamOperations.releaseSubnet}. */
  releaseSubnet(subnet: string): Promise<void>;
  /** See {@link IpamOperations.allocateAddress}. */
  allocateAddress(subnet: string, owner: string, request?: AddressRequest): Promise<string>;
  /** See {@link IpamOperations.releaseAddress}. */
  releaseAddress(subnet: string, address: string): Promise<void>;
  /** See {@link IpamOperations.releaseOwner}. */
  releaseOwner(owner: string): Promise<number>;
  /** See {@link IpamOperations.listSubnets}. */
  listSubnets(): Promise<SubnetLease[]>;
  /** See {@link IpamOperations.listLeases}. */
  listLeases(subnet: string): Promise<AddressLease[]>;
}
